package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
)

// roundRobin spreads calls over every replica of a comma list.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// dbConn and logConn return the run's one channel to each service.
func (a *app) dbConn() (*grpc.ClientConn, error) { return a.cached(&a.db, "--db-addr", a.opts.dbAddr) }

func (a *app) logConn() (*grpc.ClientConn, error) {
	return a.cached(&a.log, "--log-addr", a.opts.logAddr)
}

func (a *app) cached(cc **grpc.ClientConn, flag, list string) (*grpc.ClientConn, error) {
	if *cc == nil {
		c, err := a.dial(flag, list)
		if err != nil {
			return nil, err
		}
		*cc = c
	}
	return *cc, nil
}

// splitAddrs reads "host:port[,host:port…]".
func splitAddrs(list string) []string {
	var addrs []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			addrs = append(addrs, s)
		}
	}
	return addrs
}

// dial makes a client for an address list. The addresses go straight to a
// manual resolver rather than through a dns:/// target, so a comma list of
// replicas is one channel balanced round-robin, and no name lookup of the
// list itself is attempted. The connection is made lazily, on the first call.
func (a *app) dial(flag, list string) (*grpc.ClientConn, error) {
	addrs := splitAddrs(list)
	if len(addrs) == 0 {
		return nil, usagef("%s is empty", flag)
	}
	creds, err := a.transportCredentials()
	if err != nil {
		return nil, err
	}
	endpoints := make([]resolver.Endpoint, len(addrs))
	for i, addr := range addrs {
		ra := resolver.Address{Addr: addr}
		if creds.Info().SecurityProtocol == "tls" {
			// Each replica's certificate is checked against its own host name.
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			ra.ServerName = host
		}
		endpoints[i] = resolver.Endpoint{Addresses: []resolver.Address{ra}}
	}
	r := manual.NewBuilderWithScheme("merchctl")
	r.InitialState(resolver.State{Endpoints: endpoints})
	cc, err := grpc.NewClient(r.Scheme()+":///"+addrs[0],
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(roundRobin),
		grpc.WithUserAgent("merchctl"),
	)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", flag, list, err)
	}
	a.conns = append(a.conns, cc)
	return cc, nil
}

func (a *app) transportCredentials() (credentials.TransportCredentials, error) {
	if !a.opts.tls && a.opts.cacert == "" {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.opts.cacert != "" {
		pem, err := os.ReadFile(a.opts.cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", a.opts.cacert)
		}
		cfg.RootCAs = pool
	}
	return credentials.NewTLS(cfg), nil
}

// outgoing attaches the metadata every call carries (-H and --token).
func (a *app) outgoing(ctx context.Context) context.Context {
	return metadata.NewOutgoingContext(ctx, a.md.Copy())
}

// unaryCtx is the context of one unary call: metadata and the --timeout deadline.
func (a *app) unaryCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(a.outgoing(ctx), a.opts.timeout)
}

// call makes one unary RPC under --timeout with the request metadata.
func call[Req, Res any](a *app, cmd *cobra.Command, rpc func(context.Context, Req, ...grpc.CallOption) (Res, error), req Req) (Res, error) {
	ctx, cancel := a.unaryCtx(cmd.Context())
	defer cancel()
	return rpc(ctx, req)
}

// waitConnected bounds a stream's start by --timeout: it waits until the
// channel has either connected or failed. A failure is left for the stream
// itself to report, since its UNAVAILABLE names the cause (connection
// refused, TLS, …). A stream then has no deadline, so tail can run for days.
func (a *app) waitConnected(ctx context.Context, cc *grpc.ClientConn, flag string) error {
	ctx, cancel := context.WithTimeout(ctx, a.opts.timeout)
	defer cancel()
	cc.Connect()
	for {
		s := cc.GetState()
		if s == connectivity.Ready || s == connectivity.TransientFailure {
			return nil
		}
		if !cc.WaitForStateChange(ctx, s) {
			if ctx.Err() == context.DeadlineExceeded {
				return status.Errorf(codes.DeadlineExceeded, "no connection to %s %s within %s", flag, cc.Target(), a.opts.timeout)
			}
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// deadlineAfter cancels a stream's context unless stop is called within
// --timeout; fired reports whether it did, so the caller can say
// DEADLINE_EXCEEDED rather than CANCELLED.
func (a *app) deadlineAfter(cancel context.CancelFunc) (stop func() (fired bool)) {
	t := time.AfterFunc(a.opts.timeout, cancel)
	return func() bool { return !t.Stop() }
}
