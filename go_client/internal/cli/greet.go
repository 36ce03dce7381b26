package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) greetCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "greet",
		Short:       "Print the store's greeting (the REST gateway's GET /)",
		Example:     "  merchctl greet\n  merchctl greet --db-addr 10.0.0.5:50051,10.0.0.6:50051",
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.GreetingService/GetGreeting"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cc, err := a.dbConn()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, storev1.NewGreetingServiceClient(cc).GetGreeting, &storev1.GetGreetingRequest{})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { fmt.Fprintln(w, res.GetMessage()) })
		},
	}
}
