package cli

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Which services each address serves comes from the generated descriptors,
// so a new service is checked without touching this file.
const (
	storePackage   = "merch.store.v1"
	loggingPackage = "merch.logging.v1"
)

// servicesIn lists the full names of the services of a proto package, sorted.
func servicesIn(pkg protoreflect.FullName) []string {
	var names []string
	protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			names = append(names, string(fd.Services().Get(i).FullName()))
		}
		return true
	})
	sort.Strings(names)
	return names
}

// healthResult is one line of `merchctl health`, and one JSON object with -o json.
type healthResult struct {
	Address string `json:"address"`
	Service string `json:"service"` // "" is the server as a whole
	Status  string `json:"status"`  // SERVING, NOT_SERVING, … or the failed RPC's code
	Error   string `json:"error,omitempty"`
}

func (a *app) healthCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Check both services with grpc.health.v1; exit 78 unless all are SERVING",
		Long: `Check every address of both services (each replica of a comma list) with the
standard grpc.health.v1 Check: the server as a whole ("") and each service the
protos define there. Prints one line per check.

Exits 0 when every check says SERVING, and 78 (64 + UNAVAILABLE) when any
service is NOT_SERVING, unknown to the health service, or not reachable.`,
		Example:     "  merchctl health\n  merchctl health --db-addr 127.0.0.1:50051,127.0.0.1:50061 -o json",
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("grpc.health.v1.Health/Check"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			targets := []struct {
				flag, list string
				pkg        protoreflect.FullName
			}{
				{"--db-addr", a.opts.dbAddr, storePackage},
				{"--log-addr", a.opts.logAddr, loggingPackage},
			}
			var results []healthResult
			for _, t := range targets {
				for _, addr := range splitAddrs(t.list) {
					r, err := a.checkAddress(cmd, t.flag, addr, append([]string{""}, servicesIn(t.pkg)...))
					if err != nil {
						return err
					}
					results = append(results, r...)
				}
			}
			return a.reportHealth(results)
		},
	}
}

func (a *app) checkAddress(cmd *cobra.Command, flag, addr string, services []string) ([]healthResult, error) {
	cc, err := a.dial(flag, addr) // one channel per replica: each is checked
	if err != nil {
		return nil, err
	}
	client := healthpb.NewHealthClient(cc)
	var results []healthResult
	for _, svc := range services {
		r := healthResult{Address: addr, Service: svc}
		res, err := call(a, cmd, client.Check, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			st := status.Convert(err)
			r.Status, r.Error = codeName(st), st.Message()
		} else {
			r.Status = res.GetStatus().String()
		}
		results = append(results, r)
	}
	return results, nil
}

func (a *app) reportHealth(results []healthResult) error {
	bad := 0
	tw := newTable(a.Out)
	for _, r := range results {
		if r.Status != healthpb.HealthCheckResponse_SERVING.String() {
			bad++
		}
		if a.jsonOutput() {
			line, _ := json.Marshal(r) // plain strings: cannot fail
			fmt.Fprintln(a.Out, string(line))
			continue
		}
		svc := r.Service
		if svc == "" {
			svc = "(server)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s", r.Address, svc, r.Status)
		if r.Error != "" {
			fmt.Fprintf(tw, "\t%s", r.Error)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if bad > 0 {
		return status.Errorf(codes.Unavailable, "%d of %d health checks are not SERVING", bad, len(results))
	}
	return nil
}
