package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	loggingv1 "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
)

func (a *app) logsStatsCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "stats",
		Short:       "Show the logging service's counters (accepted, published, dropped, pending)",
		Example:     "  merchctl logs stats\n  merchctl logs stats -o json",
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.logging.v1.LoggingService/GetLoggingStats"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.loggingClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.GetLoggingStats, &loggingv1.GetLoggingStatsRequest{})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) {
				writeFields(w,
					"accepted", fmt.Sprint(res.GetAcceptedCount()),
					"published", fmt.Sprint(res.GetPublishedCount()),
					"dropped", fmt.Sprint(res.GetDroppedCount()),
					"pending", fmt.Sprint(res.GetPendingCount()),
					"sink", res.GetSink(),
					"sink healthy", fmt.Sprint(res.GetSinkHealthy()),
				)
			})
		},
	}
}
