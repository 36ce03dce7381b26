package cli

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/sustech-merch/store/go_client/internal/wire"
)

// Exit codes, documented in `merchctl --help` and go_client/README.md.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
	// RPCExitBase plus the gRPC status code is the exit code of a failed RPC,
	// as grpcurl does: INVALID_ARGUMENT (3) exits 67.
	RPCExitBase = 64
)

// usageError is a mistake in the command line: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// runFailure is an error a command returned once it ran (see markRunFailures).
type runFailure struct{ err error }

func (e runFailure) Error() string { return e.err.Error() }
func (e runFailure) Unwrap() error { return e.err }

// rpcStatus finds the gRPC status in err's chain. status.FromError would do,
// but it replaces a wrapped status's message with the whole error text.
func rpcStatus(err error) (*status.Status, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus(), true
	}
	return nil, false
}

// exitCode maps an error to merchctl's exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var u usageError
	var r runFailure
	switch {
	case errors.As(err, &u):
		return ExitUsage
	case !errors.As(err, &r):
		return ExitUsage // cobra's own command-line errors
	}
	if st, ok := rpcStatus(err); ok {
		return RPCExitBase + int(st.Code())
	}
	return ExitError
}

// renderError writes an error for people: for an RPC failure the status code
// name, the message, and each BadRequest field violation on its own line.
func renderError(err error) string {
	st, ok := rpcStatus(err)
	if !ok {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", codeName(st), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
			}
		case proto.Message:
			text, _ := wire.JSON(d)
			fmt.Fprintf(&b, "\n  %s: %s", d.ProtoReflect().Descriptor().FullName(), text)
		default: // a detail whose type is not linked in: its decoding error
			fmt.Fprintf(&b, "\n  detail: %v", d)
		}
	}
	return b.String()
}

// codeName is the canonical name of the status code ("INVALID_ARGUMENT"),
// which is what the protos, the docs and grpcurl call it.
func codeName(st *status.Status) string {
	if name, ok := code.Code_name[int32(st.Code())]; ok {
		return name
	}
	return st.Code().String()
}
