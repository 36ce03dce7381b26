#!/usr/bin/env bash
# `make bench`: the store side by side with its anchors, on loopback (see bench/run.py).
#
#   scripts/bench.sh            full run: 5 interleaved repetitions of 10 s per side, profiles; ~12 minutes;
#                               writes bench/results/ (results.json, summary.md, PNG charts, flame graphs)
#   scripts/bench.sh --quick    a few seconds per scenario: proves the harness works (tests run it)
#   scripts/bench.sh --only P1,P4 --reps 5 --out /tmp/b …   any option of `python -m bench --help`
#
# Installs what it needs and lacks: ghz and vegeta (pinned, with `go install` into .tools/bin; vegeta
# sends the fixed-rate HTTP load evenly spaced) and Debian's wrk. PostgreSQL (pgbench) and nginx come
# from scripts/postgres.sh and scripts/nginx.sh,
# the Kafka jars from scripts/kafka.sh; matplotlib and py-spy are pinned in requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

GHZ_VERSION=v0.120.0
go_tool ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION"
VEGETA_VERSION=v12.13.0
go_tool vegeta github.com/tsenart/vegeta/v12 "$VEGETA_VERSION"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} from Debian's packages" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=.venv/bin/python
if ! "$PY" -c "import matplotlib" 2>/dev/null || [[ ! -x .venv/bin/py-spy ]]; then
  echo "bench: matplotlib or py-spy missing from .venv; run 'make setup' first" >&2
  exit 1
fi
exec "$PY" -m bench "$@"
