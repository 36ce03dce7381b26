package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) ordersListCmd() *cobra.Command {
	req := &storev1.ListOrdersRequest{}
	var all bool
	c := &cobra.Command{
		Use:   "list --user-id ID",
		Short: "List a user's orders, newest first, a page at a time",
		Example: `  merchctl orders list --user-id 1
  merchctl orders list --user-id 1 --all -o json`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.OrderService/ListOrders"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.orderClient()
			if err != nil {
				return err
			}
			var orders []*storev1.Order
			for {
				res, err := call(a, cmd, client.ListOrders, req)
				if err != nil {
					return err
				}
				if a.jsonOutput() {
					if err := a.emit(res, nil); err != nil {
						return err
					}
				}
				orders = append(orders, res.GetOrders()...)
				req.PageToken = res.GetNextPageToken()
				if !all || req.PageToken == "" {
					break
				}
			}
			if !a.jsonOutput() {
				writeOrderTable(a.Out, orders)
				if req.PageToken != "" {
					fmt.Fprintf(a.Err, "more: --page-token %s (or --all)\n", req.PageToken)
				}
			}
			return nil
		},
	}
	c.Flags().Int32Var(&req.UserId, "user-id", 0, "the owner whose orders to list (required)")
	c.Flags().Int32Var(&req.PageSize, "page-size", 0, "most orders per page, 0 to 1000 (default 0: the server's 100)")
	c.Flags().StringVar(&req.PageToken, "page-token", "", "next-page token of a previous list (default: first page)")
	c.Flags().BoolVar(&all, "all", false, "follow next-page tokens to the last page")
	_ = c.MarkFlagRequired("user-id") // cannot fail: the flag was just defined
	return c
}

func writeOrderTable(w io.Writer, orders []*storev1.Order) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tPRODUCT\tQUANTITY\tTOTAL\tSTATUS\tCREATED")
	for _, o := range orders {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\n", o.GetId(), o.GetProductId(), o.GetQuantity(),
			formatCents(o.GetTotalPriceCents()), orderStatus(o), formatTime(o.GetCreateTime()))
	}
	tw.Flush()
}
