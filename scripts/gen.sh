#!/usr/bin/env bash
# Regenerates every stub from proto/ with Buf: Python into py_server/gen,
# Go into go_client/gen. Plugins come from the venv (grpcio-tools) and from
# pinned `go install`s into .tools/bin, validate.proto from the Go module proxy
# into .tools/protovalidate (see scripts/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
ensure_go_plugins
ensure_protovalidate
PATH="$PWD/scripts:$PWD/.tools/bin:$PWD/.venv/bin:$PATH"
buf lint
buf format -d --exit-code
buf generate "$@"
