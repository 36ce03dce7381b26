#!/usr/bin/env bash
# The whole store scaled out on loopback, in the foreground (`make stack`):
# PostgreSQL, Kafka (KRaft), 2 DB services, 1 logging service, 3 REST gateways, nginx, and
# Prometheus scraping the services' and gateways' metrics.
# Waits for each part by polling its health, prints where everything is, and on
# Ctrl-C (or SIGTERM) stops every process it started, by process id, in reverse order.
# Data (PostgreSQL, Kafka) stays in $MERCH_STATE_DIR between runs. Settings come from the
# environment and `.env` (the environment winning), resolved as every process resolves them; the
# stack sets the database, Kafka and service addresses itself. A taken port stops it before
# anything starts, and a part counts as ready only when the process this run started listens on
# its port and answers healthy.
#
# Ports can be moved with STACK_PG_PORT, KAFKA_PORT, KAFKA_CONTROLLER_PORT, STACK_LOG_PORT,
# STACK_DB_PORTS ("50051 50061"), STACK_REST_PORTS ("5001 5002 5003") and STACK_NGINX_PORT; the metrics
# ports with STACK_LOG_METRICS_PORT (9452), STACK_DB_METRICS_PORTS ("9451 9461") and STACK_PROMETHEUS_PORT (9090).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
# shellcheck source=scripts/settings.sh
. scripts/settings.sh
export MERCH_STATE_DIR="${MERCH_STATE_DIR:-$ROOT/.merch}"
RUN_DIR=$MERCH_STATE_DIR/stack
mkdir -p "$RUN_DIR"
rm -f "$RUN_DIR/ready"

START_TIMEOUT=${MERCH_START_TIMEOUT:-120}  # seconds a part may take to become ready
PG_PORT=${STACK_PG_PORT:-54329}
LOG_PORT=${STACK_LOG_PORT:-50052}
read -r -a DB_PORTS <<<"${STACK_DB_PORTS:-50051 50061}"
read -r -a REST_PORTS <<<"${STACK_REST_PORTS:-5001 5002 5003}"
NGINX_PORT=${STACK_NGINX_PORT:-8080}
LOG_METRICS_PORT=${STACK_LOG_METRICS_PORT:-9452}
read -r -a DB_METRICS_PORTS <<<"${STACK_DB_METRICS_PORTS:-9451 9461}"
PROMETHEUS_PORT=${STACK_PROMETHEUS_PORT:-9090}
for i in "${!DB_PORTS[@]}"; do DB_METRICS_PORTS[i]=${DB_METRICS_PORTS[i]:-$((9451 + 10 * i))}; done

# The ports of the processes this script runs itself (postgres.sh and kafka.sh check their own).
"$PY" -m py_server.devrun free "STACK_LOG_PORT=127.0.0.1:$LOG_PORT" \
  $(for p in "${DB_PORTS[@]}"; do echo "STACK_DB_PORTS=127.0.0.1:$p"; done) \
  $(for p in "${REST_PORTS[@]}"; do echo "STACK_REST_PORTS=127.0.0.1:$p"; done) \
  "STACK_NGINX_PORT=127.0.0.1:$NGINX_PORT" "STACK_LOG_METRICS_PORT=127.0.0.1:$LOG_METRICS_PORT" \
  $(for p in "${DB_METRICS_PORTS[@]}"; do echo "STACK_DB_METRICS_PORTS=127.0.0.1:$p"; done) \
  "STACK_PROMETHEUS_PORT=127.0.0.1:$PROMETHEUS_PORT" || exit 1

names=() pids=() started_pg=0 started_kafka=0

stop_all() {
  trap - INT TERM EXIT
  echo "stopping the stack" >&2
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
    rm -f "$RUN_DIR/${names[i]}.pid"
  done
  ((started_kafka)) && scripts/kafka.sh stop >&2 || true
  ((started_pg)) && PGDATA="$MERCH_STATE_DIR/postgres" PGPORT=$PG_PORT scripts/postgres.sh stop || true
  echo "stack stopped" >&2
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# launch NAME COMMAND…: runs COMMAND in the background, its output in $RUN_DIR/NAME.log.
launch() {
  local name=$1; shift
  "$@" >"$RUN_DIR/$name.log" 2>&1 &
  names+=("$name") pids+=($!)
  echo $! >"$RUN_DIR/$name.pid"
}

# ready NAME TARGET: waits until the process launched as NAME listens on TARGET and answers healthy.
ready() {
  local name=$1 target=$2 code=0 i
  for i in "${!names[@]}"; do [[ ${names[i]} == "$name" ]] && break; done
  "$PY" -m py_server.devrun wait "${pids[i]}" "$target" --timeout "$START_TIMEOUT" || code=$?
  case $code in
    0) ;;
    3) echo "$name exited during start-up: $(grep -v '^[[:space:]]*$' "$RUN_DIR/$name.log" | tail -n 1); see $RUN_DIR/$name.log" >&2
       exit 1 ;;
    *) echo "$name did not become ready at $target within $START_TIMEOUT s; see $RUN_DIR/$name.log" >&2; exit 1 ;;
  esac
}

export MERCH_DATABASE_URL
MERCH_DATABASE_URL=$(PGDATA="$MERCH_STATE_DIR/postgres" PGPORT=$PG_PORT scripts/postgres.sh start)
started_pg=1
echo "PostgreSQL      $MERCH_DATABASE_URL"

export MERCH_KAFKA_BOOTSTRAP
MERCH_KAFKA_BOOTSTRAP=$(scripts/kafka.sh start)
started_kafka=1
echo "Kafka           $MERCH_KAFKA_BOOTSTRAP (topic ${MERCH_KAFKA_TOPIC:-log-channel})"

export MERCH_LOG_ADDR=127.0.0.1:$LOG_PORT
MERCH_LOG_METRICS_BIND=127.0.0.1:$LOG_METRICS_PORT launch logging "$PY" -m py_server.logging_service --bind "$MERCH_LOG_ADDR"
ready logging "$MERCH_LOG_ADDR"
echo "logging service $MERCH_LOG_ADDR"

db_addrs=()
for i in "${!DB_PORTS[@]}"; do
  addr=127.0.0.1:${DB_PORTS[i]}
  MERCH_DB_METRICS_BIND=127.0.0.1:${DB_METRICS_PORTS[i]} launch "db$((i + 1))" "$PY" -m py_server.db_service --bind "$addr"
  db_addrs+=("$addr")
done
for i in "${!db_addrs[@]}"; do
  ready "db$((i + 1))" "${db_addrs[i]}"
done
export MERCH_DB_ADDR
MERCH_DB_ADDR=$(IFS=,; echo "${db_addrs[*]}")
echo "DB services     $MERCH_DB_ADDR (round-robin from every client)"

rest_addrs=()
for i in "${!REST_PORTS[@]}"; do
  addr=127.0.0.1:${REST_PORTS[i]}
  MERCH_REST_BIND=$addr launch "gateway$((i + 1))" "$PY" -m api_rest
  rest_addrs+=("$addr")
done
for i in "${!rest_addrs[@]}"; do
  ready "gateway$((i + 1))" "http://${rest_addrs[i]}/"
done
echo "gateways        ${rest_addrs[*]}"

launch nginx scripts/nginx.sh "127.0.0.1:$NGINX_PORT" "${rest_addrs[@]}"
ready nginx "http://127.0.0.1:$NGINX_PORT/"
echo "nginx           http://127.0.0.1:$NGINX_PORT  (Swagger UI: /docs; X-Upstream names the replica)"
db_metrics=()
for i in "${!DB_PORTS[@]}"; do db_metrics+=("127.0.0.1:${DB_METRICS_PORTS[i]}"); done
launch prometheus scripts/prometheus.sh "127.0.0.1:$PROMETHEUS_PORT" \
  "api_rest=$(IFS=,; echo "${rest_addrs[*]}")" "db_service=$(IFS=,; echo "${db_metrics[*]}")" \
  "logging_service=127.0.0.1:$LOG_METRICS_PORT"
ready prometheus "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
echo "Prometheus      http://127.0.0.1:$PROMETHEUS_PORT  (targets: /targets; metrics: each gateway's /metrics,"
echo "                DB services ${db_metrics[*]}, logging service 127.0.0.1:$LOG_METRICS_PORT)"
echo "logs and pids   $RUN_DIR"
echo "The stack is up. Ctrl-C stops it."
touch "$RUN_DIR/ready"  # tests wait for this file

# Runs until interrupted; a crashed part is reported but does not stop the rest.
while true; do
  wait -n "${pids[@]}" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[i]}" 2>/dev/null && [[ -f "$RUN_DIR/${names[i]}.pid" ]]; then
      echo "${names[i]} (pid ${pids[i]}) exited; see $RUN_DIR/${names[i]}.log" >&2
      rm -f "$RUN_DIR/${names[i]}.pid"
    fi
  done
  sleep 1
done
