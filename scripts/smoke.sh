#!/usr/bin/env bash
# The newcomer's path, as README.md writes it: runs `./scripts/start.sh`, waits until every service
# answers, runs the README's first curl call and its whole cart sale (the commands are read out of
# README.md, so what is tested is what is written), checks the answers, then stops start.sh as Ctrl-C
# would and checks that every service shut down cleanly. Fails loudly otherwise. Run by .ci/run.
# MASTER_DATA_PORT / CART_PORT / POS_TERMINAL_PORT move it off 8002/8003/8004 (the README's URLs are
# rewritten to match).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"

md_port="${MASTER_DATA_PORT:-8002}"
cart_port="${CART_PORT:-8003}"
terminal_port="${POS_TERMINAL_PORT:-8004}"
log=$(mktemp)
pid=""

fail() {
  say "FAIL: $*"
  say "start.sh output:"
  sed 's/^/  | /' "$log" >&2
  exit 1
}
cleanup() {
  # Only on failure is anything left: the process group start.sh leads (it and every service).
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  rm -f "$log"
}
trap cleanup EXIT

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$md_port" "$cart_port" "$terminal_port"; do
  # Something else answering there would make every check below pass or fail for the wrong reason.
  if listening "$port"; then fail "port $port is already in use: stop what listens there (or set MASTER_DATA_PORT/CART_PORT/POS_TERMINAL_PORT)"; fi
done

# A README block: the lines of the first ```sh block after the heading that starts with $1.
readme_block() {
  awk -v heading="$1" '
    index($0, heading) == 1 { found = 1; next }
    found && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
  ' README.md | sed -e "s/127\.0\.0\.1:8002/127.0.0.1:${md_port}/g" -e "s/127\.0\.0\.1:8003/127.0.0.1:${cart_port}/g"
}
# The first command of a block: from its first line starting with $2 to the line that does not end in "\".
first_command() {
  awk -v start="$1" 'index($0, start) == 1 { on = 1 } on { print; if ($0 !~ /\\$/) exit }'
}

start_command=$(readme_block "## Set up and run" | first_command "./scripts/start.sh" | sed 's/[[:space:]]*#.*$//')
[ "$start_command" = "./scripts/start.sh" ] || fail "README's start command is now \"$start_command\": update smoke.sh"

say "README: $start_command"
# With job control on, it runs in a process group of its own, as in a terminal: SIGINT reaches it (a
# background job of a script would ignore it) and a failure can end it and every service at once.
set -m
./scripts/start.sh >"$log" 2>&1 &
pid=$!
set +m

say "waiting for master-data on :$md_port, cart on :$cart_port and the POS terminal page on :$terminal_port"
# Ours, not just anything on those ports (another start.sh may have taken them meanwhile): their own log
# lines say where they listen.
ours() {
  grep -q "\"service\":\"$1\".*Server listening at http://127.0.0.1:$2\"" "$log" &&
    curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1
}
deadline=$((SECONDS + 180))
until ours master-data "$md_port" && ours cart "$cart_port" && ours pos-terminal "$terminal_port"; do
  kill -0 "$pid" 2>/dev/null || fail "start.sh exited before every service answered"
  [ "$SECONDS" -lt "$deadline" ] || fail "no answer within 180 s"
  sleep 0.2
done

first_curl=$(readme_block "### Try it" | first_command "curl ")
say "README: the first curl call"
printf '%s\n' "$first_curl" | sed 's/^/  $ /' >&2
answer=$(bash -c "$first_curl") || fail "the first curl call failed"
printf '  %s\n' "$answer" >&2
grep -q '"itemCode":"ITEM0003"' <<<"$answer" || fail "GetItemDetail did not answer ITEM0003: $answer"
grep -q '"price":{"amount":"[1-9][0-9]*","currencyCode":"JPY"}' <<<"$answer" || fail "GetItemDetail answered no price: $answer"

say "closed by default: the same call without the demo key is refused"
anonymous=$(curl -s -H 'content-type: application/json' -d '{"tenantId":"T0001","storeCode":"S0001","itemCode":"ITEM0003"}' \
  "http://127.0.0.1:${md_port}/pos.masterdata.v1.ItemService/GetItemDetail") || fail "the call without a credential failed to connect"
grep -q '"code":"unauthenticated"' <<<"$anonymous" || fail "a call without a credential was not refused: $anonymous"
grep -q "demo credentials (shown once" "$log" || [ -f .cache/demo-auth/.shown ] || fail "start.sh did not print the demo credentials"

say "README: the whole sale with curl"
sale=$(readme_block "### A whole sale with curl")
sale_out=$(bash -c "$sale") || fail "the sale's commands failed"
printf '%s\n' "$sale_out" | cut -c1-160 | sed 's/^/  /' >&2
mapfile -t answers <<<"$sale_out"
[ "${#answers[@]}" -eq 7 ] || fail "the sale printed ${#answers[@]} answers, expected 7"
grep -q '"lines":\[{"lineNo":1' <<<"${answers[0]}" || fail "AddLineItems added no lines: ${answers[0]}"
grep -q '"quantity":3' <<<"${answers[1]}" || fail "UpdateLineItemQuantity did not set 3: ${answers[1]}"
grep -q '"code":"failed_precondition"' <<<"${answers[2]}" || fail "the discount on ITEM0004 was not refused: ${answers[2]}"
grep -q '"status":"CART_STATUS_PAYING"' <<<"${answers[3]}" || fail "Subtotal did not move to PAYING: ${answers[3]}"
# A zero amount is left out of protobuf JSON.
grep -q '"balanceAmount":{"currencyCode":"JPY"}' <<<"${answers[4]}" || fail "AddPayments left a balance: ${answers[4]}"
grep -q '"status":"CART_STATUS_COMPLETED"' <<<"${answers[5]}" || fail "Bill did not complete: ${answers[5]}"
grep -q '"transactionNo":"1"' <<<"${answers[5]}" || fail "the first sale's transaction number is not 1: ${answers[5]}"
grep -q '"changeAmount":{"amount":"[1-9]' <<<"${answers[5]}" || fail "Bill gave no change: ${answers[5]}"
[ "${answers[6]}" = "${answers[5]}" ] || fail "the repeated Bill answered differently: ${answers[6]}"

say "stopping start.sh as Ctrl-C would (SIGINT to its process group)"
kill -INT -- "-$pid"
deadline=$((SECONDS + 20))
while kill -0 "$pid" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "start.sh still running 20 s after SIGINT"
  sleep 0.2
done
wait "$pid" 2>/dev/null || true
for port in "$md_port" "$cart_port" "$terminal_port"; do
  if listening "$port"; then fail "port $port still answers after the stop"; fi
done
for service in master-data cart pos-terminal; do
  grep -q "\"service\":\"$service\".*\"msg\":\"shutting down\"" "$log" || fail "$service logged no shutdown"
done
if grep -q '"level":[56]0' "$log"; then fail "errors logged (see above)"; fi
say "OK: the README's start command, first curl call and sale work as written; every service stopped cleanly"
