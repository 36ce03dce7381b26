// Package cli holds merchctl's commands, noun then verb, one file per verb.
// Commands return errors; Run turns them into a message and an exit code.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Streams are the process's standard streams and environment, replaceable in tests.
type Streams struct {
	In        io.Reader
	Out       io.Writer
	Err       io.Writer
	LookupEnv func(string) (string, bool)
	// Getwd and Executable locate the .env file and the repository (config.go);
	// when nil, neither is looked for and only LookupEnv counts.
	Getwd      func() (string, error)
	Executable func() (string, error)
}

// app is the state one run of merchctl shares between its commands.
type app struct {
	Streams
	opts  globalOptions
	md    metadata.MD        // -H headers and the bearer token, sent with every call
	db    *grpc.ClientConn   // the DB service, dialled on first use
	log   *grpc.ClientConn   // the logging service, dialled on first use
	conns []*grpc.ClientConn // every channel dialled, closed when the run ends
}

// Main runs merchctl with the process's arguments and streams and returns the
// exit code. Ctrl-C and SIGTERM cancel the running command (ending `logs tail`
// cleanly); a second one kills the process as usual.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		LookupEnv: os.LookupEnv, Getwd: os.Getwd, Executable: os.Executable})
}

// Run runs one merchctl command line and returns its exit code.
func Run(ctx context.Context, args []string, s Streams) int {
	a := &app{Streams: s}
	defer a.closeConns()
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	fmt.Fprintf(s.Err, "merchctl: %s\n", renderError(err))
	if code == ExitUsage && cmd != nil {
		fmt.Fprintf(s.Err, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

func (a *app) closeConns() {
	for _, c := range a.conns {
		c.Close()
	}
}

// markRunFailures wraps every RunE so that its errors can be told apart from
// the ones cobra returns while parsing the command line (unknown command or
// flag, wrong number of arguments, missing required flag): those are usage
// errors, exit 2.
func markRunFailures(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := run(cmd, args); err != nil {
				return runFailure{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markRunFailures(sub)
	}
}

// group makes a noun command: it lists its verbs when run alone, and rejects
// an unknown verb as a usage error (cobra would print help and exit 0).
func group(use, short, example string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		// cobra's own suggestions only run at the root; this turns them on here.
		SuggestionsMinimumDistance: 1,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			}
			return usageError{fmt.Errorf("%s", msg)}
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
}

// rpcAnnotation ties a command to the RPC it calls; the descriptor test uses
// it to prove that every RPC in the protos has a command.
func rpcAnnotation(fullMethod string) map[string]string {
	return map[string]string{"rpc": fullMethod}
}
