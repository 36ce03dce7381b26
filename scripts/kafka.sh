#!/usr/bin/env bash
# A local single-node Apache Kafka 4.x (KRaft: one JVM is broker and controller) from Apache's own jars,
# which Maven resolves into one folder (pinned in scripts/kafka/pom.xml): no tarball, no Docker.
# Everything runs Kafka's own main classes: kafka.tools.StorageTool formats the storage once,
# kafka.Kafka is the broker, and the tools are TopicCommand, ConsoleConsumer, ConsoleProducer and
# ProducerPerformance. The broker's settings are deploy/kafka/server.properties (compose.yaml uses the
# same file) plus where this one listens and keeps its data. Starting in the background, waiting until
# it serves and stopping are the harness's (harness/kafka.py), which runs `kafka.sh run` in a process
# group of its own and stops that group.
#
# Usage: scripts/kafka.sh <command> [args]
#   start                        start the broker in the background, wait until it serves, create the topic;
#                                prints the bootstrap address:  MERCH_KAFKA_BOOTSTRAP=$(scripts/kafka.sh start)
#   stop                         stop the broker `start` left running (SIGTERM; SIGKILL after $KAFKA_STOP_TIMEOUT s)
#   status                       exit 0 if running and serving, 1 if running but not serving, 3 if not running
#   run                          the broker in the foreground (exec: this pid becomes the JVM's)
#   fetch                        resolve the jars into $KAFKA_LIB_DIR [<repo>/.tools/kafka-lib] (cached by pom hash)
#   create-topic [name] [parts]  create a topic (default $MERCH_KAFKA_TOPIC; partitions: the broker's default)
#   topics [args]                TopicCommand, e.g. topics --describe --topic log-channel
#   consume [args]               ConsoleConsumer on $MERCH_KAFKA_TOPIC,
#                                e.g. consume --from-beginning --max-messages 5 --formatter-property print.key=true
#   produce [args]               ConsoleProducer on $MERCH_KAFKA_TOPIC: one record per stdin line
#   producer-perf [args]         ProducerPerformance on $MERCH_KAFKA_TOPIC,
#                                e.g. producer-perf --num-records 100000 --record-size 200 --throughput -1
# The tools add --bootstrap-server / --topic themselves unless you pass your own.
#
# Environment (defaults in brackets):
#   MERCH_STATE_DIR        [<repo>/.merch]  the broker's state is in $MERCH_STATE_DIR/kafka/: data/, logs/
#                          (server.log, gc.log, kafka.out), server.properties (rewritten at each start), kafka.pid
#   KAFKA_PORT [9092], KAFKA_CONTROLLER_PORT [9093]   client and controller listeners on 127.0.0.1
#   KAFKA_HEAP [-Xmx512m -Xms256m], KAFKA_OPTS []      the broker JVM's heap and extra options
#   KAFKA_TOOLS_HEAP       [-Xmx256m]  heap of the consume, produce and producer-perf JVMs
#   MERCH_KAFKA_TOPIC      [log-channel]
#   KAFKA_PARTITIONS       [the broker's num.partitions]  partitions of topics created without a count
#   KAFKA_READY_TIMEOUT [90], KAFKA_STOP_TIMEOUT [60]  seconds start waits to serve, stop waits to exit
#   MERCH_KAFKA_BOOTSTRAP  [127.0.0.1:$KAFKA_PORT]  where the tools connect
#   JAVA_HOME              java is $JAVA_HOME/bin/java if set, else java on PATH (17 or newer)
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SUPPORT_DIR=$SCRIPT_DIR/kafka
POM=$SUPPORT_DIR/pom.xml
SHARED_CONFIG=$REPO_ROOT/deploy/kafka/server.properties

# shellcheck source=scripts/settings.sh
. "$SCRIPT_DIR/settings.sh"  # the environment and .env, resolved as every process resolves them
MERCH_STATE_DIR=${MERCH_STATE_DIR:-$REPO_ROOT/.merch}
[[ $MERCH_STATE_DIR == /* ]] || MERCH_STATE_DIR=$PWD/$MERCH_STATE_DIR  # server.properties holds absolute paths
export MERCH_STATE_DIR KAFKA_PORT=${KAFKA_PORT:-9092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
MERCH_KAFKA_TOPIC=${MERCH_KAFKA_TOPIC:-log-channel}
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-}
KAFKA_DIR=$MERCH_STATE_DIR/kafka
DATA_DIR=$KAFKA_DIR/data
LOG_DIR=$KAFKA_DIR/logs
CONFIG=$KAFKA_DIR/server.properties
LIB_DIR=${KAFKA_LIB_DIR:-$REPO_ROOT/.tools/kafka-lib}  # jars are tools, shared by every state dir
BOOTSTRAP=${MERCH_KAFKA_BOOTSTRAP:-127.0.0.1:$KAFKA_PORT}
if [[ -n ${JAVA_HOME:-} ]]; then JAVA=$JAVA_HOME/bin/java; else JAVA=java; fi

read -r -a BROKER_HEAP <<<"${KAFKA_HEAP:--Xmx512m -Xms256m}"
read -r -a BROKER_EXTRA <<<"${KAFKA_OPTS:-}"
read -r -a TOOLS_HEAP <<<"${KAFKA_TOOLS_HEAP:--Xmx256m}"
# The broker's JVM flags as Kafka's own kafka-run-class.sh sets them, plus a GC log for the benchmark.
BROKER_JVM=("${BROKER_HEAP[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Xlog:gc*:file=$LOG_DIR/gc.log:time,tags:filecount=3,filesize=10M" "-Dkafka.logs.dir=$LOG_DIR"
  "-Dlog4j2.configurationFile=$SUPPORT_DIR/log4j2.properties" "${BROKER_EXTRA[@]}")
# shellcheck disable=SC2034 # used through kafka_java's nameref
TOOLS_JVM=("${TOOLS_HEAP[@]}" -Djava.awt.headless=true "-Dlog4j2.configurationFile=$SUPPORT_DIR/tools-log4j2.properties")
# Short-lived admin tools start faster without the C2 compiler.
QUICK_JVM=(-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$SUPPORT_DIR/tools-log4j2.properties")

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The pom's runtime dependencies into $LIB_DIR, unless it already matches the pom. Maven fills a fresh
# folder that replaces the old one only when complete: an interrupted fetch leaves no half class path.
fetch() {
  local want tmp
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  mkdir -p "$(dirname "$LIB_DIR")"
  exec 8>"$LIB_DIR.lock"
  flock 8  # two fetches at once would fight over the folder
  if [[ $(cat "$LIB_DIR/.pom.sha256" 2>/dev/null) != "$want" ]]; then
    command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch the Kafka jars: apt-get install maven"
    say "resolving the Kafka jars of $POM with Maven ..."
    tmp=$(mktemp -d "$LIB_DIR.tmp.XXXXXX")
    if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies "-DoutputDirectory=$tmp" >"$tmp.log" 2>&1; then
      tail -n 40 "$tmp.log" >&2
      rm -rf "$tmp"
      die "Maven could not resolve the Kafka jars (its output: $tmp.log)"
    fi
    echo "$want" >"$tmp/.pom.sha256"
    rm -rf "$LIB_DIR" "$tmp.log"
    mv "$tmp" "$LIB_DIR"
  fi
  exec 8>&-
}

# java -cp <jars> with the given flags array name, class and arguments.
kafka_java() {
  local -n flags=$1
  shift
  fetch
  exec "$JAVA" "${flags[@]}" -cp "$LIB_DIR/*" "$@"
}

has_arg() {  # has_arg WANT ARGS…: true if WANT is one of ARGS
  local want=$1 a
  shift
  for a in "$@"; do [[ $a == "$want" ]] && return 0; done
  return 1
}

# The broker in the foreground: config written, storage formatted once, then exec (same pid) into the JVM.
run() {
  fetch
  local spec
  spec=$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}') ||
    die "java not found (install JDK 17+ or set JAVA_HOME)"
  [[ $spec =~ ^[0-9]+$ && $spec -ge 17 ]] || die "Kafka 4 needs Java 17 or newer; $JAVA is Java ${spec:-unknown}"
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  # A static voter list (not format --standalone) keeps the controller's address out of the stored
  # metadata, so KAFKA_CONTROLLER_PORT may change between starts. Later lines win over the shared file's.
  {
    echo "# Written by scripts/kafka.sh at every start: deploy/kafka/server.properties, then this broker's addresses."
    cat "$SHARED_CONFIG"
    echo
    echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT"
    echo "log.dirs=$DATA_DIR"
    if [[ -n $KAFKA_PARTITIONS ]]; then echo "num.partitions=$KAFKA_PARTITIONS"; fi
  } >"$CONFIG"
  if [[ ! -f $DATA_DIR/meta.properties ]]; then  # meta.properties marks a formatted data folder
    [[ -s $KAFKA_DIR/cluster.id ]] ||
      "$JAVA" "${QUICK_JVM[@]}" -cp "$LIB_DIR/*" kafka.tools.StorageTool random-uuid >"$KAFKA_DIR/cluster.id"
    say "formatting $DATA_DIR (cluster id $(<"$KAFKA_DIR/cluster.id"))"
    "$JAVA" "${QUICK_JVM[@]}" -cp "$LIB_DIR/*" kafka.tools.StorageTool format --ignore-formatted \
      -t "$(<"$KAFKA_DIR/cluster.id")" -c "$CONFIG" >"$LOG_DIR/format.log" 2>&1 ||
      { cat "$LOG_DIR/format.log" >&2; die "formatting the storage failed"; }
  fi
  echo "$$" >"$KAFKA_DIR/kafka.pid"
  exec "$JAVA" "${BROKER_JVM[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG"
}

# start / stop / status: the harness, with the repository's Python.
harness() {
  local python=$REPO_ROOT/.venv/bin/python
  [[ -x $python ]] || die "$python is missing: run 'make setup' first"
  cd "$REPO_ROOT" && exec "$python" -m harness kafka "$@"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  fetch) fetch ;;
  run) run ;;
  start | stop | status) harness "$cmd" ;;
  create-topic)
    partitions=${2:-$KAFKA_PARTITIONS}
    kafka_java QUICK_JVM org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create \
      --if-not-exists --topic "${1:-$MERCH_KAFKA_TOPIC}" ${partitions:+--partitions "$partitions"} ;;
  topics)
    defaults=()
    has_arg --bootstrap-server "$@" || defaults+=(--bootstrap-server "$BOOTSTRAP")
    kafka_java QUICK_JVM org.apache.kafka.tools.TopicCommand "${defaults[@]}" "$@" ;;
  consume | produce)
    class=org.apache.kafka.tools.ConsoleProducer
    [[ $cmd == consume ]] && class=org.apache.kafka.tools.consumer.ConsoleConsumer
    defaults=()
    has_arg --bootstrap-server "$@" || defaults+=(--bootstrap-server "$BOOTSTRAP")
    has_arg --topic "$@" || has_arg --include "$@" || defaults+=(--topic "$MERCH_KAFKA_TOPIC")
    kafka_java TOOLS_JVM "$class" "${defaults[@]}" "$@" ;;
  producer-perf)
    # ProducerPerformance takes the bootstrap only as a producer property: a config file leaves
    # --command-property free for the caller (Kafka 4.4 names; properties on the command line win).
    defaults=()
    has_arg --topic "$@" || defaults+=(--topic "$MERCH_KAFKA_TOPIC")
    if ! has_arg --producer.config "$@" && ! has_arg --command-config "$@"; then
      mkdir -p "$KAFKA_DIR"
      echo "bootstrap.servers=$BOOTSTRAP" >"$KAFKA_DIR/perf-producer.properties"
      defaults+=(--command-config "$KAFKA_DIR/perf-producer.properties")
    fi
    kafka_java TOOLS_JVM org.apache.kafka.tools.ProducerPerformance "${defaults[@]}" "$@" ;;
  -h | --help | help) sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
  *) sed -n '11,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
