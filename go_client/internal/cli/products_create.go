package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) productsCreateCmd() *cobra.Command {
	var f productFlags
	c := &cobra.Command{
		Use:   "create --name NAME --category CATEGORY --price PRICE [flags]",
		Short: "Add a product to the catalogue",
		Example: `  merchctl products create --name "SUSTech Cap" --category Apparel --price 15.50 \
    --stock 200 --description "A cap with the SUSTech logo." --slogan "Shade with pride!"`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.ProductService/CreateProduct"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cents, err := parseCents(f.price)
			if err != nil {
				return usageError{err}
			}
			client, err := a.productClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.CreateProduct, &storev1.CreateProductRequest{
				Name: f.name, Description: f.description, Category: f.category,
				PriceCents: cents, Slogan: f.slogan, Stock: f.stock,
			})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeProduct(w, res.GetProduct()) })
		},
	}
	f.register(c)
	for _, name := range []string{"name", "category", "price"} {
		_ = c.MarkFlagRequired(name) // cannot fail: the flags were just defined
		c.Flags().Lookup(name).Usage += " (required)"
	}
	return c
}
