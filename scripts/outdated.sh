#!/usr/bin/env bash
# Lists the npm dependencies of every workspace package that have newer versions on the registry
# (`pnpm outdated -r`): current, latest, and which packages depend on them. Changes nothing.
# Extra arguments go to pnpm, e.g. `--compatible` (only what the ranges allow) or `--format json`.
# Exits 0 whether or not something is outdated (that is the answer, printed); non-zero only when it
# could not ask the registry. @types/node follows the Node major in "engines" (20), not the latest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"
ensure_pnpm

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
pnpm outdated -r "$@" >"$out" 2>&1 || status=$?
cat "$out"
# pnpm says 1 both for "something is outdated" and for its own errors; the latter print ERR_PNPM_….
if [ "$status" = 1 ] && grep -q ERR_PNPM "$out"; then status=2; fi
case $status in
  0) say "every dependency is at its latest version" ;;
  1) say "the dependencies above have newer versions; upgrade with pnpm up -r --latest NAME, then pnpm install and the test command" ;;
  *) say "pnpm outdated failed (status $status)"; exit "$status" ;;
esac
