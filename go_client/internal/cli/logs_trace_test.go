package cli

import (
	"bytes"
	"strings"
	"testing"

	loggingv1 "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
)

func TestWriteRecordShowsTheTraceOnlyWhenThereIsOne(t *testing.T) {
	cases := []struct {
		name   string
		record *loggingv1.LogRecord
		want   string
	}{
		{"traced", &loggingv1.LogRecord{Service: "api_rest", Message: "hi", TraceId: "4bf92f3577b34da6a3ce929d0e0e4736", SpanId: "00f067aa0ba902b7"},
			" hi trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n"},
		{"untraced", &loggingv1.LogRecord{Service: "api_rest", Message: "hi"}, " hi\n"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		writeRecord(&out, c.record)
		if !strings.HasSuffix(out.String(), c.want) {
			t.Errorf("%s: got %q, want it to end with %q", c.name, out.String(), c.want)
		}
	}
}
