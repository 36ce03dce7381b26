package cli

import (
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) ordersUpdateCmd() *cobra.Command {
	req := &storev1.UpdateOrderRequest{}
	var quantity, productID int32
	c := &cobra.Command{
		Use:   "update <order-id> [--quantity N] [--product-id ID] [--user-id ID]",
		Short: "Change the quantity and/or product of a placed order",
		Example: `  merchctl orders update 7 --quantity 3
  merchctl orders update 7 --product-id 2 --user-id 1`,
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.OrderService/UpdateOrder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("order id", args[0])
			if err != nil {
				return err
			}
			if !anyGiven(cmd, "quantity", "product-id") {
				return usagef("nothing to update: give --quantity and/or --product-id")
			}
			req.OrderId = id
			// Only the fields whose flags were given are set (proto3 optional).
			if cmd.Flags().Changed("quantity") {
				req.Quantity = proto.Int32(quantity)
			}
			if cmd.Flags().Changed("product-id") {
				req.ProductId = proto.Int32(productID)
			}
			client, err := a.orderClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.UpdateOrder, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeOrder(w, res.GetOrder()) })
		},
	}
	c.Flags().Int32Var(&quantity, "quantity", 0, "new number of items, 1 to 3 (default: unchanged)")
	c.Flags().Int32Var(&productID, "product-id", 0, "new product (default: unchanged)")
	ownerFlag(c, &req.UserId)
	return c
}
