package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) productsListCmd() *cobra.Command {
	req := &storev1.ListProductsRequest{}
	var all bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List products in id order, a page at a time",
		Example: `  merchctl products list
  merchctl products list --category Apparel --page-size 10
  merchctl products list --all -o json`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.ProductService/ListProducts"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.productClient()
			if err != nil {
				return err
			}
			var products []*storev1.Product
			for {
				res, err := call(a, cmd, client.ListProducts, req)
				if err != nil {
					return err
				}
				if a.jsonOutput() {
					if err := a.emit(res, nil); err != nil {
						return err
					}
				}
				products = append(products, res.GetProducts()...)
				req.PageToken = res.GetNextPageToken()
				if !all || req.PageToken == "" {
					break
				}
			}
			if !a.jsonOutput() {
				writeProductTable(a.Out, products)
				if req.PageToken != "" {
					fmt.Fprintf(a.Err, "more: --page-token %s (or --all)\n", req.PageToken)
				}
			}
			return nil
		},
	}
	c.Flags().Int32Var(&req.PageSize, "page-size", 0, "most products per page, 0 to 1000 (default 0: the server's 100)")
	c.Flags().StringVar(&req.PageToken, "page-token", "", "next-page token of a previous list (default: first page)")
	c.Flags().StringVar(&req.Category, "category", "", "only products of this category (default: all)")
	c.Flags().BoolVar(&all, "all", false, "follow next-page tokens to the last page")
	return c
}

func writeProductTable(w io.Writer, products []*storev1.Product) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tCATEGORY\tPRICE\tSTOCK")
	for _, p := range products {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", p.GetId(), p.GetName(), p.GetCategory(), formatCents(p.GetPriceCents()), p.GetStock())
	}
	tw.Flush()
}
