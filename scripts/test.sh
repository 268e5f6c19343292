#!/usr/bin/env bash
# README command 2: set up a fresh machine and run every check — lint, typecheck, all tests. Its last line is
# "N passed, N failed".
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
source scripts/bootstrap.sh
pnpm run lint
pnpm run typecheck --output-logs=errors-only
pnpm run test
