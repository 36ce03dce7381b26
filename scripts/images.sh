#!/usr/bin/env bash
# Build local stand-ins for every image compose.yaml uses, from Debian's packages and Maven Central only,
# for machines where no image registry answers. Each gets a name of its own (sustech-merch-local/*),
# never an official image's name; compose.yaml picks them up through its MERCH_*_IMAGE variables.
#
# Usage: scripts/images.sh            build what is missing; print the variables as `export` lines:
#                                     eval "$(scripts/images.sh)"; docker compose up --build
#
# 1. A Debian bookworm root filesystem, made with mmdebstrap from the Debian mirror and kept as a tarball in
#    .tools/images/ (about 1-2 min once), imported with `docker import` as sustech-merch-local/debian.
# 2. On it, deploy/images/{python,postgres,kafka,nginx}/Dockerfile (apt over http; Kafka's jars come from
#    scripts/kafka.sh fetch, i.e. Maven and scripts/kafka/pom.xml), built in parallel.
# Every tag carries a hash of its inputs, so an image is rebuilt only when its inputs change; the tarball
# and the images are a cache, never required.
#
# Also written: .tools/images/extra-ca.pem, the host's extra CA certificates (Debian's local CA folder
# /usr/local/share/ca-certificates) for builds behind a TLS-intercepting proxy, passed to the Dockerfile
# as a BuildKit secret through MERCH_EXTRA_CA_FILE; it is never part of an image or of the repository.
#
# Needs a running Docker engine and mmdebstrap (scripts/docker-host.sh start).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PREFIX=sustech-merch-local
OUT=$REPO_ROOT/.tools/images
LOGS=$OUT/logs

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
hash_of() { sha256sum | cut -c1-12; }

mkdir -p "$OUT" "$LOGS"

# ------------------------------------------------------------------------------------------ base
# shellcheck disable=SC2016 # the customize hook's $1 is expanded by mmdebstrap
MMDEBSTRAP_ARGS=(
  --variant=minbase --mode=root --include=ca-certificates
  --aptopt='Acquire::Languages "none"'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  # The JRE's install scripts need this folder even with the man pages left out ($1: the new root).
  --customize-hook='mkdir -p "$1/usr/share/man/man1"'
)
base_key=$(printf '%s\n' "$SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" "${MMDEBSTRAP_ARGS[@]}" | hash_of)
BASE_IMAGE=$PREFIX/debian:$SUITE-$base_key
rootfs=$OUT/rootfs-$SUITE-$base_key.tar
if ! image_exists "$BASE_IMAGE"; then
  if [[ ! -s $rootfs ]]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (scripts/docker-host.sh install)"
    say "building the $SUITE root filesystem with mmdebstrap (1-2 min) ..."
    started=$SECONDS
    if ! mmdebstrap --format=tar "${MMDEBSTRAP_ARGS[@]}" "$SUITE" "$rootfs.tmp" \
        "deb $DEBIAN_MIRROR $SUITE main" "deb $DEBIAN_MIRROR $SUITE-updates main" \
        "deb $DEBIAN_SECURITY_MIRROR $SUITE-security main" >"$LOGS/mmdebstrap.log" 2>&1; then
      tail -n 30 "$LOGS/mmdebstrap.log" >&2
      rm -f "$rootfs.tmp"
      die "mmdebstrap failed (log: $LOGS/mmdebstrap.log)"
    fi
    mv "$rootfs.tmp" "$rootfs"
    say "root filesystem ready in $((SECONDS - started)) s: $rootfs"
  fi
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$rootfs" "$BASE_IMAGE" >/dev/null
  say "imported $BASE_IMAGE"
fi
# Older tarballs of other keys are stale.
find "$OUT" -maxdepth 1 -name "rootfs-*.tar" ! -name "rootfs-$SUITE-$base_key.tar" -delete

# ------------------------------------------------------------------------------------- contexts
ctx_root=$(mktemp -d "$OUT/contexts.XXXXXX")
trap 'rm -rf "$ctx_root"' EXIT
for name in python postgres kafka nginx; do
  cp -r "deploy/images/$name" "$ctx_root/$name"
done
scripts/kafka.sh fetch 2>"$LOGS/kafka-fetch.log" || { cat "$LOGS/kafka-fetch.log" >&2; die "could not fetch the Kafka jars"; }
mkdir -p "$ctx_root/kafka/libs"
cp .tools/kafka-lib/*.jar "$ctx_root/kafka/libs/"
cp scripts/kafka/tools-log4j2.properties "$ctx_root/kafka/config/"

kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)
declare -A VERSION=([python]=3.11-$SUITE [postgres]=15-$SUITE [kafka]=$kafka_version [nginx]=1.22-$SUITE)
declare -A VAR=([python]=MERCH_PYTHON_IMAGE [postgres]=MERCH_POSTGRES_IMAGE [kafka]=MERCH_KAFKA_IMAGE [nginx]=MERCH_NGINX_IMAGE)
declare -A TAG PIDS

# ---------------------------------------------------------------------------------------- builds
for name in python postgres kafka nginx; do
  key=$( { echo "$BASE_IMAGE"; cd "$ctx_root/$name" && find . -type f | LC_ALL=C sort | xargs sha256sum; } | hash_of)
  TAG[$name]=$PREFIX/$name:${VERSION[$name]}-$key
  if image_exists "${TAG[$name]}"; then
    continue
  fi
  say "building ${TAG[$name]} ..."
  docker build --build-arg "BASE=$BASE_IMAGE" --label "org.opencontainers.image.description=local stand-in built by scripts/images.sh" \
    -t "${TAG[$name]}" "$ctx_root/$name" >"$LOGS/$name.log" 2>&1 &
  PIDS[$name]=$!
done
failed=()
for name in "${!PIDS[@]}"; do
  if wait "${PIDS[$name]}"; then
    say "built ${TAG[$name]}"
  else
    tail -n 30 "$LOGS/$name.log" >&2
    failed+=("$name")
  fi
done
((${#failed[@]} == 0)) || die "building ${failed[*]} failed (logs: $LOGS/)"

# ---------------------------------------------------------------------------------- extra CAs
ca=$OUT/extra-ca.pem
: >"$ca.tmp"
if [[ -d /usr/local/share/ca-certificates ]]; then
  find /usr/local/share/ca-certificates -type f -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0r cat >>"$ca.tmp"
fi
mv "$ca.tmp" "$ca"

for name in python postgres kafka nginx; do
  echo "export ${VAR[$name]}=${TAG[$name]}"
done
echo "export MERCH_EXTRA_CA_FILE=$ca"
