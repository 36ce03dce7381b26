# Pinned developer tools, installed into .tools/bin on first use (sourced by other scripts).
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.0
GRPCURL_VERSION=v1.9.3
NEWMAN_VERSION=6.2.2

TOOLS_BIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/bin"

# go_tool NAME PACKAGE VERSION: install PACKAGE@VERSION unless .tools/bin has that version.
go_tool() {
  local name=$1 pkg=$2 version=$3 stamp
  stamp="$TOOLS_BIN/.$name.version"
  if [[ -x "$TOOLS_BIN/$name" && "$(cat "$stamp" 2>/dev/null)" == "$version" ]]; then
    return 0
  fi
  echo "installing $name $version" >&2
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install "$pkg@$version"
  echo "$version" >"$stamp"
}

ensure_go_plugins() {
  go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
  go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
}

ensure_grpcurl() {
  go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
}

# composecheck: validates compose.yaml with compose-go (Docker Compose's loader), no engine needed.
ensure_composecheck() {
  local dir="$TOOLS_BIN/../../scripts/composecheck" stamp="$TOOLS_BIN/.composecheck.sum" want
  want=$(cat "$dir/main.go" "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -d' ' -f1)
  if [[ -x "$TOOLS_BIN/composecheck" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  (cd "$dir" && go build -o "$TOOLS_BIN/composecheck" .)
  echo "$want" >"$stamp"
}

# newman: runs the Postman collection (docs/postman_collection.json) from the command line.
ensure_newman() {
  local prefix="$TOOLS_BIN/../node"
  if [[ -x "$prefix/node_modules/.bin/newman" && "$(cat "$TOOLS_BIN/.newman.version" 2>/dev/null)" == "$NEWMAN_VERSION" ]]; then
    return 0
  fi
  echo "installing newman $NEWMAN_VERSION" >&2
  mkdir -p "$prefix"
  npm install --silent --no-audit --no-fund --prefix "$prefix" "newman@$NEWMAN_VERSION" >/dev/null
  ln -sf ../node/node_modules/.bin/newman "$TOOLS_BIN/newman"
  echo "$NEWMAN_VERSION" >"$TOOLS_BIN/.newman.version"
}

# buf/validate/validate.proto (protovalidate's rules), for buf lint and buf generate: the Buf
# registry is not reachable, so it comes from the Go module proxy, which publishes the
# protovalidate repository as a Go module. `go mod download` checks the zip against the Go
# checksum database, and the h1: sum is pinned here too. Kept out of git in .tools/protovalidate.
PROTOVALIDATE_VERSION=v1.2.2
PROTOVALIDATE_SUM="h1:2H/9/Kr97etSRqW3IJjTTb09z+zutkK2GDhDRbOnqr4="
ensure_protovalidate() {
  local dest="$TOOLS_BIN/../protovalidate" stamp info dir sum
  stamp="$dest/.version"
  if [[ -f "$dest/buf/validate/validate.proto" && "$(cat "$stamp" 2>/dev/null)" == "$PROTOVALIDATE_VERSION" ]]; then
    return 0
  fi
  echo "fetching protovalidate $PROTOVALIDATE_VERSION (validate.proto) from the Go module proxy" >&2
  info=$(GOFLAGS=-mod=mod go mod download -json "github.com/bufbuild/protovalidate@$PROTOVALIDATE_VERSION")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p' <<<"$info")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$info")
  if [[ "$sum" != "$PROTOVALIDATE_SUM" ]]; then
    echo "protovalidate $PROTOVALIDATE_VERSION: checksum $sum, expected $PROTOVALIDATE_SUM" >&2
    return 1
  fi
  mkdir -p "$dest/buf/validate"
  install -m 0644 "$dir/proto/protovalidate/buf/validate/validate.proto" "$dest/buf/validate/validate.proto"
  echo "$PROTOVALIDATE_VERSION" >"$stamp"
}
