package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

const wireExample = `  merchctl wire encode merch.store.v1.PlaceOrderRequest '{"user_id":1,"product_id":101,"quantity":2}'
      # 08 01 10 65 18 02, the seed's example
  merchctl wire decode merch.store.v1.PlaceOrderRequest '08 01 10 65 18 02'
  merchctl wire decode 080110651802          # no type: a raw field dump`

func (a *app) wireCmd() *cobra.Command {
	c := group("wire", "Show how messages look as protobuf bytes (encode JSON, decode hex)", wireExample)
	c.Long = `Show how a message is laid out in protobuf's binary wire format, the bytes the
Go client and the Python services exchange: the hex, then one line per field
with its number and name, wire type, raw bytes and decoded value. Nested
messages (timestamps, map entries, list items) are indented under their field.
py_server/wire.py prints the same table from Python.

  $ merchctl wire encode merch.store.v1.PlaceOrderRequest '{"user_id":1,"product_id":101,"quantity":2}'
  08 01 10 65 18 02

  field         wire type   bytes  value
  1 user_id     VARINT (0)  08 01  1
  2 product_id  VARINT (0)  10 65  101
  3 quantity    VARINT (0)  18 02  2`
	c.AddCommand(a.wireEncodeCmd(), a.wireDecodeCmd())
	return c
}

// argOrStdin returns arg, or standard input when arg is "-".
func (a *app) argOrStdin(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(a.In)
	if err != nil {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// emitWireJSON prints a wire result for scripts as one JSON object.
func (a *app) emitWireJSON(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.Out, string(line))
	return err
}
