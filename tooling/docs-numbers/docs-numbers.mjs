#!/usr/bin/env node
// Regenerates the measured tables in README.md from real runs of the built CLI, so a table can never drift
// from the code that makes it. Each table sits between `<!-- docs:numbers NAME -->` and
// `<!-- /docs:numbers NAME -->`; everything between the markers is rewritten.
//
//   node tooling/docs-numbers/docs-numbers.mjs            rerun, rewrite README.md
//   node tooling/docs-numbers/docs-numbers.mjs --check    rerun, exit 1 (with a diff) when README.md differs
//   … --only dev-table|data-size                          one table
//   … --work DIR                                          where the runs go (default runs/docs-numbers, fresh)
//
// Every run is seeded (the CLI's default seed 42, recorded in each run's manifest) and the embedded models are
// deterministic, so the tables are byte-identical between reruns of the same commit.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const cli = path.join(root, "apps/cli/dist/bin.js")
const readme = path.join(root, "README.md")

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const check = flag("--check")
const only = option("--only", undefined)
const work = path.resolve(option("--work", path.join(root, "runs/docs-numbers")))

if (!fs.existsSync(cli)) {
  console.error(`docs-numbers: ${path.relative(root, cli)} is missing: build first (pnpm run build)`)
  process.exit(2)
}

/** Runs the CLI; a failure stops everything with its output. */
const ssra = (argv) => {
  const started = Date.now()
  const out = spawnSync(process.execPath, [cli, ...argv], { cwd: root, encoding: "utf8", maxBuffer: 1 << 28 })
  if (out.status !== 0) {
    console.error(`docs-numbers: \`ssra ${argv.join(" ")}\` exited ${out.status}\n${out.stdout}\n${out.stderr}`)
    process.exit(1)
  }
  console.error(`docs-numbers: ssra ${argv.join(" ")}  (${((Date.now() - started) / 1000).toFixed(0)} s)`)
}

const fresh = (dir) => {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

const results = (runDir) => JSON.parse(fs.readFileSync(path.join(runDir, "report/results.json"), "utf8"))
const manifest = (runDir) => JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
const systemOf = (res, name) => {
  const s = res.systems.find((x) => x.system === name)
  if (s === undefined) throw new Error(`system ${name} missing from ${res.title}`)
  return s
}
const metricOf = (system, metric) => system.differences.find((d) => d.metric === metric)

const f3 = (v) => (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(3)
/** `0.8680 (+0.001 [−0.012, +0.015])`, or the bare value for the base row. */
const cell = (d, withDelta) => {
  if (d === undefined || d.value === null) return "n/a"
  const v = d.value.toFixed(4)
  if (!withDelta || d.difference === null || d.ci === null) return v
  return `${v} (${f3(d.difference)} [${f3(d.ci[0])}, ${f3(d.ci[1])}])`
}

const sets = [
  { dir: "kuake_qtr", label: "kuake_qtr (0–3)" },
  { dir: "qbqtc", label: "qbqtc (0–2)" }
]

const devTable = () => {
  const rows = ["| set | system | nDCG@10 | mean AP@≥t |", "|---|---|---|---|"]
  const mixes = []
  for (const set of sets) {
    const runDir = fresh(path.join(work, `exp-${set.dir}`))
    ssra(["experiment", "--data", `data/${set.dir}`, "--run-dir", runDir, "--skip-invalid"])
    const res = results(runDir)
    const shown = [
      ["base", "base (labeled only)"],
      ["vanilla-sft", "vanilla SFT (embedded query model, labeled-only)"],
      ["ssra", "SSRA"],
      ["reference:bm25", "BM25 (no training)"]
    ]
    shown.forEach(([name, label], i) => {
      const system = systemOf(res, name)
      const delta = name !== "base" && name !== "reference:bm25"
      rows.push(
        `| ${i === 0 ? set.label : ""} | ${label} | ${cell(metricOf(system, "ndcg_at_10"), delta)} | ${cell(metricOf(system, "ap_mean"), delta)} |`
      )
    })
    const train = manifest(runDir).stages.find((s) => s.stage === "train:ssra").counts
    mixes.push(`${set.dir} ${train.syntheticRows} synthetic rows next to ${train.labeledRows} labeled`)
  }
  return `${rows.join("\n")}\n\nSSRA's training sets: ${mixes.join("; ")}.`
}

// How results move with the size of the labeled set: seeded samples of KUAKE-QTR's labeled queries, the full
// unlabeled pool and the full dev test; `ssra run` (base and SSRA) on each.
const sizes = [25, 100, 400, 1600]
const dataSize = () => {
  const rows = [
    "| labeled queries | labeled pairs | base nDCG@10 | SSRA nDCG@10 (Δ [95% CI]) | base mean AP | SSRA mean AP (Δ [95% CI]) | BM25 nDCG@10 |",
    "|---|---|---|---|---|---|---|"
  ]
  for (const n of sizes) {
    const dir = fresh(path.join(work, `size-${n}`))
    const config = path.join(dir, "ssra.json")
    fs.writeFileSync(
      config,
      JSON.stringify({ data: { dir: "data/kuake_qtr", skipInvalid: true, sample: { labeledQueries: n } } })
    )
    const runDir = path.join(dir, "run")
    ssra(["run", "--config", config, "--run-dir", runDir])
    const res = results(runDir)
    const labeled = manifest(runDir).stages.find((s) => s.stage === "prepare").counts.labeled
    const base = systemOf(res, "base")
    const ssraRow = systemOf(res, "ssra")
    const bm25 = metricOf(systemOf(res, "reference:bm25"), "ndcg_at_10")
    rows.push(
      `| ${n} | ${labeled} | ${cell(metricOf(base, "ndcg_at_10"), false)} | ${cell(metricOf(ssraRow, "ndcg_at_10"), true)} | ${cell(metricOf(base, "ap_mean"), false)} | ${cell(metricOf(ssraRow, "ap_mean"), true)} | ${cell(bm25, false)} |`
    )
  }
  return rows.join("\n")
}

const tables = { "dev-table": devTable, "data-size": dataSize }
const names = only === undefined ? Object.keys(tables) : [only]
for (const name of names) {
  if (tables[name] === undefined) {
    console.error(`docs-numbers: unknown table ${name} (known: ${Object.keys(tables).join(", ")})`)
    process.exit(2)
  }
}

const markers = (name) => [`<!-- docs:numbers ${name} -->`, `<!-- /docs:numbers ${name} -->`]
const blockOf = (text, name) => {
  const [open, close] = markers(name)
  const start = text.indexOf(open)
  const end = text.indexOf(close)
  return start < 0 || end < start ? undefined : { start: start + open.length, end }
}
for (const name of names) {
  if (blockOf(fs.readFileSync(readme, "utf8"), name) === undefined) {
    console.error(`docs-numbers: README.md has no ${markers(name).join(" … ")} block`)
    process.exit(2)
  }
}
// the runs take minutes: README.md is read only once they are done, so edits made meanwhile are kept
const generated = Object.fromEntries(names.map((name) => [name, tables[name]()]))
const before = fs.readFileSync(readme, "utf8")
let after = before
for (const name of names) {
  const block = blockOf(after, name)
  after = `${after.slice(0, block.start)}\n${generated[name]}\n${after.slice(block.end)}`
}

if (check) {
  if (after !== before) {
    const a = before.split("\n")
    const b = after.split("\n")
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) console.error(`README.md:${i + 1}\n  committed:   ${a[i] ?? ""}\n  regenerated: ${b[i] ?? ""}`)
    }
    console.error("docs-numbers: README.md's measured tables are stale: run `pnpm docs:numbers` and commit")
    process.exit(1)
  }
  console.error("docs-numbers: README.md's measured tables match this commit")
} else if (after !== before) {
  const tmp = `${readme}.tmp-${process.pid}`
  fs.writeFileSync(tmp, after)
  fs.renameSync(tmp, readme)
  console.error("docs-numbers: README.md updated")
} else {
  console.error("docs-numbers: README.md already up to date")
}
