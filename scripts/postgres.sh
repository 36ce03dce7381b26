#!/usr/bin/env bash
# A PostgreSQL server from Debian's packages, on loopback, for tests and local stacks (harness/postgres.py).
#
#   scripts/postgres.sh start   # init (first time) and start; prints the database URL
#   scripts/postgres.sh stop    # fast shutdown (pg_ctl signals the postmaster's own pid)
#   scripts/postgres.sh url     # the database URL
#
# PGDATA (default $MERCH_STATE_DIR/postgres) keeps the data between runs. PGPORT defaults to 54329 so a
# system PostgreSQL on 5432 is left alone. Authentication is `trust` on loopback only: a local throwaway.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/settings.sh
. scripts/settings.sh  # the environment and .env, resolved as every process resolves them
exec .venv/bin/python -m harness postgres "$@"
