#!/usr/bin/env bash
# A Docker engine for `make test-compose`, from Debian's packages only (no image registry needed).
#
# Usage: scripts/docker-host.sh <command>
#   install   install the pinned docker.io and mmdebstrap (apt), and the Compose v2 and buildx CLI
#             plugins unpacked from a newer Debian suite's packages into .tools/docker/cli-plugins
#             (bookworm itself has only Compose v1); idempotent
#   start     install, then start dockerd in the background unless an engine already answers on
#             $DOCKER_HOST (default /var/run/docker.sock); prints the pid of the dockerd it started,
#             or nothing if it reused a running engine
#   stop PID  stop the dockerd with that pid (only one that `start` started: the pid file is checked),
#             SIGTERM then SIGKILL after $DOCKERD_STOP_TIMEOUT s
#   env       print the environment to use the engine and the plugins (eval "$(scripts/docker-host.sh env)")
#
# Environment: DOCKERD_READY_TIMEOUT [90], DOCKERD_STOP_TIMEOUT [60].
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Pinned packages. The plugins come from trixie (a released suite, so the versions stay put); they are
# static Go binaries and run on bookworm's libc. Compose v2 + buildx work against dockerd 20.10.
DOCKER_IO_VERSION=20.10.24+dfsg1-1+deb12u1+b6
MMDEBSTRAP_VERSION=1.3.5-7
PLUGIN_SUITE=trixie
COMPOSE_DEB_VERSION=2.26.1-4
BUILDX_DEB_VERSION=0.13.1+ds1-3
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

DOCKERD_READY_TIMEOUT=${DOCKERD_READY_TIMEOUT:-90}
DOCKERD_STOP_TIMEOUT=${DOCKERD_STOP_TIMEOUT:-60}
STATE=$REPO_ROOT/.tools/docker
export DOCKER_CONFIG=$STATE/config
PLUGINS=$DOCKER_CONFIG/cli-plugins

say() { printf 'docker-host: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# "installed <version>", or what dpkg says otherwise (a removed package keeps its version: "config-files ...").
installed() { dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || true; }

install_debs() {
  local need=()
  [[ $(installed docker.io) == "installed $DOCKER_IO_VERSION" ]] || need+=("docker.io=$DOCKER_IO_VERSION")
  [[ $(installed mmdebstrap) == "installed $MMDEBSTRAP_VERSION" ]] || need+=("mmdebstrap=$MMDEBSTRAP_VERSION")
  ((${#need[@]})) || return 0
  say "installing Debian packages: ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# The Compose and buildx plugins: fetched with a private apt configuration (the machine's own sources
# stay untouched), then unpacked into the plugin folder of our DOCKER_CONFIG.
install_plugins() {
  local stamp=$PLUGINS/.versions want="compose=$COMPOSE_DEB_VERSION buildx=$BUILDX_DEB_VERSION"
  if [[ -x $PLUGINS/docker-compose && -x $PLUGINS/docker-buildx && $(cat "$stamp" 2>/dev/null) == "$want" ]]; then
    return 0
  fi
  say "fetching docker-compose $COMPOSE_DEB_VERSION and docker-buildx $BUILDX_DEB_VERSION from Debian $PLUGIN_SUITE"
  local apt=$STATE/apt tmp
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $PLUGIN_SUITE main" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=$apt/parts"
    -o "Dir::Etc::preferencesparts=$apt/prefs" -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
    -o Acquire::Check-Valid-Until=false -o APT::Get::List-Cleanup=0 -o Acquire::Languages=none)
  apt-get "${opts[@]}" update -qq
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt downloads as the _apt user
  (cd "$tmp" && apt-get "${opts[@]}" download -qq "docker-compose=$COMPOSE_DEB_VERSION" "docker-buildx=$BUILDX_DEB_VERSION")
  mkdir -p "$PLUGINS" "$tmp/x"
  local deb
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
  install -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGINS/docker-compose"
  install -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGINS/docker-buildx"
  rm -rf "$tmp"
  echo "$want" >"$stamp"
}

cmd_install() {
  install_debs
  install_plugins
}

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

cmd_start() {
  cmd_install
  if engine_answers; then
    say "using the Docker engine already running ($(docker version --format '{{.Server.Version}}'))"
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || die "starting dockerd needs root"
  mkdir -p "$STATE"
  # dockerd's own default data root (/var/lib/docker) keeps the built images between runs on this machine.
  setsid /usr/sbin/dockerd --pidfile "$STATE/dockerd.pid" </dev/null >>"$STATE/dockerd.log" 2>&1 &
  local pid=$! deadline=$((SECONDS + DOCKERD_READY_TIMEOUT))
  until engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$STATE/dockerd.log" >&2
      die "dockerd exited during start-up (log: $STATE/dockerd.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$STATE/dockerd.log" >&2
      kill -TERM "$pid" 2>/dev/null || true
      die "dockerd did not answer within ${DOCKERD_READY_TIMEOUT}s (log: $STATE/dockerd.log)"
    fi
    sleep 0.3
  done
  say "started dockerd (pid $pid), log in $STATE/dockerd.log"
  echo "$pid"
}

cmd_stop() {
  local pid=${1:-}
  [[ $pid =~ ^[0-9]+$ ]] || die "usage: stop PID"
  [[ -f $STATE/dockerd.pid && $(<"$STATE/dockerd.pid") == "$pid" ]] || die "pid $pid is not the dockerd started from $STATE"
  kill -TERM "$pid" 2>/dev/null || { say "dockerd (pid $pid) already gone"; return 0; }
  local deadline=$((SECONDS + DOCKERD_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "dockerd (pid $pid) still alive after ${DOCKERD_STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  say "stopped dockerd (pid $pid)"
}

cmd_env() {
  echo "export DOCKER_CONFIG=$DOCKER_CONFIG"
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  env) cmd_env ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
