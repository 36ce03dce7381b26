package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) productsDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <product-id>",
		Short: "Remove a product that no order refers to",
		Long: `Remove a product that no order refers to. A product with orders cannot be
removed (FAILED_PRECONDITION, exit 73): set its stock to 0 instead.`,
		Example:     "  merchctl products delete 4",
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.ProductService/DeleteProduct"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("product id", args[0])
			if err != nil {
				return err
			}
			client, err := a.productClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.DeleteProduct, &storev1.DeleteProductRequest{ProductId: id})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) {
				fmt.Fprintf(w, "deleted product %d (%s)\n", res.GetProduct().GetId(), res.GetProduct().GetName())
			})
		},
	}
}
