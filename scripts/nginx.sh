#!/usr/bin/env bash
# nginx (Debian's package) in front of the gateway replicas, in the foreground.
#
#   scripts/nginx.sh LISTEN UPSTREAM [UPSTREAM…]   e.g. scripts/nginx.sh 127.0.0.1:8080 127.0.0.1:5001 127.0.0.1:5002
#
# Renders deploy/nginx/nginx.conf.template into $MERCH_STATE_DIR/nginx/ and execs
# nginx there, so the caller's process id is nginx's master.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${MERCH_STATE_DIR:-$ROOT/.merch}/nginx"
[[ $# -ge 2 ]] || { echo "usage: $0 LISTEN UPSTREAM [UPSTREAM…]" >&2; exit 2; }
listen=$1; shift

if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  echo "installing nginx from Debian's packages" >&2
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq nginx-light >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

mkdir -p "$STATE"/tmp/{body,proxy,fastcgi,uwsgi,scgi}
upstreams=""
for server in "$@"; do
  # A replica that failed 3 times within 2 s (refused connections, 502/503) is skipped for 2 s.
  # One failure is not enough: a gateway answers 503 for a moment when a DB replica goes away.
  upstreams+="    server $server max_fails=3 fail_timeout=2s;"$'\n'
done
conf="$STATE/nginx.conf"
python3 - "$ROOT/deploy/nginx/nginx.conf.template" "$conf" "$STATE" "$listen" "$upstreams" <<'PY'
import sys
template, out, state, listen, upstreams = sys.argv[1:]
text = open(template).read()
text = text.replace("@STATE@", state).replace("@LISTEN@", listen).replace("@UPSTREAMS@", upstreams.rstrip("\n"))
open(out, "w").write(text)
PY
if [[ $(id -u) -eq 0 ]]; then
  # Workers run as nobody: they must be able to write the temp folders.
  chown -R nobody "$STATE/tmp"
  chmod o+x "$STATE" "$(dirname "$STATE")"
fi
"$NGINX" -t -q -p "$STATE" -c "$conf"
exec "$NGINX" -p "$STATE" -c "$conf"
