// Package wire shows how a protobuf message is laid out on the wire: the bytes
// of each field, its wire type and its decoded value, named where the schema is
// known. It is the Go half of the wire analysis; py_server/wire.py is the
// Python half and prints the same table.
package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The generated stubs register their descriptors in protoregistry when
	// imported; that is how message types are found by name.
	_ "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
	_ "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

// FindMessage resolves a message type by its full name
// ("merch.store.v1.PlaceOrderRequest"). A short name ("PlaceOrderRequest") is
// accepted when exactly one registered message carries it.
func FindMessage(name string) (protoreflect.MessageType, error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), ".")
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name)); err == nil {
		return mt, nil
	}
	var matches []protoreflect.FullName
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if string(mt.Descriptor().Name()) == name {
			matches = append(matches, mt.Descriptor().FullName())
		}
		return true
	})
	if len(matches) == 1 {
		return protoregistry.GlobalTypes.FindMessageByName(matches[0])
	}
	if len(matches) > 1 {
		return nil, fmt.Errorf("message type %q is ambiguous: %v", name, matches)
	}
	return nil, fmt.Errorf("unknown message type %q (give a full name such as merch.store.v1.PlaceOrderRequest)", name)
}

// Encode parses protojson text as a message of type mt and returns its wire
// bytes. Deterministic marshalling sorts map entries by key, as Python's
// SerializeToString(deterministic=True) does, so both languages agree byte
// for byte.
func Encode(mt protoreflect.MessageType, jsonText []byte) ([]byte, proto.Message, error) {
	m := mt.New().Interface()
	if err := protojson.Unmarshal(jsonText, m); err != nil {
		return nil, nil, fmt.Errorf("JSON is not a valid %s: %w", mt.Descriptor().FullName(), err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	return b, m, nil
}

// Decode parses wire bytes as a message of type mt.
func Decode(mt protoreflect.MessageType, b []byte) (proto.Message, error) {
	m := mt.New().Interface()
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("bytes are not a valid %s: %w", mt.Descriptor().FullName(), err)
	}
	return m, nil
}

// JSON renders m as compact protojson with the proto field names. protojson
// deliberately varies its whitespace between builds, so the output is
// compacted to stay stable for scripts and tests.
func JSON(m proto.Message) (string, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return "", err
	}
	return out.String(), nil
}

// ParseHex reads hex with or without spaces ("08 01 10 65", "08011065").
func ParseHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	return b, nil
}

// FormatHex writes bytes as lowercase hex pairs separated by spaces.
func FormatHex(b []byte) string {
	pairs := make([]string, len(b))
	for i, c := range b {
		pairs[i] = hex.EncodeToString([]byte{c})
	}
	return strings.Join(pairs, " ")
}
