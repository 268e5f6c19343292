#!/usr/bin/env bash
# README command 2: set up a fresh machine and run every check — lint, typecheck, every TypeScript test, the
# Python tests (pytest + ruff, in .venv-python), the real-model rehearsal on tiny local models
# (scripts/rehearse.sh), the release smoke test of the packed packages (tooling/release-smoke) and a rerun of
# every measured table in README.md (tooling/docs-numbers). Its last line is "N passed, N failed" over all of them.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
source scripts/bootstrap.sh
pnpm run lint
pnpm run typecheck --output-logs=errors-only
counts="$(mktemp)"
trap 'rm -f "$counts"' EXIT
export SSRA_COUNTS_FILE="$counts"
status=0
pnpm run test || status=1
bash scripts/python-test.sh || status=1
echo "== rehearsal: the real-model path on tiny local models (scripts/rehearse.sh)"
if REHEARSE_SKIP_SETUP=1 bash scripts/rehearse.sh runs/rehearsal-ci; then
  echo "rehearsal 1 0" >>"$counts"
else
  echo "rehearsal 0 1" >>"$counts"
  status=1
fi
echo "== release smoke: every public package packed, installed with npm outside the workspace (tooling/release-smoke)"
if ! node tooling/release-smoke/release-smoke.mjs; then
  status=1
  grep -q '^release-smoke ' "$counts" || echo "release-smoke 0 1" >>"$counts"
fi
echo "== docs:numbers: README's measured tables regenerated from this commit and compared (tooling/docs-numbers)"
if node tooling/docs-numbers/docs-numbers.mjs --check --work runs/docs-numbers-ci; then
  echo "docs-numbers 1 0" >>"$counts"
else
  echo "docs-numbers 0 1" >>"$counts"
  status=1
fi
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
  let passed = 0, failed = 0
  for (const l of lines) { const [name, p, f] = l.split(" "); passed += Number(p); failed += Number(f); console.log(`  ${name}: ${p} passed, ${f} failed`) }
  if (!lines.some((l) => l.startsWith("vitest "))) failed += 1
  console.log(`${passed} passed, ${failed} failed`)
' "$counts"
exit "$status"
