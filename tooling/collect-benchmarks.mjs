// Rebuilds the root BENCHMARKS.md from each package's BENCHMARKS.md (the packages own their numbers; this file
// gathers them in one place). Run: node tooling/collect-benchmarks.mjs
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs"

const parts = [
  "packages/core",
  "packages/evaluation",
  "packages/llm",
  "packages/embedding",
  "packages/score-model",
  "packages/query-model",
  "packages/filters",
  "packages/pipeline",
  "apps/server"
]
const head = `# Benchmarks

Speed, memory and quality numbers, measured (never asserted in unit tests: the machines are shared and noisy).
\`pnpm bench\` runs every package's benchmark one at a time; each section names its command. Unless a section says
otherwise: the project's 2-core shared VM (load average often 5–13 from parallel work, so wall times are inflated
and ratios within one run are the numbers to compare), Node 22.23.3, 2026-11-23.

This file is gathered from each package's own \`BENCHMARKS.md\` by \`node tooling/collect-benchmarks.mjs\`.
`
let out = head
for (const dir of parts) {
  const file = `${dir}/BENCHMARKS.md`
  if (!existsSync(file)) continue
  // headings move one level down (the file's title becomes a section); lines inside fenced code blocks (shell
  // comments start with "#") stay as they are
  let fenced = false
  let first = true
  const text = readFileSync(file, "utf8")
    .split("\n")
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
      if (fenced || !/^#+ /.test(line)) return line
      const shifted = first ? line.replace(/^# /, "## ") : `#${line}`
      first = false
      return shifted
    })
    .join("\n")
  out += `\n---\n\n<!-- from ${file} -->\n${text.trim()}\n`
}
writeFileSync("BENCHMARKS.md.tmp", out)
renameSync("BENCHMARKS.md.tmp", "BENCHMARKS.md")
console.log(`BENCHMARKS.md: ${parts.filter((d) => existsSync(`${d}/BENCHMARKS.md`)).length} sections`)
