package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) productsCmd() *cobra.Command {
	c := group("products", "Read and administer the catalogue (ProductService)", `  merchctl products list
  merchctl products get 1
  merchctl products update 1 --price 44.99`)
	c.AddCommand(a.productsListCmd(), a.productsGetCmd(), a.productsCreateCmd(),
		a.productsUpdateCmd(), a.productsDeleteCmd())
	return c
}

func (a *app) productClient() (storev1.ProductServiceClient, error) {
	cc, err := a.dbConn()
	if err != nil {
		return nil, err
	}
	return storev1.NewProductServiceClient(cc), nil
}

func writeProduct(w io.Writer, p *storev1.Product) {
	writeFields(w,
		"id", fmt.Sprint(p.GetId()),
		"name", p.GetName(),
		"category", p.GetCategory(),
		"price", formatCents(p.GetPriceCents()),
		"stock", fmt.Sprint(p.GetStock()),
		"description", p.GetDescription(),
		"slogan", p.GetSlogan(),
	)
}

// productFlags are the editable fields shared by create and update.
type productFlags struct {
	name, description, category, price, slogan string
	stock                                      int32
}

func (f *productFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.name, "name", "", "display name, 1 to 100 characters, unique")
	c.Flags().StringVar(&f.description, "description", "", "what the product is, up to 1000 characters")
	c.Flags().StringVar(&f.category, "category", "", `category such as "Apparel", 1 to 50 characters`)
	c.Flags().StringVar(&f.price, "price", "", "unit price such as 49.99 (exact, at most two decimals)")
	c.Flags().StringVar(&f.slogan, "slogan", "", "short marketing line, up to 200 characters")
	c.Flags().Int32Var(&f.stock, "stock", 0, "items on hand")
}
