#!/usr/bin/env bash
# Idempotent set-up for `make run` and `make test` on a fresh machine:
# the Python virtualenv with pinned dependencies, the pinned Go tools,
# and the merchctl binary. Each step is skipped when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

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

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  echo "creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "installing pinned Python dependencies" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  # The project itself, editable: makes py_server, api_rest and the generated
  # `merch` stubs importable without any sys.path edits.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e . 2>/dev/null
  echo "$want" >"$stamp"
fi

ensure_go_plugins
ensure_grpcurl
ensure_composecheck
ensure_newman

if [[ -d go_client/cmd/merchctl ]]; then
  mkdir -p bin
  (cd go_client && go build -o ../bin/merchctl ./cmd/merchctl)
fi
