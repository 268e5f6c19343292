/**
 * Benchmarks of the metric hot paths: nDCG@10 (and MAP/Recall/P/MRR@10 in the same pass) over 100k queries ×
 * 100 candidates (from packed arrays, from `Map`s, and from TREC files as trec_eval reads them), and AP at
 * thresholds ≥1/2/3 over 1M graded pairs. Each case runs in its own child process so its peak RSS is its own; the
 * TREC files are written by a separate child first. Reports wall and CPU time. Usage: `pnpm bench` (or
 * `tsx --conditions=@ssra/source bench/index.ts [case] [scale] [dir]`; `write-trec-files 1 DIR` writes the files).
 */
import { fork } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Sampling } from "@ssra/core"
import { Effect } from "effect"
import { Metrics, Statistics, Trec } from "../src/index.js"

const cases = [
  "ndcg-packed",
  "ndcg-trec-maps",
  "ndcg-trec-evaluate-files",
  "ndcg-trec-files",
  "ap-1m",
  "ap-bootstrap"
] as const
type Case = (typeof cases)[number]

/** Wall time and CPU time (user + system, all threads) of `f`. */
const time = <A>(f: () => A): { value: A; ms: number; cpuMs: number } => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const value = f()
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { value, ms, cpuMs: (c.user + c.system) / 1000 }
}

/**
 * Writes the synthetic run as TREC qrels + run files (what trec_eval would read) into `dir` (a fresh temporary
 * folder when not given).
 */
const writeTrecFiles = (r: ReturnType<typeof makeRun>, queries: number, into?: string) => {
  const dir = into ?? mkdtempSync(join(tmpdir(), "ssra-bench-"))
  const qrelsFile = join(dir, "bench.qrels")
  const runFile = join(dir, "bench.run")
  const qrelsFd = openSync(qrelsFile, "w")
  const runFd = openSync(runFile, "w")
  for (let q = 0; q < queries; q++) {
    let qrelsText = ""
    let runText = ""
    for (let p = r.offsets[q]!; p < r.offsets[q + 1]!; p++) {
      qrelsText += `q${q} 0 ${r.ids[p]} ${r.gains[p]}\n`
      runText += `q${q} Q0 ${r.ids[p]} ${p - r.offsets[q]! + 1} ${r.scores[p]} bench\n`
    }
    writeSync(qrelsFd, qrelsText)
    writeSync(runFd, runText)
  }
  closeSync(qrelsFd)
  closeSync(runFd)
  return { dir, qrelsFile, runFile, runBytes: statSync(runFile).size }
}

/**
 * The TREC files of a file case: those in `dir` (written beforehand by the `write-trec-files` child, so this
 * process's peak RSS is the evaluation's alone), or written here when no `dir` is given.
 */
const trecFiles = (queries: number, dir: string | undefined) => {
  if (dir !== undefined) {
    const qrelsFile = join(dir, "bench.qrels")
    const runFile = join(dir, "bench.run")
    return { cleanup: () => undefined, qrelsFile, runFile, runBytes: statSync(runFile).size }
  }
  const files = writeTrecFiles(makeRun(queries, 100), queries)
  return { ...files, cleanup: () => rmSync(files.dir, { recursive: true }) }
}

/** Synthetic run: `queries` × `perQuery` candidates, grades 0–3, scores on a 1/1000 grid (so ties happen). */
const makeRun = (queries: number, perQuery: number, seed = 1) => {
  const rng = new Sampling.SeededRandom(seed)
  const n = queries * perQuery
  const offsets = new Uint32Array(queries + 1)
  const scores = new Float64Array(n)
  const gains = new Float64Array(n)
  const ids: Array<string> = new Array(n)
  for (let q = 0; q < queries; q++) {
    for (let j = 0; j < perQuery; j++) {
      const p = q * perQuery + j
      const g = rng.next()
      gains[p] = g < 0.5 ? 0 : g < 0.75 ? 1 : g < 0.9 ? 2 : 3
      scores[p] = Math.round((gains[p]! * 0.15 + rng.next()) * 1000) / 1000
      ids[p] = `d${j}`
    }
    offsets[q + 1] = (q + 1) * perQuery
  }
  return { offsets, scores, gains, ids }
}

const run = (name: Case | "write-trec-files", scale: number, dir: string | undefined): Record<string, unknown> => {
  switch (name) {
    case "write-trec-files": {
      const queries = Math.round(100_000 * scale)
      const { runBytes } = writeTrecFiles(makeRun(queries, 100), queries, dir)
      return { queries, runBytes }
    }
    case "ndcg-packed": {
      const queries = Math.round(100_000 * scale)
      const r = makeRun(queries, 100)
      const { value, ms, cpuMs } = time(() =>
        Metrics.evaluateRankings({ ...r, judgedOffsets: r.offsets, judgedGains: r.gains }, [10])
      )
      let s = 0
      for (const v of value.ndcg_at_10!) s += v
      return {
        queries,
        candidates: queries * 100,
        ms,
        cpuMs,
        "ndcg@10": s / queries,
        note: "packed typed arrays → nDCG/MAP/Recall/P/MRR@10"
      }
    }
    case "ndcg-trec-maps": {
      const queries = Math.round(100_000 * scale)
      const r = makeRun(queries, 100)
      const qrels: Trec.Qrels = new Map()
      const runMap: Trec.Run = new Map()
      for (let q = 0; q < queries; q++) {
        const j = new Map<string, number>()
        const s = new Map<string, number>()
        for (let p = r.offsets[q]!; p < r.offsets[q + 1]!; p++) {
          j.set(r.ids[p]!, r.gains[p]!)
          s.set(r.ids[p]!, r.scores[p]!)
        }
        qrels.set(`q${q}`, j)
        runMap.set(`q${q}`, s)
      }
      const { value, ms, cpuMs } = time(() => Effect.runSync(Trec.evaluate(qrels, runMap, { measures: ["ndcg@10"] })))
      return {
        queries,
        candidates: queries * 100,
        ms,
        cpuMs,
        "ndcg@10": value.mean.ndcg_at_10,
        note: "Trec.evaluate from in-memory qrels/run maps (packing included)"
      }
    }
    case "ndcg-trec-evaluate-files": {
      const queries = Math.round(100_000 * scale)
      const { cleanup, qrelsFile, runFile, runBytes } = trecFiles(queries, dir)
      const before = process.memoryUsage().rss
      const { value, ms, cpuMs } = time(() =>
        Effect.runSync(Trec.evaluateFiles(qrelsFile, runFile, { measures: ["ndcg@10"] }))
      )
      cleanup()
      return {
        queries,
        candidates: queries * 100,
        runBytes,
        ms,
        cpuMs,
        rssBeforeMiB: Math.round(before / 2 ** 20),
        "ndcg@10": value.mean.ndcg_at_10,
        note: "Trec.evaluateFiles: both files parsed from bytes into packed arrays, then one packed ranking pass"
      }
    }
    case "ndcg-trec-files": {
      const queries = Math.round(100_000 * scale)
      const { cleanup, qrelsFile, runFile, runBytes } = trecFiles(queries, dir)
      const before = process.memoryUsage().rss
      const { value, ms, cpuMs } = time(() =>
        Effect.runSync(
          Effect.gen(function* () {
            const qrels = yield* Trec.readQrels(qrelsFile)
            const parsed = yield* Trec.readRun(runFile)
            return yield* Trec.evaluate(qrels, parsed, { measures: ["ndcg@10"] })
          })
        )
      )
      cleanup()
      return {
        queries,
        candidates: queries * 100,
        runBytes,
        ms,
        cpuMs,
        rssBeforeMiB: Math.round(before / 2 ** 20),
        "ndcg@10": value.mean.ndcg_at_10,
        note: "Trec.readQrels + Trec.readRun (Maps, byte parser underneath) + Trec.evaluate"
      }
    }
    case "ap-1m": {
      const n = Math.round(1_000_000 * scale)
      const rng = new Sampling.SeededRandom(2)
      const labels = new Int32Array(n)
      const scores = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        labels[i] = rng.int(4)
        scores[i] = Math.round((labels[i]! * 0.2 + rng.next()) * 10_000) / 10_000
      }
      const { value, ms, cpuMs } = time(() => Metrics.averagePrecisionAtThresholds(labels, scores, [1, 2, 3]))
      return {
        pairs: n,
        ms,
        cpuMs,
        "ap@>=1": value[0],
        "ap@>=2": value[1],
        "ap@>=3": value[2],
        note: "native sorts + one merge walk, AP at ≥1/≥2/≥3"
      }
    }
    case "ap-bootstrap": {
      const n = Math.round(100_000 * scale)
      const rng = new Sampling.SeededRandom(3)
      const labels = new Int32Array(n)
      const scores = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        labels[i] = rng.int(4)
        scores[i] = labels[i]! * 0.2 + rng.next()
      }
      const { value, ms, cpuMs } = time(() =>
        Statistics.averagePrecisionIntervals(labels, scores, [1, 2, 3], { resamples: 200, seed: 1 })
      )
      return {
        pairs: n,
        resamples: 200,
        ms,
        cpuMs,
        ci: value,
        note: "bootstrap CIs of AP (presorted, O(n) per resample)"
      }
    }
  }
}

const [, , only, scaleArg, dirArg] = process.argv
const scale = scaleArg === undefined ? 1 : Number(scaleArg)
const fileCases: ReadonlyArray<string> = ["ndcg-trec-evaluate-files", "ndcg-trec-files"]

const child = (c: string, args: ReadonlyArray<string>) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), [c, ...args], {
      execArgv: [...process.execArgv, "--max-old-space-size=6144"]
    })
    proc.on("message", (m) => resolve(m as Record<string, unknown>))
    proc.on("exit", (code) => (code === 0 ? undefined : reject(new Error(`${c} exited ${code}`))))
  })

if (only !== undefined && (only === "write-trec-files" || (cases as ReadonlyArray<string>).includes(only))) {
  const result = run(only as Case, scale, dirArg)
  const maxRssMiB = process.resourceUsage().maxRSS / 1024
  const usage = process.resourceUsage()
  const line = {
    case: only,
    ...result,
    peakRssMiB: Math.round(maxRssMiB),
    processCpuS: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e4) / 100
  }
  process.send?.(line)
  if (process.send === undefined) console.log(JSON.stringify(line))
} else {
  const selected = only === undefined ? cases : cases.filter((c) => c === only)
  console.log(`# ${new Date().toISOString()} node ${process.version} scale ${scale}`)
  const dir = mkdtempSync(join(tmpdir(), "ssra-bench-"))
  try {
    if (selected.some((c) => fileCases.includes(c))) await child("write-trec-files", [String(scale), dir])
    for (const c of selected) console.log(JSON.stringify(await child(c, [String(scale), dir])))
  } finally {
    rmSync(dir, { recursive: true })
  }
}
