// Speed and memory of the embedded query model on the bundled Quark set: training (selector over D2Q rows and
// score-model-labeled candidates), generation throughput, checkpoint size and save/load time, peak RSS.
// Quality (grade agreement, duplicates) is bench/quality.ts.
//
//   tsx --conditions=@ssra/source bench/index.ts [--set kuake_qtr] [--train-docs 1000] [--requests 1500]

import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Grade, Jsonl, type Models, Pair, Sampling } from "@ssra/core"
import { EmbeddedQueryModel } from "@ssra/query-model"
import { EmbeddedScoreModel } from "@ssra/score-model"
import { Effect } from "effect"

const args = process.argv.slice(2)
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const set = arg("set", "kuake_qtr")
const trainDocs = Number(arg("train-docs", "1000"))
const requestCount = Number(arg("requests", "1500"))
const data = path.resolve(import.meta.dirname, "../../../data", set)
let peak = 0
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss))
const timer = setInterval(sample, 50)

const main = Effect.gen(function* () {
  const labeled = yield* Jsonl.readAll(path.join(data, "labeled.jsonl"), Pair.LabeledPair, { onInvalid: "skip" })
  const unlabeled = yield* Jsonl.readAll(path.join(data, "unlabeled.jsonl"), Pair.UnlabeledPair, { onInvalid: "skip" })
  const scale = Grade.inferScale(labeled.map((p) => p.label))
  const grader = yield* EmbeddedScoreModel.train({ pairs: labeled, scale, seed: 1 })
  const groups = new Map<string, Pair.D2QGroup & { queries: Array<Pair.D2QGroup["queries"][number]> }>()
  for (const p of labeled) {
    let g = groups.get(p.did)
    if (g === undefined) groups.set(p.did, (g = { did: p.did, doc: p.doc, queries: [] }))
    g.queries.push({ query: p.query, grade: p.label, origin: "human" })
  }
  const queryPool = [...labeled.map((p) => p.query), ...unlabeled.map((p) => p.query)]
  const t0 = performance.now()
  const model = yield* EmbeddedQueryModel.train({
    d2q: [...groups.values()],
    queryPool,
    grader,
    scale,
    seed: 1,
    maxTrainingDocs: trainDocs
  })
  const trainS = (performance.now() - t0) / 1000
  const docs = Sampling.sample([...groups.values()], Math.ceil(requestCount / scale.max), 2)
  const requests: Array<Models.QueryRequest> = docs
    .flatMap((g) =>
      Grade.grades(scale)
        .slice(1)
        .map((grade) => ({ document: { id: g.did, title: g.doc, text: g.doc }, targetGrade: grade, n: 1, seed: 3 }))
    )
    .slice(0, requestCount)
  const t1 = performance.now()
  yield* model.generate(requests)
  const genS = (performance.now() - t1) / 1000
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qm-bench-"))
  const t2 = performance.now()
  yield* EmbeddedQueryModel.save(model, dir)
  const saveS = (performance.now() - t2) / 1000
  const bytes = fs.statSync(path.join(dir, EmbeddedQueryModel.checkpointFile)).size
  const t3 = performance.now()
  yield* EmbeddedQueryModel.load(dir)
  const loadS = (performance.now() - t3) / 1000
  sample()
  clearInterval(timer)
  const r = model.report
  console.log(
    JSON.stringify(
      {
        set,
        trainDocs,
        trainingRows: r.rows.train + r.rows.heldOut,
        pool: model.checkpoint.pool.queries.length,
        trainSeconds: +trainS.toFixed(2),
        trainRowsPerSecond: Math.round((r.rows.train + r.rows.heldOut) / trainS),
        requests: requests.length,
        generateSeconds: +genS.toFixed(2),
        requestsPerSecond: Math.round(requests.length / genS),
        checkpointMiB: +(bytes / 2 ** 20).toFixed(2),
        saveSeconds: +saveS.toFixed(2),
        loadSeconds: +loadS.toFixed(2),
        peakRssMiB: Math.round(peak / 2 ** 20)
      },
      null,
      2
    )
  )
})

Effect.runPromise(main).catch((e) => {
  clearInterval(timer)
  console.error(e)
  process.exit(1)
})
