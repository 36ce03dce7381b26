package cli

import (
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) productsUpdateCmd() *cobra.Command {
	var f productFlags
	c := &cobra.Command{
		Use:   "update <product-id> [--name …] [--description …] [--category …] [--price …] [--slogan …] [--stock …]",
		Short: "Change the given fields of a product; the others keep their value",
		Example: `  merchctl products update 1 --price 44.99
  merchctl products update 3 --stock 0          # stock 0 is sent: the flag was given`,
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.ProductService/UpdateProduct"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("product id", args[0])
			if err != nil {
				return err
			}
			req, err := f.updateRequest(cmd, id)
			if err != nil {
				return err
			}
			client, err := a.productClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.UpdateProduct, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeProduct(w, res.GetProduct()) })
		},
	}
	f.register(c)
	return c
}

// updateRequest sets exactly the optional fields whose flags were given, so
// "--stock 0" is sent as present-and-zero while an absent flag is left unset.
func (f *productFlags) updateRequest(cmd *cobra.Command, id int32) (*storev1.UpdateProductRequest, error) {
	if !anyGiven(cmd, "name", "description", "category", "price", "slogan", "stock") {
		return nil, usagef("nothing to update: give at least one of --name, --description, --category, --price, --slogan, --stock")
	}
	req := &storev1.UpdateProductRequest{ProductId: id}
	given := cmd.Flags().Changed
	if given("name") {
		req.Name = proto.String(f.name)
	}
	if given("description") {
		req.Description = proto.String(f.description)
	}
	if given("category") {
		req.Category = proto.String(f.category)
	}
	if given("price") {
		cents, err := parseCents(f.price)
		if err != nil {
			return nil, usageError{err}
		}
		req.PriceCents = proto.Int64(cents)
	}
	if given("slogan") {
		req.Slogan = proto.String(f.slogan)
	}
	if given("stock") {
		req.Stock = proto.Int32(f.stock)
	}
	return req, nil
}
