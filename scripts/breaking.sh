#!/usr/bin/env bash
# `buf breaking` of the working tree's protos against the previous commit's (FILE rules, buf.yaml).
#
#   scripts/breaking.sh [REF]     REF defaults to HEAD~1
#
# The previous commit is exported with `git archive` and built on its own buf.yaml, so a change of
# buf.yaml between the two commits is no problem. A module path that buf.yaml names but git does not
# hold (an import fetched at build time, e.g. buf/validate/validate.proto, kept out of the repository)
# is taken from the working tree: the two builds see the same fetched files. With no previous commit
# (one commit, or a shallow clone) there is nothing to compare: it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:-HEAD~1}

if ! git rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1; then
  echo "buf breaking: skipped: $ref is not in this clone (a single commit or a shallow clone; 'git fetch --unshallow' gives the history)"
  exit 0
fi
if ! git cat-file -e "$ref:buf.yaml" 2>/dev/null; then
  echo "buf breaking: skipped: $ref has no buf.yaml"
  exit 0
fi

against=$(mktemp -d)
trap 'rm -rf "$against"' EXIT
git archive "$ref" | tar -x -C "$against"
# Module paths of the previous buf.yaml (`- path: X` lines) missing from its tree: the fetched ones.
for module in $(sed -n 's/^[[:space:]]*-[[:space:]]*path:[[:space:]]*//p' "$against/buf.yaml" | tr -d "\"'"); do
  if [[ ! -e $against/$module && -e $module ]]; then
    mkdir -p "$(dirname "$against/$module")"
    ln -s "$PWD/$module" "$against/$module"
  fi
done
# The proto module of each workspace; its imports (well-known types, fetched rules) are not ours to compare.
buf breaking proto --exclude-imports --against "$against/proto"
echo "buf breaking: no breaking change against $(git rev-parse --short "$ref")"
