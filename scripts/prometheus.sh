#!/usr/bin/env bash
# Prometheus (Debian's package) scraping the store's processes, in the foreground.
#
#   scripts/prometheus.sh LISTEN JOB=TARGET[,TARGET…] [JOB=TARGET…]
#   e.g. scripts/prometheus.sh 127.0.0.1:9090 api_rest=127.0.0.1:5001,127.0.0.1:5002 db_service=127.0.0.1:9451
#
# Writes $MERCH_STATE_DIR/prometheus/prometheus.yml (every target at /metrics, and Prometheus
# itself as job `prometheus`) and execs Prometheus with its data beside it, so the caller's
# process id is Prometheus's. PROMETHEUS_SCRAPE_INTERVAL (default 5s) sets how often it scrapes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${MERCH_STATE_DIR:-$ROOT/.merch}/prometheus"
[[ $# -ge 2 ]] || { echo "usage: $0 LISTEN JOB=TARGET[,TARGET…] [JOB=TARGET…]" >&2; exit 2; }
listen=$1; shift
interval=${PROMETHEUS_SCRAPE_INTERVAL:-5s}

if ! command -v prometheus >/dev/null; then
  echo "installing prometheus from Debian's packages" >&2
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

mkdir -p "$STATE/data"
conf="$STATE/prometheus.yml"
{
  echo "# Written by scripts/prometheus.sh; rewritten at every start."
  echo "global:"
  echo "  scrape_interval: $interval"
  echo "  evaluation_interval: $interval"
  echo "scrape_configs:"
  echo "  - job_name: prometheus"
  echo "    static_configs:"
  echo "      - targets: ['$listen']"
  for job in "$@"; do
    name=${job%%=*} targets=${job#*=}
    [[ $name != "$job" && -n $targets ]] || { echo "not JOB=TARGET[,TARGET…]: $job" >&2; exit 2; }
    echo "  - job_name: $name"
    echo "    static_configs:"
    echo "      - targets: ['${targets//,/"', '"}']"
  done
} >"$conf"
exec prometheus --config.file="$conf" --storage.tsdb.path="$STATE/data" --web.listen-address="$listen" \
  --storage.tsdb.retention.time=7d --log.level=warn
