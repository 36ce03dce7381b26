package cli

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"plain failure", runFailure{errors.New("disk full")}, 1},
		{"usage inside a command", runFailure{usagef("bad price")}, 2},
		{"cobra parse error", errors.New(`unknown flag: --nope`), 2},
		{"invalid argument", runFailure{status.Error(codes.InvalidArgument, "x")}, 67},
		{"not found", runFailure{status.Error(codes.NotFound, "x")}, 69},
		{"wrapped status", runFailure{fmt.Errorf("placing: %w", status.Error(codes.FailedPrecondition, "x"))}, 73},
		{"unavailable", runFailure{status.Error(codes.Unavailable, "x")}, 78},
		{"unauthenticated", runFailure{status.Error(codes.Unauthenticated, "x")}, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRenderErrorListsFieldViolations(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "the order is not valid").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "quantity", Description: "must be 1 to 3"},
			{Field: "user_id", Description: "must be 1 or more"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "INVALID_ARGUMENT: the order is not valid\n  quantity: must be 1 to 3\n  user_id: must be 1 or more"
	if got := renderError(runFailure{st.Err()}); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
