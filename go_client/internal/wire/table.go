package wire

import (
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// wireTypeNames are the names the protobuf encoding guide gives wire types.
var wireTypeNames = map[protowire.Type]string{
	protowire.VarintType:     "VARINT",
	protowire.Fixed64Type:    "I64",
	protowire.BytesType:      "LEN",
	protowire.StartGroupType: "SGROUP",
	protowire.EndGroupType:   "EGROUP",
	protowire.Fixed32Type:    "I32",
}

// WriteTable prints rows as an aligned table with a header: field (number and
// name, indented by nesting), wire type, bytes, value. Columns are padded to
// their widest cell plus two spaces, the same rule py_server/wire.py uses, so
// both print identical tables.
func WriteTable(w io.Writer, rows []Row) error {
	cells := [][]string{{"field", "wire type", "bytes", "value"}}
	for _, r := range rows {
		field := strings.Repeat("  ", r.Depth) + fmt.Sprint(int32(r.Number))
		if r.Name != "" {
			field += " " + r.Name
		}
		wt := fmt.Sprintf("%s (%d)", wireTypeNames[r.WireType], r.WireType)
		cells = append(cells, []string{field, wt, FormatHex(r.Bytes), r.Value})
	}
	_, err := io.WriteString(w, alignColumns(cells))
	return err
}

// alignColumns pads every column but the last to its widest cell (counted in
// runes) plus two spaces.
func alignColumns(cells [][]string) string {
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, row := range cells {
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// WriteReport prints b's hex on one line and, after a blank line, its field
// table (md may be nil for a raw dump). The rows read before a malformed
// field are printed before its error is returned.
func WriteReport(w io.Writer, b []byte, md protoreflect.MessageDescriptor) error {
	if len(b) == 0 {
		_, err := fmt.Fprintln(w, "(0 bytes: every field has its default value)")
		return err
	}
	rows, walkErr := Fields(b, md)
	if _, err := fmt.Fprintf(w, "%s\n\n", FormatHex(b)); err != nil {
		return err
	}
	if err := WriteTable(w, rows); err != nil {
		return err
	}
	return walkErr
}
