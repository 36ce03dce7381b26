package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sustech-merch/store/go_client/internal/wire"
)

func (a *app) wireDecodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "decode [<message-type>] <hex|->",
		Short: "Show protobuf bytes field by field, and as JSON when the type is given",
		Long: `Show protobuf bytes, given in hex with or without spaces, field by field. With
a message type, fields are named and the message is printed as protojson
after the table. Without one, a raw dump: a length-delimited value is shown
as text when it is readable, as a nested message when it parses completely
as fields, else as hex bytes.
With -o json and a type prints {"type": …, "hex": …, "json": {…}}.`,
		Example: `  merchctl wire decode merch.store.v1.PlaceOrderRequest '08 01 10 65 18 02'
  merchctl wire decode 080110651802
  merchctl wire decode merch.store.v1.Order 08 07 42 0c 08 c0 dd c8 b1 06 10 80 ca b5 ee 01`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mt, hexArgs, err := splitDecodeArgs(args)
			if err != nil {
				return err
			}
			text, err := a.argOrStdin(strings.Join(hexArgs, " "))
			if err != nil {
				return err
			}
			b, err := wire.ParseHex(text)
			if err != nil {
				return usageError{err}
			}
			if mt == nil {
				if a.jsonOutput() {
					return usagef("-o json needs a message type to decode into")
				}
				return wire.WriteReport(a.Out, b, nil)
			}
			m, err := wire.Decode(mt, b)
			if err != nil {
				return err
			}
			js, err := wire.JSON(m)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.emitWireJSON(map[string]any{
					"type": string(mt.Descriptor().FullName()),
					"hex":  strings.ReplaceAll(wire.FormatHex(b), " ", ""),
					"json": json.RawMessage(js),
				})
			}
			if err := wire.WriteReport(a.Out, b, mt.Descriptor()); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.Out, "\n%s\n", js)
			return err
		},
	}
}

// splitDecodeArgs tells the optional type from the hex. Hex may arrive as
// several arguments (unquoted "08 01 10 65"), so the first argument is a type
// only when it is not hex itself.
func splitDecodeArgs(args []string) (protoreflect.MessageType, []string, error) {
	if args[0] == "-" {
		return nil, args, nil
	}
	if _, err := wire.ParseHex(args[0]); err == nil {
		return nil, args, nil
	}
	mt, err := wire.FindMessage(args[0])
	if err != nil {
		return nil, nil, usageError{err}
	}
	if len(args) < 2 {
		return nil, nil, usagef("give the bytes to decode, in hex, after the type")
	}
	return mt, args[1:], nil
}
