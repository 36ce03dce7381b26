package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	loggingv1 "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
)

func (a *app) logsCmd() *cobra.Command {
	c := group("logs", "Send, follow and count log records (LoggingService)", `  merchctl logs send --service ops "deploy started"
  merchctl logs tail --service api_rest --min-level warning --last 50
  merchctl logs stats`)
	c.AddCommand(a.logsSendCmd(), a.logsTailCmd(), a.logsStatsCmd())
	return c
}

func (a *app) loggingClient() (loggingv1.LoggingServiceClient, error) {
	cc, err := a.logConn()
	if err != nil {
		return nil, err
	}
	return loggingv1.NewLoggingServiceClient(cc), nil
}

const levelNames = "debug, info, warning, error, critical"

// parseLevel reads a level by its short name ("warning") or its proto name
// ("LOG_LEVEL_WARNING"), in any case. "" is LOG_LEVEL_UNSPECIFIED.
func parseLevel(s string) (loggingv1.LogLevel, error) {
	if s == "" {
		return loggingv1.LogLevel_LOG_LEVEL_UNSPECIFIED, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "LOG_LEVEL_") {
		name = "LOG_LEVEL_" + name
	}
	v, ok := loggingv1.LogLevel_value[name]
	if !ok {
		return 0, usagef("level %q is not one of %s", s, levelNames)
	}
	return loggingv1.LogLevel(v), nil
}

// parseFields reads repeated --field key=value flags.
func parseFields(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	fields := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--field %q is not key=value", kv)
		}
		fields[k] = v
	}
	return fields, nil
}

// writeRecord prints a record on one line:
// time level service [request id] message key=value… [trace_id=… span_id=…]
func writeRecord(w io.Writer, r *loggingv1.LogRecord) {
	var b strings.Builder
	ts := "-"
	if r.GetTime() != nil {
		ts = r.GetTime().AsTime().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	level := strings.ToUpper(enumLabel(r.GetLevel().String(), "LOG_LEVEL_"))
	fmt.Fprintf(&b, "%s %-8s %s", ts, level, r.GetService())
	if r.GetRequestId() != "" {
		fmt.Fprintf(&b, " [%s]", r.GetRequestId())
	}
	b.WriteString(" " + r.GetMessage())
	keys := make([]string, 0, len(r.GetFields()))
	for k := range r.GetFields() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := r.GetFields()[k]
		if v == "" || strings.ContainsAny(v, " \t\n\"=") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	if r.GetTraceId() != "" {
		fmt.Fprintf(&b, " trace_id=%s span_id=%s", r.GetTraceId(), r.GetSpanId())
	}
	fmt.Fprintln(w, b.String())
}
