package cli

import (
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// rpcCommands maps each "package.Service/Method" annotation to its command.
func rpcCommands(root *cobra.Command) map[string]string {
	found := map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if rpc, ok := c.Annotations["rpc"]; ok {
			found[rpc] = c.CommandPath()
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return found
}

// storeRPCs lists every method of every service in the generated merch.*
// packages, as "package.Service/Method".
func storeRPCs() []string {
	var rpcs []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "merch.") {
			return true // grpc.health, reflection, well-known types
		}
		for i := 0; i < fd.Services().Len(); i++ {
			svc := fd.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				rpcs = append(rpcs, string(svc.FullName())+"/"+string(svc.Methods().Get(j).Name()))
			}
		}
		return true
	})
	sort.Strings(rpcs)
	return rpcs
}

func TestEveryRPCInTheProtosHasACommand(t *testing.T) {
	a := &app{Streams: Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}}
	commands := rpcCommands(a.rootCmd())
	rpcs := storeRPCs()
	if len(rpcs) < 19 {
		t.Fatalf("found only %d RPCs in the generated descriptors: %v", len(rpcs), rpcs)
	}
	var missing []string
	for _, rpc := range rpcs {
		if _, ok := commands[rpc]; !ok {
			missing = append(missing, rpc)
		}
	}
	if len(missing) > 0 {
		t.Errorf("RPCs without a merchctl command (annotate the command with rpcAnnotation):\n  %s",
			strings.Join(missing, "\n  "))
	}
}

func TestEveryRPCAnnotationNamesARealMethod(t *testing.T) {
	a := &app{Streams: Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}}
	for rpc, cmd := range rpcCommands(a.rootCmd()) {
		svc, method, _ := strings.Cut(rpc, "/")
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok || sd.Methods().ByName(protoreflect.Name(method)) == nil {
			t.Errorf("%s is annotated with %s, which no generated service defines", cmd, rpc)
		}
	}
}

func TestEveryCommandHasExamples(t *testing.T) {
	a := &app{Streams: Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(a.rootCmd())
}

func TestWireHelpShowsTheSeedExampleFirst(t *testing.T) {
	a := &app{Streams: Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}}
	root := a.rootCmd()
	wire, _, err := root.Find([]string{"wire"})
	if err != nil {
		t.Fatal(err)
	}
	first := strings.TrimSpace(strings.SplitN(wire.Example, "\n", 2)[0])
	want := `merchctl wire encode merch.store.v1.PlaceOrderRequest '{"user_id":1,"product_id":101,"quantity":2}'`
	if first != want {
		t.Errorf("first example is %q, want %q", first, want)
	}
}
