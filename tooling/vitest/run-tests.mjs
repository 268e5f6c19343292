// Runs every test project once and ends with the line CI reads: "N passed, N failed".
// Vitest's own summary is kept above it for people; the JSON report is the source of the counts.
import { spawnSync } from "node:child_process"
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const out = join(mkdtempSync(join(tmpdir(), "ssra-vitest-")), "report.json")
const args = [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${out}`,
  ...process.argv.slice(2)
]
const run = spawnSync("pnpm", ["exec", ...args], { stdio: "inherit" })
let passed = 0
let failed = 0
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, "utf8"))
  passed = report.numPassedTests ?? 0
  failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0) - 0
  // a suite that fails to load has no tests: count it as one failure so it is never invisible
  failed =
    (report.numFailedTests ?? 0) +
    (report.testResults ?? []).filter((r) => r.status === "failed" && (r.assertionResults ?? []).length === 0).length
} else {
  failed = 1
}
console.log(`${passed} passed, ${failed} failed`)
// scripts/test.sh adds these to the Python tests' and the rehearsal's counts for its closing line
if (process.env.SSRA_COUNTS_FILE) appendFileSync(process.env.SSRA_COUNTS_FILE, `vitest ${passed} ${failed}\n`)
process.exit(run.status === 0 && failed === 0 && passed > 0 ? 0 : 1)
