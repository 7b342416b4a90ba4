#!/usr/bin/env bash
# Starts the system on its embedded defaults (in-memory stores, demo catalogue):
# master-data on :8002, then cart on :8003 calling it. Installs what is missing
# first. Ctrl-C stops both. Environment variables: see README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"
ensure_node_modules

md_port="${MASTER_DATA_PORT:-8002}"
node --import tsx services/master-data/src/main.ts &
md_pid=$!
cart_pid=""
# Ctrl-C reaches the whole process group, so both services are stopping already: signalling them
# again would cut their shutdown short (a second signal makes a service exit at once). So on INT
# give them 5 s on their own; on TERM to this script, or when one service exits, stop the others.
stop() {
  local pid
  for pid in $cart_pid $md_pid; do
    if [ "${1:-}" = interrupted ]; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null && sleep 0.1 || break; done
    fi
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'trap - EXIT; stop interrupted; exit 130' INT
trap 'trap - EXIT; stop; exit 143' TERM
trap stop EXIT

# cart asks master-data for the tax master when a cart is created: start it once master-data answers.
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${md_port}/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$md_pid" 2>/dev/null || { say "master-data exited"; exit 1; }
  sleep 0.1
done
MASTER_DATA_URL="${MASTER_DATA_URL:-http://127.0.0.1:${md_port}}" node --import tsx services/cart/src/main.ts &
cart_pid=$!
say "master-data on :${md_port}, cart on :${CART_PORT:-8003} (Ctrl-C stops both)"
wait -n "$md_pid" "$cart_pid"
