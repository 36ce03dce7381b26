package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// idempotencyKey is the --idempotency-key flag of the commands whose RPC
// creates something (orders place, users register). With a key, the DB
// service stores the first successful answer for 24 hours and returns it to a
// retry with the same key and request, instead of acting twice.
type idempotencyKey struct{ key string }

func (k *idempotencyKey) register(c *cobra.Command) {
	c.Flags().StringVar(&k.key, "idempotency-key", "",
		"a unique key (e.g. a UUID) that makes a retry return the first answer instead of acting twice (default none)")
}

// callIdempotent is call() with the `idempotency-key` metadata when a key was
// given; a replayed answer is said on stderr, so that stdout stays the answer.
func callIdempotent[Req, Res any](a *app, cmd *cobra.Command, k *idempotencyKey,
	rpc func(context.Context, Req, ...grpc.CallOption) (Res, error), req Req) (Res, error) {
	if k.key == "" {
		return call(a, cmd, rpc, req)
	}
	ctx, cancel := a.unaryCtx(cmd.Context())
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "idempotency-key", k.key)
	var header metadata.MD
	res, err := rpc(ctx, req, grpc.Header(&header))
	if err == nil && len(header.Get("idempotent-replayed")) > 0 {
		fmt.Fprintln(a.Err, "merchctl: replayed: the stored answer of an earlier call with this --idempotency-key")
	}
	return res, err
}
