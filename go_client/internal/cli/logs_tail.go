package cli

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	loggingv1 "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
)

func (a *app) logsTailCmd() *cobra.Command {
	req := &loggingv1.TailLogsRequest{}
	var minLevel string
	c := &cobra.Command{
		Use:   "tail [--service NAME] [--min-level LEVEL] [--request-id ID] [--last N]",
		Short: "Follow the live log (a server stream) until Ctrl-C",
		Long: `Follow the live log over a TailLogs server stream, optionally starting with
the most recent matching records, until Ctrl-C or SIGTERM (exit 0) or until
the service ends the stream. --timeout bounds only connecting. One record per
line; with -o json one TailLogsResponse per line.`,
		Example: `  merchctl logs tail
  merchctl logs tail --service api_rest --min-level warning --last 50
  merchctl logs tail --request-id 3f2b9c1e -o json | jq -r .record.message`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.logging.v1.LoggingService/TailLogs"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl, err := parseLevel(minLevel)
			if err != nil {
				return err
			}
			req.MinLevel = lvl
			cc, err := a.logConn()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := a.waitConnected(ctx, cc, "--log-addr"); err != nil {
				return err
			}
			stream, err := loggingv1.NewLoggingServiceClient(cc).TailLogs(a.outgoing(ctx), req)
			if err != nil {
				return err
			}
			for {
				res, err := stream.Recv()
				switch {
				case errors.Is(err, io.EOF):
					return nil // the service ended the stream
				case err != nil && ctx.Err() != nil:
					return nil // Ctrl-C or SIGTERM: following ends here, as asked
				case err != nil:
					return err
				}
				if err := a.emit(res, func(w io.Writer) { writeRecord(w, res.GetRecord()) }); err != nil {
					return err
				}
			}
		},
	}
	c.Flags().StringVar(&req.Service, "service", "", "only records of this service (default: all)")
	c.Flags().StringVar(&minLevel, "min-level", "", "only records at this level or above: "+levelNames+" (default: all)")
	c.Flags().StringVar(&req.RequestId, "request-id", "", "only records of this request (default: all)")
	c.Flags().Int32Var(&req.LastN, "last", 0, "first send up to N of the most recent matching records, 0 to 1000")
	return c
}
