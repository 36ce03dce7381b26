// Command merchctl drives the SUSTech Merch Store's gRPC services from a shell.
package main

import (
	"os"

	"github.com/sustech-merch/store/go_client/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
