#!/usr/bin/env bash
# Every test: proto lint, breaking changes against the previous commit, Go vet and tests, then the
# Python suite (which starts and stops its own PostgreSQL, Kafka, services and gateways on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PWD/.tools/bin:$PWD/bin:$PATH"

echo "== buf lint / format"
buf lint
buf format -d --exit-code

echo "== buf breaking (against the previous commit)"
scripts/breaking.sh

if [[ -d go_client/cmd ]]; then
  echo "== go vet / go test"
  (cd go_client && go vet ./... && go test ./...)
fi

echo "== pytest"
python -m pytest "$@"
