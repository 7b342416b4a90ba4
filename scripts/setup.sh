#!/usr/bin/env bash
# Installs what the project needs (idempotent, quick when already done).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
