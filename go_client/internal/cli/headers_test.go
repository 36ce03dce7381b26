package cli

import (
	"reflect"
	"testing"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in, key, value string
		wantErr        bool
	}{
		{in: "x-request-id: abc", key: "x-request-id", value: "abc"},
		{in: "X-Request-ID:abc", key: "x-request-id", value: "abc"},
		{in: "note: a:b:c", key: "note", value: "a:b:c"},
		{in: "empty:", key: "empty", value: ""},
		{in: "no-colon", wantErr: true},
		{in: ": value", wantErr: true},
		{in: "bad key: v", wantErr: true},
		{in: "grpc-timeout: 1S", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, v, err := parseHeader(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if k != tt.key || v != tt.value {
				t.Errorf("got %q=%q, want %q=%q", k, v, tt.key, tt.value)
			}
		})
	}
}

func TestRequestMetadataAddsBearerToken(t *testing.T) {
	md, err := requestMetadata([]string{"x-a: 1", "x-a: 2"}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Get("x-a"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("x-a = %v", got)
	}
	if got := md.Get("authorization"); !reflect.DeepEqual(got, []string{"Bearer s3cret"}) {
		t.Errorf("authorization = %v", got)
	}
	if _, err := requestMetadata([]string{"authorization: Bearer x"}, "y"); err == nil {
		t.Error("token given twice was accepted")
	}
}
