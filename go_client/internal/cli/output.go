package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sustech-merch/store/go_client/internal/wire"
)

// emit prints one response: a protojson line with -o json, else text for people.
func (a *app) emit(m proto.Message, text func(w io.Writer)) error {
	if a.jsonOutput() {
		s, err := wire.JSON(m)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(a.Out, s)
		return err
	}
	text(a.Out)
	return nil
}

// newTable aligns columns for people.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// writeFields prints "label: value" pairs, aligned.
func writeFields(w io.Writer, pairs ...string) {
	tw := newTable(w)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], pairs[i+1])
	}
	tw.Flush()
}

// formatTime shows a timestamp in UTC, "-" when unset.
func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// enumLabel turns ORDER_STATUS_PLACED into "placed".
func enumLabel(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// parseID reads an id argument; ids are int32 in the protos.
func parseID(what, s string) (int32, error) {
	id, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, usagef("%s %q is not a whole number", what, s)
	}
	return int32(id), nil
}

// anyGiven reports whether any of the named flags was given.
func anyGiven(cmd *cobra.Command, names ...string) bool {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}
