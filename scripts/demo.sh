#!/usr/bin/env bash
# README command 1: set up a fresh machine and run the main job — `ssra demo` on the bundled sample with the
# embedded (CPU, no key, no server) models. Extra arguments go to `ssra demo`.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
source scripts/bootstrap.sh
exec node apps/cli/dist/bin.js demo "$@"
