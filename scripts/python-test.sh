#!/usr/bin/env bash
# The Python side's checks: makes .venv-python (pinned python/requirements.txt), lints with ruff, runs pytest.
# Appends "pytest PASSED FAILED" to $SSRA_COUNTS_FILE when set (scripts/test.sh sums the counts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/python-env.sh
venv=.venv-python/bin
echo "== python: ruff"
"$venv/ruff" check python
"$venv/ruff" format --check python
echo "== python: pytest"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
OMP_NUM_THREADS=1 "$venv/python" -m pytest python/tests -p no:cacheprovider --junitxml="$report" "$@" || status=$?
"$venv/python" - "$report" "${SSRA_COUNTS_FILE:-}" "$status" <<'PY'
import sys
import xml.etree.ElementTree as ET

report, counts, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    suites = ET.parse(report).getroot()
    suites = [suites] if suites.tag == "testsuite" else list(suites)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    passed = total - failed - skipped
except (OSError, ET.ParseError):
    passed, failed = 0, 1
if status != 0 and failed == 0:
    failed = 1  # pytest failed without a counted test failure (collection error, no tests): never invisible
if passed == 0:
    failed = max(failed, 1)
if counts:
    with open(counts, "a", encoding="utf-8") as handle:
        handle.write(f"pytest {passed} {failed}\n")
print(f"python: {passed} passed, {failed} failed")
PY
exit "$status"
