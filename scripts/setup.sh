#!/usr/bin/env bash
# Idempotent set-up for `make run` and `make test` on a fresh machine:
# the Python virtualenv with pinned dependencies, the pinned Go tools,
# and the merchctl binary. Each step is skipped when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

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
