#!/usr/bin/env bash
# Run a local, single-node Apache Kafka 4.x broker for the merch store, from Apache's own Maven jars.
#
# KRaft combined mode (one JVM is both broker and controller, node.id=1, no ZooKeeper). The jars are
# pinned in scripts/kafka/pom.xml and resolved by Maven into one lib folder; no tarball, no Docker.
#
# Usage: scripts/kafka.sh <command> [args]
#   fetch                           resolve the jars into $KAFKA_LIB_DIR [<repo>/.tools/kafka-lib] (cached by pom hash)
#   start                           start the broker in the background, wait until it answers, create the
#                                   topic; prints the bootstrap address on stdout (messages go to stderr),
#                                   so  MERCH_KAFKA_BOOTSTRAP=$(scripts/kafka.sh start)  works
#   run                             the same in the foreground, for a supervisor: the script becomes the
#                                   broker JVM (exec, same pid); a detached helper creates the topic once
#                                   the broker answers
#   stop                            SIGTERM the broker, SIGKILL it after $KAFKA_STOP_TIMEOUT s; idempotent
#   status                          exit 0 if running and answering, 1 if running but not answering,
#                                   3 if not running
#   create-topic [name] [parts]     create a topic (default $MERCH_KAFKA_TOPIC, $KAFKA_PARTITIONS partitions)
#   consume [args]                  Kafka's ConsoleConsumer on $MERCH_KAFKA_TOPIC,
#                                   e.g. consume --from-beginning --max-messages 5 --formatter-property print.key=true
#                                   (--property still works in 4.4, with a deprecation warning)
#   produce [args]                  Kafka's ConsoleProducer on $MERCH_KAFKA_TOPIC: one record per stdin line
#   producer-perf [args]            Kafka's ProducerPerformance on $MERCH_KAFKA_TOPIC,
#                                   e.g. producer-perf --num-records 100000 --record-size 200 --throughput -1
#                                   (Kafka 4.4 names: --command-property acks=all, --command-config FILE)
#   topics [args]                   Kafka's TopicCommand, e.g. topics --describe --topic log-channel
#
# The tool commands add --bootstrap-server / --topic themselves unless you pass your own.
#
# Environment (defaults in brackets):
#   MERCH_STATE_DIR        [<repo>/.merch]  broker state lives in $MERCH_STATE_DIR/kafka/:
#                          data/ (log dirs + KRaft metadata), logs/ (server.log, gc.log,
#                          kafka.out), server.properties (rewritten on each start), kafka.pid, cluster.id
#   KAFKA_PORT             [9092]   client listener, PLAINTEXT on 127.0.0.1
#   KAFKA_CONTROLLER_PORT  [9093]   KRaft controller listener on 127.0.0.1
#   KAFKA_HEAP             [-Xmx512m -Xms256m]
#   KAFKA_OPTS             []       extra JVM options for the broker
#   KAFKA_TOOLS_HEAP       [-Xmx256m]  heap of the consume, produce and producer-perf JVMs
#   MERCH_KAFKA_TOPIC      [log-channel]
#   KAFKA_PARTITIONS       [3]
#   KAFKA_READY_TIMEOUT    [90]     seconds start/run wait for the broker to answer
#   KAFKA_STOP_TIMEOUT     [60]     seconds stop waits after SIGTERM before SIGKILL
#   MERCH_KAFKA_BOOTSTRAP  [127.0.0.1:$KAFKA_PORT]  where the tool commands connect (start/stop/status
#                          always mean the local broker of this state dir)
#   JAVA_HOME              java is $JAVA_HOME/bin/java if set, else java on PATH (17 or newer)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SUPPORT_DIR=$SCRIPT_DIR/kafka
POM=$SUPPORT_DIR/pom.xml

# The environment and .env, resolved as every process resolves them.
# shellcheck source=scripts/settings.sh
. "$SCRIPT_DIR/settings.sh"
MERCH_STATE_DIR=${MERCH_STATE_DIR:-$REPO_ROOT/.merch}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${KAFKA_HEAP:--Xmx512m -Xms256m}
KAFKA_OPTS=${KAFKA_OPTS:-}
KAFKA_TOOLS_HEAP=${KAFKA_TOOLS_HEAP:--Xmx256m}
MERCH_KAFKA_TOPIC=${MERCH_KAFKA_TOPIC:-log-channel}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-3}
KAFKA_READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}

# server.properties holds absolute paths, so a relative state dir is taken from the current directory.
[[ $MERCH_STATE_DIR == /* ]] || MERCH_STATE_DIR=$PWD/$MERCH_STATE_DIR

KAFKA_DIR=$MERCH_STATE_DIR/kafka
LIB_DIR=${KAFKA_LIB_DIR:-$REPO_ROOT/.tools/kafka-lib}  # jars are tools, shared by every state dir
DATA_DIR=$KAFKA_DIR/data
LOG_DIR=$KAFKA_DIR/logs
CONFIG=$KAFKA_DIR/server.properties
PROBE_CONFIG=$KAFKA_DIR/probe-admin.properties
PID_FILE=$KAFKA_DIR/kafka.pid
CLUSTER_ID_FILE=$KAFKA_DIR/cluster.id
LOCAL_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
TOOLS_BOOTSTRAP=${MERCH_KAFKA_BOOTSTRAP:-$LOCAL_BOOTSTRAP}

if [[ -n ${JAVA_HOME:-} ]]; then JAVA=$JAVA_HOME/bin/java; else JAVA=java; fi

# Word-split the heap/option strings on purpose: they hold several JVM flags.
read -r -a BROKER_HEAP <<<"$KAFKA_HEAP"
read -r -a BROKER_EXTRA <<<"$KAFKA_OPTS"
read -r -a TOOLS_HEAP <<<"$KAFKA_TOOLS_HEAP"

# The broker's JVM flags, as Kafka's own kafka-run-class.sh sets them, plus a GC log for benchmarks.
BROKER_JVM=(
  "${BROKER_HEAP[@]}"
  -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Xlog:gc*:file=$LOG_DIR/gc.log:time,tags:filecount=3,filesize=10M"
  "-Dkafka.logs.dir=$LOG_DIR"
  "-Dlog4j2.configurationFile=$SUPPORT_DIR/log4j2.properties"
  "${BROKER_EXTRA[@]}"
)
TOOLS_JVM=(
  "${TOOLS_HEAP[@]}" -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$SUPPORT_DIR/tools-log4j2.properties"
)
# Short-lived admin calls (readiness probes, topic creation) start faster without the C2 compiler.
QUICK_JVM=(
  -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$SUPPORT_DIR/tools-log4j2.properties"
)

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------- jars

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

jars_ready() {
  [[ -f $LIB_DIR/.pom.sha256 && $(<"$LIB_DIR/.pom.sha256") == "$(pom_hash)" ]]
}

# Resolve the pom's runtime dependencies into $LIB_DIR, unless the folder already matches the pom.
# Maven copies into a fresh folder that replaces lib/ only when complete, so an interrupted fetch
# never leaves a half-filled class path behind, and a changed pom leaves no stale jars.
fetch() {
  mkdir -p "$KAFKA_DIR"
  exec 8>"$KAFKA_DIR/.fetch.lock"
  flock 8 # two commands fetching at once would fight over lib/
  if jars_ready; then
    exec 8>&-
    return 0
  fi
  command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch the Kafka jars: apt-get install maven"
  say "resolving Kafka jars from $POM with Maven (first run, or the pom changed) ..."
  local started=$SECONDS tmp mvn_log=$KAFKA_DIR/fetch.log
  tmp=$(mktemp -d "$KAFKA_DIR/lib.tmp.XXXXXX")
  if ! mvn -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      "-DoutputDirectory=$tmp" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$mvn_log" >&2
    die "Maven could not resolve the Kafka jars (full output: $mvn_log)"
  fi
  pom_hash >"$tmp/.pom.sha256"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  say "jars ready in $LIB_DIR ($(find "$LIB_DIR" -name '*.jar' | wc -l) jars, $((SECONDS - started)) s)"
  exec 8>&-
}

check_java() {
  command -v "$JAVA" >/dev/null || die "java not found (install JDK 17+ or set JAVA_HOME)"
  local spec
  spec=$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')
  [[ $spec =~ ^[0-9]+$ && $spec -ge 17 ]] || die "Kafka 4 needs Java 17 or newer; $JAVA is Java ${spec:-unknown}"
}

# Run a Kafka class with the tools' logging (warnings on stderr). Usage: tool_java <jvm-flags-array-name> <class> [args]
tool_java() {
  local -n flags=$1
  shift
  "$JAVA" "${flags[@]}" -cp "$LIB_DIR/*" "$@"
}

# -------------------------------------------------------------------------------------- process state

# True if $1 is a live process (a zombie, i.e. exited but not yet reaped, counts as dead).
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# True if $1 is the broker of this state dir, not just any process that reused an old pid.
is_our_broker() {
  local cmdline
  pid_alive "$1" || return 1
  # (read into a variable: `tr | grep -q` would fail under pipefail when grep exits early)
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"kafka.Kafka $CONFIG"* ]]
}

# Print the pid from the pid file if it names our live broker.
running_pid() {
  local pid
  [[ -f $PID_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] && is_our_broker "$pid" || return 1
  echo "$pid"
}

port_open() {
  timeout 2 bash -c ": <>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Serialise start/run/stop on one state dir.
lock_lifecycle() {
  mkdir -p "$KAFKA_DIR"
  exec 9>"$KAFKA_DIR/.lifecycle.lock"
  flock 9
}

show_log_tail() {
  local f
  for f in "$LOG_DIR/kafka.out" "$LOG_DIR/server.log"; do
    [[ -s $f ]] || continue
    say "last lines of $f:"
    tail -n 25 "$f" >&2
  done
}

# --------------------------------------------------------------------------------------- config

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  # Rewritten on every start so that port and partition settings follow the environment. The static
  # voter list (rather than format --standalone) keeps the controller address out of the stored
  # metadata, so KAFKA_CONTROLLER_PORT may change between restarts.
  cat >"$CONFIG" <<EOF
# Generated by scripts/kafka.sh on every start: edits here are overwritten.
# Single-node KRaft, combined mode: this one process is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=$DATA_DIR
num.partitions=$KAFKA_PARTITIONS

# One broker: every replication factor and min ISR is 1, or internal topics can never be created.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# The defaults (50 partitions each) only slow down the first consumer group / transaction here.
offsets.topic.num.partitions=3
transaction.state.log.num.partitions=3
share.coordinator.state.topic.num.partitions=3

# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Topics are created explicitly (start / create-topic): a mistyped name fails instead of appearing.
auto.create.topics.enable=false
EOF

  # Settings for the readiness probe and scripted topic creation: fail fast rather than retry for a minute.
  cat >"$PROBE_CONFIG" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=8000
EOF
}

# Format the storage once. The cluster id is kept in the state dir; meta.properties in the data dir
# marks a formatted dir, so restarts reuse the data.
format_storage() {
  [[ -f $DATA_DIR/meta.properties ]] && return 0
  local cluster_id
  if [[ -s $CLUSTER_ID_FILE ]]; then
    cluster_id=$(<"$CLUSTER_ID_FILE")
  else
    cluster_id=$(tool_java QUICK_JVM kafka.tools.StorageTool random-uuid)
    echo "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  say "formatting $DATA_DIR (cluster id $cluster_id)"
  if ! tool_java QUICK_JVM kafka.tools.StorageTool format --ignore-formatted \
      -t "$cluster_id" -c "$CONFIG" >"$LOG_DIR/format.log" 2>&1; then
    cat "$LOG_DIR/format.log" >&2
    die "formatting the storage failed"
  fi
}

check_ports_free() {
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then
      die "port $port on 127.0.0.1 is already taken by another process (not the broker of $KAFKA_DIR); set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done
}

# ---------------------------------------------------------------------------------------- topics

# Create a topic on the local broker, quietly; output (errors) goes to the file named by $4.
create_topic_local() {
  local name=$1 partitions=$2 bootstrap=$3 out=$4
  tool_java QUICK_JVM org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --command-config "$PROBE_CONFIG" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor 1 >"$out" 2>&1
}

# Wait until broker $1 accepts connections and the topic exists. Polls; gives up when the process
# dies or after KAFKA_READY_TIMEOUT seconds. Creating the topic doubles as the readiness check: it
# only succeeds once the broker and its controller both serve requests.
wait_ready_and_create_topic() {
  local pid=$1 deadline=$((SECONDS + KAFKA_READY_TIMEOUT)) out
  out=$(mktemp)
  # Cheap first stage: the listener opens near the end of start-up, so poll it from bash (no JVM).
  until port_open "$KAFKA_PORT"; do
    pid_alive "$pid" || { rm -f "$out"; say "the broker (pid $pid) exited during start-up"; return 1; }
    ((SECONDS < deadline)) || { rm -f "$out"; say "no listener on $LOCAL_BOOTSTRAP after ${KAFKA_READY_TIMEOUT}s"; return 1; }
    sleep 0.2
  done
  until create_topic_local "$MERCH_KAFKA_TOPIC" "$KAFKA_PARTITIONS" "$LOCAL_BOOTSTRAP" "$out"; do
    pid_alive "$pid" || { rm -f "$out"; say "the broker (pid $pid) exited during start-up"; return 1; }
    if ((SECONDS >= deadline)); then
      cat "$out" >&2
      rm -f "$out"
      say "broker not answering on $LOCAL_BOOTSTRAP after ${KAFKA_READY_TIMEOUT}s"
      return 1
    fi
    sleep 0.5
  done
  rm -f "$out"
}

# ------------------------------------------------------------------------------------- subcommands

cmd_fetch() {
  fetch
  say "Kafka jars are in $LIB_DIR"
}

cmd_start() {
  lock_lifecycle
  check_java
  fetch
  local pid started=$SECONDS
  if pid=$(running_pid); then
    say "already running (pid $pid) from $KAFKA_DIR"
    wait_ready_and_create_topic "$pid" || die "the running broker is not answering (logs: $LOG_DIR)"
    echo "$LOCAL_BOOTSTRAP"
    return 0
  fi
  rm -f "$PID_FILE"
  check_ports_free
  write_config
  format_storage

  # setsid: the broker gets its own session, so neither Ctrl-C nor the closing of the caller's
  # terminal reaches it; only `stop` does. Without job control the child is no process-group leader,
  # so setsid execs java in place and $! is the JVM's pid. fds 8/9 (our locks) are not inherited.
  setsid "$JAVA" "${BROKER_JVM[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG" \
    </dev/null >>"$LOG_DIR/kafka.out" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  say "broker starting (pid $pid), logs in $LOG_DIR/server.log"

  if ! wait_ready_and_create_topic "$pid"; then
    show_log_tail
    stop_pid "$pid" >/dev/null 2>&1 || true
    rm -f "$PID_FILE"
    die "Kafka did not start"
  fi
  say "ready in $((SECONDS - started)) s: bootstrap $LOCAL_BOOTSTRAP, topic $MERCH_KAFKA_TOPIC ($KAFKA_PARTITIONS partitions)"
  echo "$LOCAL_BOOTSTRAP"
}

cmd_run() {
  lock_lifecycle
  check_java
  fetch
  local pid
  if pid=$(running_pid); then
    die "a broker from $KAFKA_DIR is already running (pid $pid); stop it first"
  fi
  check_ports_free
  write_config
  format_storage

  # exec keeps this pid, so the supervisor's pid, signals and exit status are the JVM's own.
  echo "$$" >"$PID_FILE"
  local broker_pid=$$
  # The topic is created by a helper that waits for the broker. The double fork detaches it, so
  # init reaps it instead of leaving a zombie under the JVM, which never waits for it.
  (
    (
      exec 8>&- 9>&-
      if wait_ready_and_create_topic "$broker_pid"; then
        say "ready: bootstrap $LOCAL_BOOTSTRAP, topic $MERCH_KAFKA_TOPIC ($KAFKA_PARTITIONS partitions)"
      else
        say "warning: topic $MERCH_KAFKA_TOPIC was not created; run: scripts/kafka.sh create-topic"
      fi
    ) </dev/null &
  )
  say "broker running in the foreground (pid $$), logs in $LOG_DIR/server.log"
  exec 9>&- 8>&-
  exec "$JAVA" "${BROKER_JVM[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG"
}

# SIGTERM (Kafka shuts down cleanly on it), wait, then SIGKILL the same pid.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || return 0
  while is_our_broker "$pid"; do
    if ((SECONDS >= deadline)); then
      say "pid $pid still alive after ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      local _
      for _ in {1..50}; do
        is_our_broker "$pid" || break
        sleep 0.1
      done
      break
    fi
    sleep 0.2
  done
}

cmd_stop() {
  lock_lifecycle
  local pid started=$SECONDS
  if ! pid=$(running_pid); then
    [[ -f $PID_FILE ]] && say "removing stale pid file (pid $(<"$PID_FILE") is not our broker)"
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping broker (pid $pid) ..."
  stop_pid "$pid"
  if is_our_broker "$pid"; then
    die "pid $pid did not exit even after SIGKILL"
  fi
  rm -f "$PID_FILE"
  say "stopped in $((SECONDS - started)) s"
}

cmd_status() {
  local pid
  if ! pid=$(running_pid); then
    say "not running (state dir $KAFKA_DIR)"
    return 3
  fi
  if port_open "$KAFKA_PORT" &&
      tool_java QUICK_JVM org.apache.kafka.tools.TopicCommand --bootstrap-server "$LOCAL_BOOTSTRAP" \
        --command-config "$PROBE_CONFIG" --list >/dev/null 2>&1; then
    say "running and ready (pid $pid), bootstrap $LOCAL_BOOTSTRAP"
    echo "$LOCAL_BOOTSTRAP"
    return 0
  fi
  say "running (pid $pid) but not answering on $LOCAL_BOOTSTRAP"
  return 1
}

cmd_create_topic() {
  local name=${1:-$MERCH_KAFKA_TOPIC} partitions=${2:-$KAFKA_PARTITIONS}
  fetch
  exec "$JAVA" "${QUICK_JVM[@]}" -cp "$LIB_DIR/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$TOOLS_BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor 1
}

# True if any of the remaining arguments equals $1.
has_arg() {
  local want=$1 a
  shift
  for a in "$@"; do [[ $a == "$want" ]] && return 0; done
  return 1
}

# Common defaults for the console tools: our bootstrap and topic unless the caller names their own.
cmd_console() {
  local class=$1
  shift
  local defaults=()
  has_arg --bootstrap-server "$@" || defaults+=(--bootstrap-server "$TOOLS_BOOTSTRAP")
  if ! has_arg --topic "$@" && ! has_arg --include "$@"; then defaults+=(--topic "$MERCH_KAFKA_TOPIC"); fi
  fetch
  exec "$JAVA" "${TOOLS_JVM[@]}" -cp "$LIB_DIR/*" "$class" "${defaults[@]}" "$@"
}

cmd_producer_perf() {
  local defaults=()
  has_arg --topic "$@" || defaults+=(--topic "$MERCH_KAFKA_TOPIC")
  # ProducerPerformance takes bootstrap.servers only as a producer property. Passing it through a
  # config file leaves --command-property (formerly --producer-props) free for the caller; properties
  # on the command line win over the file. (--command-config is Kafka 4.4's name for --producer.config.)
  if ! has_arg --producer.config "$@" && ! has_arg --command-config "$@"; then
    local client_config=$KAFKA_DIR/perf-producer.properties
    mkdir -p "$KAFKA_DIR"
    echo "bootstrap.servers=$TOOLS_BOOTSTRAP" >"$client_config"
    defaults+=(--command-config "$client_config")
  fi
  fetch
  exec "$JAVA" "${TOOLS_JVM[@]}" -cp "$LIB_DIR/*" org.apache.kafka.tools.ProducerPerformance \
    "${defaults[@]}" "$@"
}

cmd_topics() {
  local defaults=()
  has_arg --bootstrap-server "$@" || defaults+=(--bootstrap-server "$TOOLS_BOOTSTRAP")
  fetch
  exec "$JAVA" "${QUICK_JVM[@]}" -cp "$LIB_DIR/*" org.apache.kafka.tools.TopicCommand \
    "${defaults[@]}" "$@"
}

usage() {
  sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    run) cmd_run ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    create-topic) cmd_create_topic "$@" ;;
    consume) cmd_console org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
    produce) cmd_console org.apache.kafka.tools.ConsoleProducer "$@" ;;
    producer-perf) cmd_producer_perf "$@" ;;
    topics) cmd_topics "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
