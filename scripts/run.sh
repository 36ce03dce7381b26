#!/usr/bin/env bash
# Starts the store on its embedded defaults in the foreground: the logging service
# (JSONL file), the DB service (SQLite) and the REST gateway.
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
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_healthy() {  # wait_healthy NAME TARGET: a gRPC address (health service) or an http:// URL
  local deadline=$((SECONDS + 30))
  until $PY -m py_server.healthcheck "$2"; do
    if ((SECONDS > deadline)); then echo "$1 did not become healthy at $2" >&2; exit 1; fi
    sleep 0.2
  done
  echo "$1 ready at $2"
}

$PY -m py_server.logging_service & pids+=($!)
wait_healthy "logging service" "${MERCH_LOG_BIND:-127.0.0.1:50052}"
$PY -m py_server.db_service & pids+=($!)
wait_healthy "DB service" "${MERCH_DB_BIND:-127.0.0.1:50051}"
$PY -m api_rest & pids+=($!)
wait_healthy "REST gateway" "http://${MERCH_REST_BIND:-127.0.0.1:5000}/healthz"

echo "The store is running: REST on http://${MERCH_REST_BIND:-127.0.0.1:5000} (Swagger UI at /docs). Ctrl-C stops it."
wait -n "${pids[@]}"
