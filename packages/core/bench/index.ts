/**
 * @ssra/core I/O benchmark: writes and reads a generated LabeledPair file as JSONL and as Parquet, each phase in
 * its own process, and prints throughput (rows/s, MB/s of file bytes) and peak memory (maxRSS, which includes the
 * Node + tsx baseline shown by the `idle` row).
 *
 *   pnpm --filter @ssra/core bench            # 1,000,000 rows
 *   BENCH_ROWS=200000 pnpm --filter @ssra/core bench
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const rows = Number(process.env.BENCH_ROWS ?? process.argv[2] ?? 1_000_000)
const phaseFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "phase.ts")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-core-bench-"))

interface Result {
  readonly phase: string
  readonly rows: number
  readonly bytes: number
  readonly seconds: number
  readonly cpuSeconds: number
  readonly maxRssMiB: number
}

const runPhase = (phase: string, file: string): Result => {
  // process.execArgv carries tsx's loader and the @ssra/source condition into the child.
  const child = spawnSync(process.execPath, [...process.execArgv, phaseFile, phase, file, String(rows)], {
    encoding: "utf8",
    maxBuffer: 1 << 20
  })
  if (child.status !== 0) throw new Error(`phase ${phase} failed (${child.status}): ${child.stderr}`)
  const line = child.stdout.trim().split("\n").pop()!
  return JSON.parse(line) as Result
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

try {
  const jsonl = path.join(dir, "pairs.jsonl")
  const parquet = path.join(dir, "pairs.parquet")
  const results = [
    runPhase("idle", ""),
    runPhase("generate-only", ""),
    runPhase("jsonl-write", jsonl),
    runPhase("jsonl-read", jsonl),
    runPhase("parquet-write", parquet),
    runPhase("parquet-read", parquet)
  ]
  console.log(
    `@ssra/core I/O benchmark — ${fmt(rows)} LabeledPair rows, node ${process.version}, ${os.cpus().length} CPUs, ${new Date().toISOString()}`
  )
  console.log("")
  console.log("| phase | rows | file MB | wall s | CPU s | rows/s | MB/s | peak RSS MiB |")
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|")
  for (const r of results) {
    const mb = r.bytes / 1e6
    console.log(
      `| ${r.phase} | ${fmt(r.rows)} | ${r.bytes ? fmt(mb, 1) : "–"} | ${fmt(r.seconds, 2)} | ${fmt(r.cpuSeconds, 2)} | ${r.rows ? fmt(r.rows / r.seconds) : "–"} | ${r.bytes ? fmt(mb / r.seconds, 1) : "–"} | ${fmt(r.maxRssMiB)} |`
    )
  }
  console.log("")
  console.log(
    "rows/s and MB/s use wall time. generate-only: producing the rows without writing (the write phases include it). " +
      "CPU s and peak RSS include the idle row (Node + tsx start-up)."
  )
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
