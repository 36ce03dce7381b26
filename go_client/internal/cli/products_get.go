package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) productsGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "get <product-id>",
		Short:       "Show one product",
		Example:     "  merchctl products get 1\n  merchctl products get 1 -o json",
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.ProductService/GetProduct"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("product id", args[0])
			if err != nil {
				return err
			}
			client, err := a.productClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.GetProduct, &storev1.GetProductRequest{ProductId: id})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeProduct(w, res.GetProduct()) })
		},
	}
}
