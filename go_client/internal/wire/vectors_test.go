package wire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// vector is one case of tests/wire_vectors.json, shared with py_server/test_wire.py.
type vector struct {
	Name string          `json:"name"`
	Type string          `json:"type"`
	JSON json.RawMessage `json:"json"`
	Hex  string          `json:"hex"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "tests", "wire_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 24 {
		t.Fatalf("want at least 24 wire vectors, have %d", len(vs))
	}
	return vs
}

func TestVectorsEncodeToExactHex(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			mt, err := FindMessage(v.Type)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := Encode(mt, v.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if got := FormatHex(b); got != v.Hex {
				t.Errorf("encode\n got  %q\n want %q", got, v.Hex)
			}
		})
	}
}

func TestVectorsDecodeBackToTheSameMessage(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			mt, err := FindMessage(v.Type)
			if err != nil {
				t.Fatal(err)
			}
			want := mt.New().Interface()
			if err := protojson.Unmarshal(v.JSON, want); err != nil {
				t.Fatal(err)
			}
			b, err := ParseHex(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := Decode(mt, b)
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON and back, as `wire decode` prints it.
			text, err := JSON(decoded)
			if err != nil {
				t.Fatal(err)
			}
			got := mt.New().Interface()
			if err := protojson.Unmarshal([]byte(text), got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("decoded %s, want %s", text, v.JSON)
			}
			// Every byte is accounted for by the field walk.
			if _, err := Fields(b, mt.Descriptor()); err != nil {
				t.Error(err)
			}
		})
	}
}
