package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) ordersPlaceCmd() *cobra.Command {
	req := &storev1.PlaceOrderRequest{}
	var key idempotencyKey
	c := &cobra.Command{
		Use:   "place --user-id ID --product-id ID [--quantity N]",
		Short: "Buy a product: reserves stock and records the order",
		Long: `Buy a product: reserves stock and records the order. Too little stock or a
deactivated user is FAILED_PRECONDITION (exit 73); an unknown user or product
is NOT_FOUND (exit 69); a quantity outside 1..3 is INVALID_ARGUMENT (exit 67).
With --idempotency-key, a retry with the same key and request returns the first
order instead of placing another; the same key with another request is
FAILED_PRECONDITION (exit 73), and while the first call still runs, ABORTED (exit 74).`,
		Example: `  merchctl orders place --user-id 1 --product-id 1 --quantity 2
  merchctl orders place --user-id 1 --product-id 1 --idempotency-key "$(uuidgen)"`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.OrderService/PlaceOrder"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.orderClient()
			if err != nil {
				return err
			}
			res, err := callIdempotent(a, cmd, &key, client.PlaceOrder, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeOrder(w, res.GetOrder()) })
		},
	}
	c.Flags().Int32Var(&req.UserId, "user-id", 0, "the buyer's user id (required)")
	c.Flags().Int32Var(&req.ProductId, "product-id", 0, "the product to buy (required)")
	c.Flags().Int32Var(&req.Quantity, "quantity", 1, "number of items, 1 to 3")
	key.register(c)
	for _, name := range []string{"user-id", "product-id"} {
		_ = c.MarkFlagRequired(name) // cannot fail: the flags were just defined
	}
	return c
}
