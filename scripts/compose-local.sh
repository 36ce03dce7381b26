#!/usr/bin/env bash
# `docker compose` on a machine where no image registry answers: local stand-in images instead of the
# official ones. Usage, from the repository root, with a .env holding the secrets (see .env.example):
#
#   scripts/compose-local.sh up --build --wait
#   scripts/compose-local.sh ps | logs | restart | down -v ...
#
# Installs Debian's docker.io and mmdebstrap and the Compose v2/buildx plugins if missing, starts dockerd
# if no engine answers (it keeps running; the pid is printed, stop it with scripts/docker-host.sh stop PID),
# builds the stand-ins once (scripts/images.sh), exports MERCH_*_IMAGE and MERCH_EXTRA_CA_FILE, and runs
# `docker compose` with your arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
pid=$(scripts/docker-host.sh start)
[[ -z $pid ]] || echo "compose-local: started dockerd (pid $pid); stop it with: scripts/docker-host.sh stop $pid" >&2
eval "$(scripts/docker-host.sh env)"
eval "$(scripts/images.sh)"
exec docker compose "$@"
