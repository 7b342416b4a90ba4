#!/usr/bin/env bash
# Builds what the interop suites (interop/test) run, every version pinned in interop/go/go.mod:
# the official gRPC interop client and server (google.golang.org/grpc), connect-peer (connect-go
# client and server), and the code they need: the grpc.testing descriptors from the pinned grpc
# module, Go code for connect-peer (protoc-gen-go / protoc-gen-connect-go as buf local plugins),
# and TypeScript in gen/interop (protoc-gen-es), which must match what is committed.
# Idempotent and quick when nothing changed (go build and the module cache do the caching).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"

command -v go >/dev/null 2>&1 || { say "Go is missing (expected in /usr/local/go/bin): cannot build the interop tools"; exit 1; }
out=.cache/interop
mkdir -p "$out/bin"
buf=node_modules/.bin/buf

(
  cd interop/go
  go build -o "../../$out/bin/grpc-interop-client" google.golang.org/grpc/interop/client
  go build -o "../../$out/bin/grpc-interop-server" google.golang.org/grpc/interop/server
  go build -o "../../$out/bin/" connectrpc.com/connect/cmd/protoc-gen-connect-go google.golang.org/protobuf/cmd/protoc-gen-go
  go run ./cmd/grpc-testing-descriptors >"../../$out/grpc-testing.binpb.tmp"
)
mv "$out/grpc-testing.binpb.tmp" "$out/grpc-testing.binpb"

"$buf" generate --template interop/go/buf.gen.pos.yaml
"$buf" generate --template interop/go/buf.gen.testing.yaml
(cd interop/go && go vet ./... && go build -o "../../$out/bin/connect-peer" ./cmd/connect-peer)

# gen/interop is committed (the TypeScript suites import it); it must be what buf makes now.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
sed "s#out: gen/interop#out: $scratch/gen/interop#" interop/buf.gen.ts.yaml >"$scratch/buf.gen.ts.yaml"
"$buf" generate --template "$scratch/buf.gen.ts.yaml"
if ! diff -r "$scratch/gen/interop" gen/interop >/dev/null; then
  diff -r "$scratch/gen/interop" gen/interop | head -40 >&2 || true
  say "FAIL: gen/interop differs from what buf generate makes: run '"$buf" generate --template interop/buf.gen.ts.yaml' and commit gen/interop"
  exit 1
fi
