#!/usr/bin/env bash
# Starts the system on its embedded defaults (in-memory store, demo catalogue),
# installing what is missing first. Environment variables: see README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_root"
ensure_node_modules
say "master-data on port ${MASTER_DATA_PORT:-8002} (Ctrl-C stops it)"
exec node --import tsx services/master-data/src/main.ts
