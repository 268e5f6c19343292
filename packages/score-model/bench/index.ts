/**
 * Speed benchmark of the embedded score model on the bundled data: lexical feature extraction (pairs/s),
 * training time, grading throughput (pairs/s), save/load time and peak RSS. Quality numbers come from
 * bench/quality.ts.
 *
 *   pnpm --filter @ssra/score-model bench [-- --set kuake_qtr --rows 20000]
 */

import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Jsonl, Pair } from "@ssra/core"
import { Effect } from "effect"
import * as EmbeddedScoreModel from "../src/EmbeddedScoreModel.js"
import * as Features from "../src/Features.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const root = path.resolve(import.meta.dirname, "../../..")
const set = arg("set", "kuake_qtr")
const rows = Number(arg("rows", "20000"))

const seconds = (t0: number) => (performance.now() - t0) / 1000

const program = Effect.gen(function* () {
  const labeled = (yield* Jsonl.readAll(path.join(root, "data", set, "labeled.jsonl"), Pair.LabeledPair)).slice(0, rows)
  const test = yield* Jsonl.readAll(path.join(root, "data", set, "pair_test.jsonl"), Pair.LabeledPair)
  const lines: Array<string> = [
    `set ${set}, ${labeled.length} training pairs, ${test.length} graded pairs, node ${process.version}, ${os.cpus().length} CPUs`
  ]

  let t0 = performance.now()
  const resources = Features.resources([...new Set(labeled.map((p) => p.doc))].slice(0, 5000))
  lines.push(`lexical resources (5000-doc corpus, char + jieba BM25): ${seconds(t0).toFixed(2)} s`)
  t0 = performance.now()
  Features.lexical(resources, labeled)
  const featureSeconds = seconds(t0)
  lines.push(
    `lexical features: ${(labeled.length / featureSeconds).toFixed(0)} pairs/s (${featureSeconds.toFixed(2)} s for ${labeled.length})`
  )

  t0 = performance.now()
  const model = yield* EmbeddedScoreModel.train({ pairs: labeled, seed: 7 })
  lines.push(
    `train (softmax, 32 hidden, features included): ${seconds(t0).toFixed(2)} s, ${model.config.training.epochs} epochs`
  )

  t0 = performance.now()
  yield* model.grade(test)
  const gradeSeconds = seconds(t0)
  lines.push(
    `grade: ${(test.length / gradeSeconds).toFixed(0)} pairs/s (${gradeSeconds.toFixed(2)} s for ${test.length})`
  )

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-score-bench-"))
  t0 = performance.now()
  yield* EmbeddedScoreModel.save(model, dir)
  const saveSeconds = seconds(t0)
  t0 = performance.now()
  yield* EmbeddedScoreModel.load(dir)
  const loadSeconds = seconds(t0)
  const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0)
  lines.push(
    `save ${saveSeconds.toFixed(2)} s, load ${loadSeconds.toFixed(2)} s, checkpoint ${(bytes / 1024).toFixed(0)} KiB`
  )
  lines.push(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
  console.log(lines.join("\n"))
})

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
