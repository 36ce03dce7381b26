#!/usr/bin/env bash
# A PostgreSQL server from Debian's packages, on loopback, for tests and local stacks.
#
#   scripts/postgres.sh start   # init (first time) and start; prints the database URL
#   scripts/postgres.sh stop    # fast shutdown (pg_ctl signals the postmaster's own PID)
#   scripts/postgres.sh url     # the database URL
#
# PGDATA (default $MERCH_STATE_DIR/postgres) keeps the data between runs.
# PGPORT defaults to 54329 so a system PostgreSQL on 5432 is left alone.
# Authentication is `trust` on loopback only: a local throwaway, never a deployment.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# The environment and .env, resolved as every process resolves them.
# shellcheck source=scripts/settings.sh
. "$ROOT/scripts/settings.sh"
STATE_DIR="${MERCH_STATE_DIR:-$ROOT/.merch}"
PGDATA="${PGDATA:-$STATE_DIR/postgres}"
PGPORT="${PGPORT:-54329}"
PGUSER_NAME="${PGUSER_NAME:-merch}"
PGDATABASE_NAME="${PGDATABASE_NAME:-merch}"

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$dir" ]]; then
    echo "installing PostgreSQL from Debian's packages" >&2
    if [[ $(id -u) -eq 0 ]]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$dir"
}

# PostgreSQL refuses to run as root: as root, run it as the `postgres` system user.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql://$PGUSER_NAME@127.0.0.1:$PGPORT/$PGDATABASE_NAME"; }

start() {
  local bin
  bin=$(pg_bin)
  mkdir -p "$PGDATA"
  if [[ $(id -u) -eq 0 ]]; then
    # The postgres user must be able to reach its data folder.
    chmod o+x "$(dirname "$PGDATA")"
    chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
  fi
  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    as_owner "$bin/initdb" -D "$PGDATA" -U "$PGUSER_NAME" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_owner "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    echo "PostgreSQL already running in $PGDATA" >&2
  else
    # -w waits until the server accepts connections (pg_ctl polls; no sleeps here).
    as_owner "$bin/pg_ctl" -D "$PGDATA" -w -t 60 -l "$PGDATA/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c max_connections=${PG_MAX_CONNECTIONS:-200} -c fsync=${PG_FSYNC:-on}" \
      start >/dev/null
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER_NAME" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE_NAME'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER_NAME" "$PGDATABASE_NAME"
  fi
  url
}

stop() {
  local bin
  bin=$(pg_bin)
  if [[ -f "$PGDATA/postmaster.pid" ]]; then
    as_owner "$bin/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
