#!/usr/bin/env bash
# Idempotent set-up on a fresh machine; each step is skipped when already up to date.
#
#   scripts/setup.sh run   what running and exploring need (`make run`): the Python virtualenv with
#                          the runtime packages of requirements.txt, bin/merchctl and grpcurl.
#                          No root, no Debian packages, no test tools.
#   scripts/setup.sh       everything (`make test`, `make stack`, `make bench`): the above, plus the
#                          Debian packages the tests and the local stack use, the test and code
#                          generation packages of requirements-dev.txt, the protoc plugins,
#                          composecheck and newman.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

mode=${1:-full}
case $mode in
  run | full) ;;
  *) echo "usage: scripts/setup.sh [run|full]" >&2; exit 2 ;;
esac

for tool in go; do
  command -v "$tool" >/dev/null || { echo "setup: '$tool' is not on PATH: install Go 1.26 (https://go.dev/doc/install)" >&2; exit 1; }
done

if [[ $mode == full ]]; then
  # Debian packages the tests and the local stack use, installed once when missing:
  # PostgreSQL (server + pgbench), nginx, chromium (the Swagger UI test), wrk (benchmarks),
  # a JDK and Maven (Kafka from Apache's jars), Prometheus (make stack).
  need=()
  command -v chromium >/dev/null || need+=(chromium)
  [[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || need+=(nginx-light)
  command -v wrk >/dev/null || need+=(wrk)
  ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || need+=(maven)
  command -v prometheus >/dev/null || need+=(prometheus)  # make stack's metrics, and its test
  if ((${#need[@]})); then
    echo "installing Debian packages: ${need[*]}" >&2
    sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  echo "creating .venv" >&2
  "$PYTHON" -m venv .venv || { echo "setup: '$PYTHON -m venv' failed: install Python 3.11+ with venv (Debian: python3-venv)" >&2; exit 1; }
fi
# One stamp per set of requirements; the full set includes the runtime one.
run_stamp=.venv/.requirements-run.sha256 full_stamp=.venv/.requirements-full.sha256
run_want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
full_want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
# python_packages REQUIREMENTS STAMP WANT WHAT
python_packages() {
  [[ "$(cat "$2" 2>/dev/null)" == "$3" ]] && return 0
  echo "installing pinned Python packages ($4)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$1"
  # The project itself, editable: makes py_server, api_rest and the generated
  # `merch` stubs importable without any sys.path edits.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e . 2>/dev/null
  echo "$3" >"$2"
}
if [[ $mode == full ]]; then
  python_packages requirements-dev.txt "$full_stamp" "$full_want" "runtime, tests, code generation"
  echo "$run_want" >"$run_stamp"
fi
python_packages requirements.txt "$run_stamp" "$run_want" "runtime"

ensure_grpcurl
if [[ $mode == full ]]; then
  ensure_go_plugins
  ensure_protovalidate  # buf/validate/validate.proto, for buf lint and buf generate
  ensure_composecheck
  ensure_newman
fi

mkdir -p bin
(cd go_client && go build -o ../bin/merchctl ./cmd/merchctl)
