package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/sustech-merch/store/go_client/internal/wire"
)

func (a *app) wireEncodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "encode <message-type> <json|->",
		Short: "Encode a protojson message and show its bytes field by field",
		Long: `Encode a message given as protojson (proto field names or JSON names; int64
values may be strings) into protobuf bytes, deterministically (map entries
sorted by key, as Python does), and show the bytes field by field.
With -o json prints {"type": …, "hex": …}.`,
		Example: `  merchctl wire encode merch.store.v1.PlaceOrderRequest '{"user_id":1,"product_id":101,"quantity":2}'
  merchctl wire encode merch.logging.v1.LogRecord '{"message":"hi 🎉","fields":{"b":"2","a":"1"}}'
  echo '{"order_id":5,"quantity":0}' | merchctl wire encode UpdateOrderRequest -`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			mt, err := wire.FindMessage(args[0])
			if err != nil {
				return usageError{err}
			}
			text, err := a.argOrStdin(args[1])
			if err != nil {
				return err
			}
			b, _, err := wire.Encode(mt, []byte(text))
			if err != nil {
				return usageError{err}
			}
			if a.jsonOutput() {
				return a.emitWireJSON(map[string]string{
					"type": string(mt.Descriptor().FullName()),
					"hex":  strings.ReplaceAll(wire.FormatHex(b), " ", ""),
				})
			}
			return wire.WriteReport(a.Out, b, mt.Descriptor())
		},
	}
}
