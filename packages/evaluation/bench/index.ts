/**
 * Benchmarks of the metric hot paths: nDCG@10 (and MAP/Recall/P/MRR@10 in the same pass) over 100k queries ×
 * 100 candidates, and AP at thresholds ≥1/2/3 over 1M graded pairs. Each case runs in its own child process so
 * its peak RSS is its own. Usage: `pnpm bench` (or `tsx --conditions=@ssra/source bench/index.ts [case] [scale]`).
 */
import { fork } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Sampling } from "@ssra/core"
import { Effect } from "effect"
import { Metrics, Statistics, Trec } from "../src/index.js"

const cases = ["ndcg-packed", "ndcg-trec-maps", "ndcg-trec-files", "ap-1m", "ap-bootstrap"] as const
type Case = (typeof cases)[number]

const time = <A>(f: () => A): { value: A; ms: number } => {
  const t0 = performance.now()
  const value = f()
  return { value, ms: performance.now() - t0 }
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

const run = (name: Case, scale: number): Record<string, unknown> => {
  switch (name) {
    case "ndcg-packed": {
      const queries = Math.round(100_000 * scale)
      const r = makeRun(queries, 100)
      const { value, ms } = time(() =>
        Metrics.evaluateRankings({ ...r, judgedOffsets: r.offsets, judgedGains: r.gains }, [10])
      )
      let s = 0
      for (const v of value.ndcg_at_10!) s += v
      return {
        queries,
        candidates: queries * 100,
        ms,
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
      const { value, ms } = time(() => Effect.runSync(Trec.evaluate(qrels, runMap, { measures: ["ndcg@10"] })))
      return {
        queries,
        candidates: queries * 100,
        ms,
        "ndcg@10": value.mean.ndcg_at_10,
        note: "Trec.evaluate from in-memory qrels/run maps (packing included)"
      }
    }
    case "ndcg-trec-files": {
      const queries = Math.round(100_000 * scale)
      const r = makeRun(queries, 100)
      const dir = mkdtempSync(join(tmpdir(), "ssra-bench-"))
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
      const runBytes = statSync(runFile).size
      const { value, ms } = time(() =>
        Effect.runSync(
          Effect.gen(function* () {
            const qrels = yield* Trec.readQrels(qrelsFile)
            const parsed = yield* Trec.readRun(runFile)
            return yield* Trec.evaluate(qrels, parsed, { measures: ["ndcg@10"] })
          })
        )
      )
      rmSync(dir, { recursive: true })
      return {
        queries,
        candidates: queries * 100,
        runBytes,
        ms,
        "ndcg@10": value.mean.ndcg_at_10,
        note: "Trec.readQrels + Trec.readRun (streamed from disk) + Trec.evaluate: the trec_eval workload"
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
      const { value, ms } = time(() => Metrics.averagePrecisionAtThresholds(labels, scores, [1, 2, 3]))
      return {
        pairs: n,
        ms,
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
      const { value, ms } = time(() =>
        Statistics.averagePrecisionIntervals(labels, scores, [1, 2, 3], { resamples: 200, seed: 1 })
      )
      return { pairs: n, resamples: 200, ms, ci: value, note: "bootstrap CIs of AP (presorted, O(n) per resample)" }
    }
  }
}

const [, , only, scaleArg] = process.argv
const scale = scaleArg === undefined ? 1 : Number(scaleArg)
if (only !== undefined && (cases as ReadonlyArray<string>).includes(only)) {
  const result = run(only as Case, scale)
  const maxRssMiB = process.resourceUsage().maxRSS / 1024
  process.send?.({ case: only, ...result, peakRssMiB: Math.round(maxRssMiB) })
  if (process.send === undefined)
    console.log(JSON.stringify({ case: only, ...result, peakRssMiB: Math.round(maxRssMiB) }))
} else {
  const self = fileURLToPath(import.meta.url)
  console.log(`# ${new Date().toISOString()} node ${process.version} scale ${scale}`)
  for (const c of cases) {
    const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const child = fork(self, [c, String(scale)], { execArgv: [...process.execArgv, "--max-old-space-size=6144"] })
      child.on("message", (m) => resolve(m as Record<string, unknown>))
      child.on("exit", (code) => (code === 0 ? undefined : reject(new Error(`${c} exited ${code}`))))
    })
    console.log(JSON.stringify(result))
  }
}
