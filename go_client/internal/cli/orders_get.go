package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) ordersGetCmd() *cobra.Command {
	req := &storev1.GetOrderRequest{}
	c := &cobra.Command{
		Use:         "get <order-id> [--user-id ID]",
		Short:       "Show one order",
		Example:     "  merchctl orders get 7\n  merchctl orders get 7 --user-id 1 -o json",
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.OrderService/GetOrder"),
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
			res, err := call(a, cmd, client.GetOrder, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeOrder(w, res.GetOrder()) })
		},
	}
	ownerFlag(c, &req.UserId)
	return c
}
