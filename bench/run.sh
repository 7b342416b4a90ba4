#!/usr/bin/env bash
# pnpm bench [--quick] [...]: installs the native load generators when missing (idempotent), then
# runs the orchestrator. A tool that cannot be installed is reported and its rows are skipped.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$repo_root"

apt_tool() { # apt_tool COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then say "$1 missing and not root: cannot apt-get install $2 (its rows will be skipped)"; return 0; fi
  say "installing $2 (for $1) with apt-get"
  if [ ! -f /tmp/.pos-bench-apt-updated ]; then apt-get update -qq >/dev/null 2>&1 && touch /tmp/.pos-bench-apt-updated || true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || say "apt-get install $2 failed (its rows will be skipped)"
}

apt_tool h2load nghttp2-client
apt_tool wrk wrk
export BENCH_GHZ_MODULE=github.com/bojand/ghz@v0.120.0
go_tool ghz "$BENCH_GHZ_MODULE" github.com/bojand/ghz/cmd/ghz || say "could not build ghz (its rows will be skipped)"
ensure_node
[ -d node_modules ] && [ -d bench/node_modules ] || ensure_node_modules
# master-data and cart run as built JavaScript, as start.sh runs them.
build_services

exec node --import tsx bench/src/main.ts "$@"
