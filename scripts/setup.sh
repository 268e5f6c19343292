#!/usr/bin/env bash
# Bootstraps the toolchain, installs the workspace and builds it. Safe to rerun: each step is a no-op when done.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
if [ "${CI:-}" = "true" ]; then pnpm install --frozen-lockfile --reporter=append-only; else pnpm install --reporter=append-only; fi
pnpm run build --output-logs=errors-only
