#!/usr/bin/env bash
# A local Redis for the Redis suites: reuses one that answers on 127.0.0.1:6379, else starts
# redis-server (installed with apt-get when missing and root) on 6379, or on a free loopback port
# when 6379 is taken by something that is not Redis. No persistence; nothing leaves loopback.
#   scripts/redis.sh [start]   start unless one answers; last stdout line = redis://127.0.0.1:<port>
#   scripts/redis.sh stop      stop the server this script started
set -euo pipefail
source "$(dirname "$0")/lib.sh"

run_dir="$repo_root/.run"
pid_file="$run_dir/redis.pid"
port_file="$run_dir/redis.port"
log_file="$run_dir/redis.log"
default_port=6379

answers() { # answers PORT: a Redis PING gets +PONG (or an auth error: still Redis) within 2 s
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || reply=""
  exec 3<&-
  [[ $reply == +PONG* || $reply == -NOAUTH* ]]
} 2>/dev/null

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

our_pid() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

ensure_binary() {
  command -v redis-server >/dev/null 2>&1 && return
  [ "$(id -u)" = 0 ] || { say "redis-server is missing and this is not root: cannot apt-get install redis-server"; return 1; }
  say "installing redis-server with apt-get (once)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } ||
    { say "apt-get install redis-server failed"; return 1; }
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start() {
  if answers "$default_port"; then
    echo "redis://127.0.0.1:$default_port"
    return
  fi
  local port
  if our_pid >/dev/null && port=$(cat "$port_file" 2>/dev/null) && answers "$port"; then
    echo "redis://127.0.0.1:$port"
    return
  fi
  ensure_binary
  port=$default_port
  if listening "$port"; then port=$(free_port); fi
  mkdir -p "$run_dir"
  say "starting redis-server on 127.0.0.1:$port (no persistence, log $log_file)"
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
    --dir "$run_dir" --pidfile "$pid_file" --logfile "$log_file" >/dev/null
  echo "$port" >"$port_file"
  local deadline=$((SECONDS + 10))
  until answers "$port"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "redis-server did not answer on 127.0.0.1:$port within 10 s; last lines of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "redis://127.0.0.1:$port"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    say "no redis-server started by this script is running"
    rm -f "$pid_file" "$port_file"
    return
  fi
  kill "$pid"
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { say "redis-server (pid $pid) did not stop within 10 s"; return 1; }
    sleep 0.1
  done
  rm -f "$pid_file" "$port_file"
  say "stopped redis-server (pid $pid)"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) say "usage: $0 [start|stop]"; exit 2 ;;
esac
