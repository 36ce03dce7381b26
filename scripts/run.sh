#!/usr/bin/env bash
# Starts the store on its embedded defaults in the foreground (`make run`): the logging service
# (JSONL file), the DB service (SQLite) and the REST gateway.
#
# Settings come from the environment and `.env`, the environment winning, resolved by the same
# Python code every process uses (py_server/devrun.py). A taken address stops it before anything
# starts; a service counts as ready only when the process this run started listens on its address
# and answers healthy; a service that exits stops the rest, and the run exits non-zero with that
# service's last line. Ctrl-C stops every process it started, by process id, in reverse order.
# Each service's output also goes to $MERCH_STATE_DIR/run/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[[ -x $PY ]] || { echo "run: .venv is missing: start the store with 'make run', which sets it up" >&2; exit 1; }

# shellcheck source=scripts/settings.sh
. scripts/settings.sh
START_TIMEOUT=${MERCH_START_TIMEOUT:-120}  # seconds a service may take to become ready
# This run's processes talk to each other, never to another instance elsewhere.
read -r db log rest < <($PY -c 'import sys; from py_server.devrun import connectable
print(*map(connectable, sys.argv[1:]))' "$MERCH_DB_BIND" "$MERCH_LOG_BIND" "$MERCH_REST_BIND")
for pair in "MERCH_DB_ADDR $db" "MERCH_LOG_ADDR $log"; do
  read -r name addr <<<"$pair"
  if [[ ${!name} != "$addr" ]]; then
    echo "note: $name is ${!name}, but this run's service listens on $addr; clients that read $name (merchctl) will not reach it" >&2
  fi
done
export MERCH_DB_ADDR=$db MERCH_LOG_ADDR=$log

$PY -m py_server.devrun free "MERCH_LOG_BIND=$MERCH_LOG_BIND" "MERCH_DB_BIND=$MERCH_DB_BIND" \
  "MERCH_REST_BIND=$MERCH_REST_BIND" || exit 1

LOG_DIR=$MERCH_STATE_DIR/run
mkdir -p "$LOG_DIR"
names=() labels=() pids=()

stop_all() {
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# launch NAME LABEL COMMAND…: runs COMMAND in the background; its output goes to the terminal and
# to $LOG_DIR/NAME.log (tee ignores Ctrl-C, so the service's last lines are still written).
launch() {
  local name=$1 label=$2; shift 2
  "$@" > >(trap '' INT TERM; exec tee "$LOG_DIR/$name.log") 2>&1 &
  names+=("$name") labels+=("$label") pids+=($!)
}

# died INDEX STATUS WHEN: reports how service INDEX ended, with its last line, and exits non-zero.
died() {
  local i=$1 status=$2 last
  sleep 0.2  # tee writes the last lines
  # The exception line of its last traceback, else its last line.
  last=$(awk '/^Traceback /{tb = 1; exc = ""} tb && /^[A-Za-z_][A-Za-z0-9_.]*(: |$)/{exc = $0}
              NF{last = $0} END{print (exc != "" ? exc : last)}' "$LOG_DIR/${names[i]}.log" 2>/dev/null || true)
  echo "${labels[i]} (pid ${pids[i]}) exited with status $status${3:-}: ${last:-no output}" >&2
  echo "stopping the store; the full output is in $LOG_DIR/${names[i]}.log" >&2
  exit 1
}

# start NAME LABEL TARGET COMMAND…: launches COMMAND and waits until it is ready at TARGET.
start() {
  local name=$1 label=$2 target=$3 code=0 status=0; shift 3
  launch "$name" "$label" "$@"
  $PY -m py_server.devrun wait "${pids[-1]}" "$target" --timeout "$START_TIMEOUT" || code=$?
  case $code in
    0) echo "$label ready at $target (pid ${pids[-1]})" ;;
    3) wait "${pids[-1]}" || status=$?
       died $((${#pids[@]} - 1)) "$status" " during start-up" ;;
    *) echo "$label (pid ${pids[-1]}) did not become healthy at $target within ${START_TIMEOUT}s; see $LOG_DIR/$name.log" >&2
       exit 1 ;;
  esac
}

start logging-service "logging service" "$log" $PY -m py_server.logging_service --bind "$MERCH_LOG_BIND"
start db-service "DB service" "$db" $PY -m py_server.db_service --bind "$MERCH_DB_BIND"
start rest-gateway "REST gateway" "http://$rest/healthz" $PY -m api_rest --bind "$MERCH_REST_BIND"

echo "The store is running: REST on http://$rest (Swagger UI at /docs), DB service $db, logging service $log. Ctrl-C stops it."
status=0
wait -n -p gone "${pids[@]}" || status=$?
# A service exits 0 only when a signal stopped it: Ctrl-C reaches every process of the terminal's group,
# and a service may be done before this shell has run its INT trap. That is a stop, not a failure.
((status == 0)) && exit 130
for i in "${!pids[@]}"; do
  [[ ${pids[i]} == "${gone:-}" ]] && died "$i" "$status"
done
exit 1
