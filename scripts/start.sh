#!/usr/bin/env bash
# Starts the system on its embedded defaults (in-memory stores, demo catalogue):
# master-data on :8002, then cart on :8003 calling it. Installs what is missing
# first. Ctrl-C stops both. Environment variables: see README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"
ensure_node_modules
build_services

md_port="${MASTER_DATA_PORT:-8002}"
node --enable-source-maps services/master-data/dist/main.js &
md_pid=$!
cart_pid=""
stop() {
  [ -n "$cart_pid" ] && kill "$cart_pid" 2>/dev/null || true
  kill "$md_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# cart asks master-data for the tax master when a cart is created: start it once master-data answers.
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${md_port}/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$md_pid" 2>/dev/null || { say "master-data exited"; exit 1; }
  sleep 0.1
done
MASTER_DATA_URL="${MASTER_DATA_URL:-http://127.0.0.1:${md_port}}" node --enable-source-maps services/cart/dist/main.js &
cart_pid=$!
say "master-data on :${md_port}, cart on :${CART_PORT:-8003} (Ctrl-C stops both)"
wait -n "$md_pid" "$cart_pid"
