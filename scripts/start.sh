#!/usr/bin/env bash
# Starts the system on its embedded defaults (in-memory stores, demo catalogue):
# master-data on :8002, then cart on :8003 calling it, and the POS terminal page
# on :8004 calling cart. Installs (and builds) what is missing first. Ctrl-C stops
# them all. Environment variables: see README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"
ensure_node_modules
build_services

md_port="${MASTER_DATA_PORT:-8002}"
terminal_port="${POS_TERMINAL_PORT:-8004}"

# The page is static files built by Vite: rebuilt only when its sources or the generated code changed.
terminal_dir=web/pos-terminal
if [ ! -f "$terminal_dir/dist/index.html" ] ||
  [ -n "$(find "$terminal_dir/src" "$terminal_dir/index.html" gen/src -newer "$terminal_dir/dist/index.html" -print -quit)" ]; then
  say "building the POS terminal page (vite build)"
  (cd "$terminal_dir" && pnpm exec vite build --logLevel warn)
fi
# Demo credentials (idempotent; .cache/demo-auth, gitignored): a terminal key for T0001/S0001/R01, an
# admin token of T0001, cart's service key. Variables you set yourself win over these.
demo_auth_dir="${DEMO_AUTH_DIR:-.cache/demo-auth}"
demo_exports=$(node --import tsx services/common/src/auth/keys-cli.ts demo "$demo_auth_dir" 2>/dev/null) ||
  { say "could not make the demo credentials: node --import tsx services/common/src/auth/keys-cli.ts demo $demo_auth_dir"; exit 1; }
while IFS= read -r line; do
  name=${line#export }
  name=${name%%=*}
  # Only what is unset: an operator's own key store, JWKS or secret is never replaced.
  if [ -z "${!name:-}" ]; then eval "$line"; fi
done <<<"$demo_exports"
if [ ! -f "$demo_auth_dir/.shown" ] || [ "$demo_auth_dir/terminal.key" -nt "$demo_auth_dir/.shown" ] ||
  [ "$demo_auth_dir/admin.token" -nt "$demo_auth_dir/.shown" ]; then
  say "demo credentials (shown once; kept in $demo_auth_dir):"
  say "  terminal API key (T0001/S0001/R01, for x-api-key and the POS page's Settings): $(cat "$demo_auth_dir/terminal.key")"
  say "  admin token of T0001 (authorization: Bearer …): $(cat "$demo_auth_dir/admin.token")"
  touch "$demo_auth_dir/.shown"
else
  say "demo credentials in $demo_auth_dir (terminal.key, admin.token); see README: authentication"
fi
# master-data trusts cart's service key; only cart signs with it.
AUTH_SERVICE_KEY_FILE="" node --enable-source-maps services/master-data/dist/main.js &
md_pid=$!
cart_pid=""
terminal_pid=""
# Ctrl-C reaches the whole process group, so every service is stopping already: signalling them
# again would cut their shutdown short (a second signal makes a service exit at once). So on INT
# give them 5 s on their own; on TERM to this script, or when one service exits, stop the others.
stop() {
  local pid
  for pid in $terminal_pid $cart_pid $md_pid; do
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
# The page is served from its own origin: cart lets it call (CORS) unless told otherwise.
CORS_ALLOWED_ORIGINS="${CORS_ALLOWED_ORIGINS:-http://127.0.0.1:${terminal_port},http://localhost:${terminal_port}}" \
  MASTER_DATA_URL="${MASTER_DATA_URL:-http://127.0.0.1:${md_port}}" AUTH_SERVICE_JWKS_FILE="" \
  node --enable-source-maps services/cart/dist/main.js &
cart_pid=$!
# Unset, the page calls cart on its own host name, port 8003; another CART_PORT must be passed on.
if [ -n "${CART_PORT:-}" ] && [ -z "${POS_TERMINAL_CART_URL:-}" ]; then
  export POS_TERMINAL_CART_URL="http://127.0.0.1:${CART_PORT}"
fi
node --import tsx "$terminal_dir/server/main.ts" &
terminal_pid=$!
say "master-data on :${md_port}, cart on :${CART_PORT:-8003}, POS terminal on http://127.0.0.1:${terminal_port}/ (Ctrl-C stops all)"
wait -n "$md_pid" "$cart_pid" "$terminal_pid"
