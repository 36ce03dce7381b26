package wire

import (
	"strconv"
	"strings"
	"testing"
)

const seedJSON = `{"user_id":1,"product_id":101,"quantity":2}`

func TestSeedExampleReport(t *testing.T) {
	mt, err := FindMessage("merch.store.v1.PlaceOrderRequest")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Encode(mt, []byte(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := WriteReport(&out, b, mt.Descriptor()); err != nil {
		t.Fatal(err)
	}
	want := `08 01 10 65 18 02

field         wire type   bytes  value
1 user_id     VARINT (0)  08 01  1
2 product_id  VARINT (0)  10 65  101
3 quantity    VARINT (0)  18 02  2
`
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestValuesFollowTheSchema(t *testing.T) {
	tests := []struct {
		name, typ, json string
		want            []string // "field=value" of each row, in order
	}{
		{"negative int32 shown signed", "merch.store.v1.GetProductRequest", `{"product_id":-1}`,
			[]string{"product_id=-1 (unsigned 18446744073709551615)"}},
		{"enum by name", "merch.store.v1.Order", `{"status":"ORDER_STATUS_CANCELLED"}`,
			[]string{"status=2 ORDER_STATUS_CANCELLED"}},
		{"bool", "merch.store.v1.User", `{"active":true}`, []string{"active=true"}},
		{"unicode string quoted", "merch.store.v1.CreateUserRequest", `{"username":"李华🎉"}`,
			[]string{`username="李华🎉"`}},
		{"nested timestamp indented", "merch.store.v1.Order", `{"create_time":"2024-05-01T12:00:00.5Z"}`,
			[]string{"create_time=message (12 bytes)", "seconds=1714564800", "nanos=500000000"}},
		{"map entries", "merch.logging.v1.LogRecord", `{"fields":{"b":"2","a":"1"}}`,
			[]string{"fields=message (6 bytes)", `key="a"`, `value="1"`, "fields=message (6 bytes)", `key="b"`, `value="2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt, err := FindMessage(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := Encode(mt, []byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := Fields(b, mt.Descriptor())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Name+"="+r.Value)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRawDumpGuessesWithoutSchema(t *testing.T) {
	tests := []struct {
		name, hex string
		want      []string // "depth:number=value"
	}{
		{"varints", "08 01 10 65", []string{"0:1=1", "0:2=101"}},
		{"negative varint hinted", "08 ff ff ff ff ff ff ff ff ff 01",
			[]string{"0:1=18446744073709551615 (int64 -1)"}},
		{"nested message parses fully", "1a 04 08 01 10 02", []string{"0:3=message (4 bytes)", "1:1=1", "1:2=2"}},
		{"readable text stays text", "12 02 68 69", []string{`0:2="hi"`}},
		{"non-utf8 bytes are hex", "12 02 ff fe", []string{"0:2=<ff fe>"}},
		{"fixed32 and fixed64", "0d 01 00 00 00 11 02 00 00 00 00 00 00 00", []string{"0:1=1", "0:2=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseHex(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := Fields(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, strconv.Itoa(r.Depth)+":"+strconv.Itoa(int(r.Number))+"="+r.Value)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMalformedBytesKeepRowsAndNameTheOffset(t *testing.T) {
	b, _ := ParseHex("08 01 12 05 61")
	rows, err := Fields(b, nil)
	if len(rows) != 1 || err == nil || !strings.Contains(err.Error(), "at byte 2") {
		t.Errorf("rows %v, err %v; want one row and an error at byte 2", rows, err)
	}
}

func TestParseHexIsTolerant(t *testing.T) {
	for _, in := range []string{"08 01 10 65", "08011065", " 0801\n1065 ", "0x08011065"} {
		b, err := ParseHex(in)
		if err != nil || FormatHex(b) != "08 01 10 65" {
			t.Errorf("ParseHex(%q) = %x, %v", in, b, err)
		}
	}
	if _, err := ParseHex("0801 1"); err == nil {
		t.Error("odd-length hex accepted")
	}
}

func TestFindMessageAcceptsUniqueShortName(t *testing.T) {
	mt, err := FindMessage("PlaceOrderRequest")
	if err != nil || mt.Descriptor().FullName() != "merch.store.v1.PlaceOrderRequest" {
		t.Errorf("got %v, %v", mt, err)
	}
	if _, err := FindMessage("merch.store.v1.NoSuchThing"); err == nil {
		t.Error("unknown type accepted")
	}
}
