#!/usr/bin/env bash
# Starts the store on its embedded defaults (SQLite, JSONL logs) in the foreground.
# Ctrl-C stops every process it started, by process id, in reverse order.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
pids=()

stop_all() {
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap stop_all INT TERM EXIT

wait_healthy() {  # wait_healthy NAME ADDRESS
  local deadline=$((SECONDS + 30))
  until .tools/bin/grpcurl -plaintext -max-time 1 "$2" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; do
    if ((SECONDS > deadline)); then echo "$1 did not become healthy on $2" >&2; exit 1; fi
    sleep 0.2
  done
  echo "$1 ready on $2"
}

$PY -m py_server.logging_service & pids+=($!)
wait_healthy "logging service" "${MERCH_LOG_BIND:-127.0.0.1:50052}"
$PY -m py_server.db_service & pids+=($!)
wait_healthy "DB service" "${MERCH_DB_BIND:-127.0.0.1:50051}"

echo "The store is running. Ctrl-C stops it."
wait -n "${pids[@]}"
