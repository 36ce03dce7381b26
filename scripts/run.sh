#!/usr/bin/env bash
# `make run`: the store on its embedded defaults in the foreground (the logging service with a JSONL
# file, the DB service with SQLite, the REST gateway). What it does and promises: harness/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || { echo "run: .venv is missing: start the store with 'make run', which sets it up" >&2; exit 1; }
exec .venv/bin/python -m harness run
