package wire

import (
	"fmt"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Row is one line of the field table: one field of a message, or of a
// message nested in it (Depth > 0).
type Row struct {
	Depth    int
	Number   protowire.Number
	Name     string // the field's name, "" when no schema knows it
	WireType protowire.Type
	// Bytes are the field's bytes as sent: tag and value. For a nested
	// message only the tag and length; the rows under it hold the rest.
	Bytes []byte
	Value string
}

// Fields walks b field by field. md gives the schema (names, and how to read
// each varint and length-delimited value); with md nil the walk guesses.
// On malformed input it returns the rows read so far and an error naming the
// byte offset.
func Fields(b []byte, md protoreflect.MessageDescriptor) ([]Row, error) {
	var rows []Row
	err := walk(b, 0, md, 0, &rows)
	return rows, err
}

func walk(b []byte, offset int, md protoreflect.MessageDescriptor, depth int, rows *[]Row) error {
	for pos := 0; pos < len(b); {
		num, typ, tagLen := protowire.ConsumeTag(b[pos:])
		if tagLen < 0 {
			return fmt.Errorf("at byte %d: bad tag: %w", offset+pos, protowire.ParseError(tagLen))
		}
		if !num.IsValid() {
			return fmt.Errorf("at byte %d: invalid field number %d", offset+pos, num)
		}
		valLen := protowire.ConsumeFieldValue(num, typ, b[pos+tagLen:])
		if valLen < 0 {
			return fmt.Errorf("at byte %d: field %d: %w", offset+pos, num, protowire.ParseError(valLen))
		}
		field := b[pos : pos+tagLen+valLen]
		val := field[tagLen:]
		var fd protoreflect.FieldDescriptor
		if md != nil {
			fd = md.Fields().ByNumber(num)
		}
		row := Row{Depth: depth, Number: num, WireType: typ, Bytes: field}
		if fd != nil {
			row.Name = string(fd.Name())
		}
		switch typ {
		case protowire.VarintType:
			v, _ := protowire.ConsumeVarint(val)
			row.Value = varintValue(v, fd)
		case protowire.Fixed32Type:
			v, _ := protowire.ConsumeFixed32(val)
			row.Value = fixed32Value(v, fd)
		case protowire.Fixed64Type:
			v, _ := protowire.ConsumeFixed64(val)
			row.Value = fixed64Value(v, fd)
		case protowire.BytesType:
			payload, _ := protowire.ConsumeBytes(val)
			if nested, ok := nestedMessage(payload, fd); ok {
				row.Bytes = field[:len(field)-len(payload)]
				row.Value = fmt.Sprintf("message (%d bytes)", len(payload))
				*rows = append(*rows, row)
				start := offset + pos + len(row.Bytes)
				if err := walk(payload, start, nested, depth+1, rows); err != nil {
					return err
				}
				pos += len(field)
				continue
			}
			row.Value = bytesValue(payload, fd)
		default: // groups: proto3 has none, so they are shown but not opened
			row.Value = "group"
		}
		*rows = append(*rows, row)
		pos += len(field)
	}
	return nil
}

// kindIs reports whether the schema says fd is one of kinds; with no schema
// (fd nil) nothing is assumed.
func kindIs(fd protoreflect.FieldDescriptor, kinds ...protoreflect.Kind) bool {
	if fd == nil {
		return false
	}
	for _, k := range kinds {
		if fd.Kind() == k {
			return true
		}
	}
	return false
}

func varintValue(v uint64, fd protoreflect.FieldDescriptor) string {
	unsigned := strconv.FormatUint(v, 10)
	switch {
	case kindIs(fd, protoreflect.Int32Kind):
		// A negative int32 is sign-extended to 64 bits: ten bytes on the wire.
		if s := int32(v); s < 0 {
			return fmt.Sprintf("%d (unsigned %s)", s, unsigned)
		}
	case kindIs(fd, protoreflect.Int64Kind):
		if s := int64(v); s < 0 {
			return fmt.Sprintf("%d (unsigned %s)", s, unsigned)
		}
	case kindIs(fd, protoreflect.Sint32Kind, protoreflect.Sint64Kind):
		return fmt.Sprintf("%d (zig-zag %s)", protowire.DecodeZigZag(v), unsigned)
	case kindIs(fd, protoreflect.BoolKind):
		if v <= 1 {
			return strconv.FormatBool(v == 1)
		}
	case kindIs(fd, protoreflect.EnumKind):
		if ev := fd.Enum().Values().ByNumber(protoreflect.EnumNumber(int32(v))); ev != nil {
			return fmt.Sprintf("%d %s", int32(v), ev.Name())
		}
		return fmt.Sprintf("%d (not in %s)", int32(v), fd.Enum().Name())
	case fd == nil && int64(v) < 0:
		// Without a schema a huge varint is most likely a negative number.
		return fmt.Sprintf("%s (int64 %d)", unsigned, int64(v))
	}
	return unsigned
}

func fixed32Value(v uint32, fd protoreflect.FieldDescriptor) string {
	switch {
	case kindIs(fd, protoreflect.Sfixed32Kind):
		return strconv.FormatInt(int64(int32(v)), 10)
	case kindIs(fd, protoreflect.FloatKind):
		return strconv.FormatFloat(float64(math.Float32frombits(v)), 'g', -1, 32)
	}
	return strconv.FormatUint(uint64(v), 10)
}

func fixed64Value(v uint64, fd protoreflect.FieldDescriptor) string {
	switch {
	case kindIs(fd, protoreflect.Sfixed64Kind):
		return strconv.FormatInt(int64(v), 10)
	case kindIs(fd, protoreflect.DoubleKind):
		return strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64)
	}
	return strconv.FormatUint(v, 10)
}

// nestedMessage says whether a length-delimited payload is to be opened as a
// message, and with which schema. Known message fields (map entries included)
// always are. Unknown ones are guessed: readable text stays text, so that a
// short string like "hi" (which happens to parse as field 13) is not shown as
// a message; otherwise bytes that parse completely as fields are a message.
func nestedMessage(payload []byte, fd protoreflect.FieldDescriptor) (protoreflect.MessageDescriptor, bool) {
	if kindIs(fd, protoreflect.MessageKind) {
		return fd.Message(), true
	}
	if fd != nil || len(payload) == 0 || printable(payload) {
		return nil, false
	}
	return nil, parsesAsMessage(payload)
}

func parsesAsMessage(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 || !num.IsValid() || typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			return false
		}
		b = b[n:]
	}
	return true
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

func bytesValue(payload []byte, fd protoreflect.FieldDescriptor) string {
	switch {
	case kindIs(fd, protoreflect.StringKind):
		return strconv.Quote(string(payload))
	case kindIs(fd, protoreflect.BytesKind):
		return "<" + FormatHex(payload) + ">"
	case fd == nil && utf8.Valid(payload):
		return strconv.Quote(string(payload))
	}
	return "<" + FormatHex(payload) + ">"
}
