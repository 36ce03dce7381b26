package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) ordersCmd() *cobra.Command {
	c := group("orders", "Place and manage orders (OrderService)", `  merchctl orders place --user-id 1 --product-id 1 --quantity 2
  merchctl orders list --user-id 1
  merchctl orders cancel 7`)
	c.AddCommand(a.ordersPlaceCmd(), a.ordersGetCmd(), a.ordersListCmd(),
		a.ordersUpdateCmd(), a.ordersCancelCmd())
	return c
}

func (a *app) orderClient() (storev1.OrderServiceClient, error) {
	cc, err := a.dbConn()
	if err != nil {
		return nil, err
	}
	return storev1.NewOrderServiceClient(cc), nil
}

func orderStatus(o *storev1.Order) string {
	return enumLabel(o.GetStatus().String(), "ORDER_STATUS_")
}

func writeOrder(w io.Writer, o *storev1.Order) {
	writeFields(w,
		"id", fmt.Sprint(o.GetId()),
		"user", fmt.Sprint(o.GetUserId()),
		"product", fmt.Sprint(o.GetProductId()),
		"quantity", fmt.Sprint(o.GetQuantity()),
		"total", formatCents(o.GetTotalPriceCents()),
		"status", orderStatus(o),
		"created", formatTime(o.GetCreateTime()),
		"updated", formatTime(o.GetUpdateTime()),
	)
}

// ownerFlag is the optional --user-id of get, update and cancel: when given,
// the server answers NOT_FOUND for another user's order.
func ownerFlag(c *cobra.Command, userID *int32) {
	c.Flags().Int32Var(userID, "user-id", 0, "act for this user: another user's order is NOT_FOUND (default 0: any owner)")
}
