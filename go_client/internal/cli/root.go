package cli

import (
	"github.com/spf13/cobra"
)

const rootLong = `merchctl drives the SUSTech Merch Store's gRPC services directly: the DB
service (products, users, orders, greeting) and the logging service.

Global flags fall back to variables (MERCH_DB_ADDR, MERCH_LOG_ADDR,
MERCH_SERVICE_TOKEN, MERCH_TIMEOUT, MERCH_TLS, MERCH_CACERT, MERCH_OUTPUT),
read from the environment or else from the .env file, as every process of
the store reads them: a flag wins over the environment, the environment over
.env. With no token given, merchctl reads the dev token file
<state dir>/service_token (MERCH_STATE_DIR, else .merch at the repository root).

Output is for people by default; -o json prints protojson, one object per
line per response, with the proto field names.

Exit codes:
  0        success
  1        error (bad TLS file, malformed wire bytes, I/O, ...)
  2        usage: unknown command or flag, bad argument or flag value
  64+code  the RPC failed with that gRPC status code, as grpcurl does:
           64+3=67 INVALID_ARGUMENT, 64+5=69 NOT_FOUND, 64+6=70 ALREADY_EXISTS,
           64+9=73 FAILED_PRECONDITION, 64+14=78 UNAVAILABLE,
           64+16=80 UNAUTHENTICATED, 64+4=68 DEADLINE_EXCEEDED, ...
  78       merchctl health: some service is not SERVING or not reachable
The error on stderr names the status code, its message, and each field
violation of a google.rpc.BadRequest detail ("field: description").`

func (a *app) rootCmd() *cobra.Command {
	root := group("merchctl", "Command-line client of the SUSTech Merch Store gRPC services", `  merchctl greet
  merchctl products list
  merchctl orders place --user-id 1 --product-id 1 --quantity 2
  merchctl logs tail --service api_rest --last 20
  merchctl wire encode merch.store.v1.PlaceOrderRequest '{"user_id":1,"product_id":101,"quantity":2}'`)
	root.Long = rootLong
	// Errors are printed once, by Run, with the exit code's context.
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.CompletionOptions.DisableDefaultCmd = true
	a.addGlobalFlags(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		a.productsCmd(),
		a.usersCmd(),
		a.ordersCmd(),
		a.logsCmd(),
		a.healthCmd(),
		a.greetCmd(),
		a.wireCmd(),
	)
	markRunFailures(root)
	return root
}
