#!/usr/bin/env bash
# THE test command (README, .ci/run): installs and starts what it needs, then
# checks the schema, the generated code, the types, and runs every test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"

ensure_node_modules

say "schema: buf lint (STANDARD), buf format"
pnpm exec buf lint
pnpm exec buf format --exit-code --diff

say "generated code: buf generate must reproduce gen/ exactly"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
pnpm exec buf generate --output "$scratch"
if ! diff -r "$scratch/gen/src" gen/src >/dev/null; then
  diff -r "$scratch/gen/src" gen/src | head -40 >&2 || true
  say "FAIL: gen/ differs from what buf generate makes: run 'pnpm generate' and commit gen/"
  exit 1
fi

if git rev-parse -q --verify HEAD~1 >/dev/null 2>&1 && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then
  say "schema: buf breaking against the previous commit"
  git archive HEAD~1 buf.yaml proto | tar -x -C "$scratch" --one-top-level=previous
  pnpm exec buf breaking --against "$scratch/previous"
else
  say "schema: no previous commit with a schema, buf breaking skipped"
fi

say "build: the services as JavaScript (scripts/build.ts, esbuild)"
build_services

say "types: tsc --noEmit"
pnpm exec tsc -p tsconfig.json --noEmit
pnpm exec tsc -p web/pos-terminal/tsconfig.json --noEmit

say "TypeScript lint and format: biome ci (biome.jsonc; .editorconfig)"
pnpm exec biome ci --colors=off .

say "package boundaries: other packages only through their exports (index.ts, testing)"
node --import tsx scripts/package-boundaries.ts

mongo_note=""
if [ -z "${MONGODB_URI:-}" ]; then
  if uri=$(bash scripts/ferretdb.sh start 2>"$scratch/ferretdb.err" | tail -n 1) && [ -n "$uri" ]; then
    export MONGODB_URI="$uri"
    say "MongoDB-wire server: FerretDB at $MONGODB_URI"
  else
    export MONGO_SUITE_NOT_RUN="FerretDB could not be built or started: $(tail -n 5 "$scratch/ferretdb.err" | tr '\n' ' ')"
    mongo_note="$MONGO_SUITE_NOT_RUN"
  fi
else
  say "MongoDB-wire server: MONGODB_URI=$MONGODB_URI (given)"
fi

redis_note=""
if [ -z "${REDIS_URL:-}" ]; then
  if url=$(bash scripts/redis.sh start 2>"$scratch/redis.err" | tail -n 1) && [ -n "$url" ]; then
    export REDIS_URL="$url"
    say "Redis: $REDIS_URL"
  else
    export REDIS_SUITE_NOT_RUN="no Redis could be found or started: $(tail -n 5 "$scratch/redis.err" | tr '\n' ' ')"
    redis_note="$REDIS_SUITE_NOT_RUN"
  fi
else
  say "Redis: REDIS_URL=$REDIS_URL (given)"
fi

if ! go_tool grpcurl github.com/fullstorydev/grpcurl@v1.9.3 github.com/fullstorydev/grpcurl/cmd/grpcurl; then
  say "grpcurl could not be built: its tests will fail"
fi

# The Redis Cluster tests start their own redis-server processes (the other Redis tests use 127.0.0.1:6379).
if ! apt_packages /usr/bin/redis-server redis-server; then
  say "redis-server could not be installed: the Redis tests will fail"
fi

# The POS terminal page's tests drive Debian's Chromium with playwright-core (no browser is downloaded);
# a Japanese font so that its screenshots show the tax names.
if ! apt_packages /usr/bin/chromium chromium fonts-ipafont-gothic; then
  say "Chromium could not be installed: the POS terminal's browser tests will fail"
fi

say "interop tools: grpc-go interop client/server, connect-peer (interop/go/go.mod), gen/interop"
interop_status=0
bash scripts/interop-tools.sh || interop_status=$?
if [ "$interop_status" = 3 ]; then exit 1; fi
if [ "$interop_status" != 0 ]; then say "the interop tools could not be built: the interop suites will fail"; fi

say "tests: vitest"
status=0
pnpm exec vitest run --coverage "$@" || status=$?

if [ -n "$mongo_note" ]; then
  printf '\n\033[1;31m%s\033[0m\n%s\n\n' "NOT RUN: the MongoDB contract suite (no MongoDB-wire server)" "$mongo_note" >&2
fi
if [ -n "$redis_note" ]; then
  printf '\n\033[1;31m%s\033[0m\n%s\n\n' "NOT RUN: the Redis suites (no Redis)" "$redis_note" >&2
fi
exit $status
