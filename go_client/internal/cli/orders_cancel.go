package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) ordersCancelCmd() *cobra.Command {
	req := &storev1.CancelOrderRequest{}
	c := &cobra.Command{
		Use:         "cancel <order-id> [--user-id ID]",
		Short:       "Cancel a placed order and return its items to stock",
		Long:        "Cancel a placed order and return its items to stock. An order already\ncancelled is FAILED_PRECONDITION (exit 73).",
		Example:     "  merchctl orders cancel 7\n  merchctl orders cancel 7 --user-id 1",
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.OrderService/CancelOrder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("order id", args[0])
			if err != nil {
				return err
			}
			req.OrderId = id
			client, err := a.orderClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.CancelOrder, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeOrder(w, res.GetOrder()) })
		},
	}
	ownerFlag(c, &req.UserId)
	return c
}
