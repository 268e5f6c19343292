/**
 * Benchmark: training pairs/s, encoding docs/s and queries/s and peak memory of the embedded dual encoder on the
 * bundled data, against the same model (hashed features → 2^18 × 128 table, mean pooling, L2 norm, in-batch
 * InfoNCE over Matryoshka prefixes, τ 0.05, Adagrad) written densely in @tensorflow/tfjs (pure JS, CPU backend).
 * Each side runs in its own child process so peak RSS is its own.
 *
 *   pnpm --filter @ssra/embedding bench [-- --set kuake_qtr --tf-steps 6]
 */

import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { Grade, Jsonl, Pair } from "@ssra/core"
import { DualEncoder, EmbeddingTrainer, TrainingSet } from "@ssra/embedding"
import { Effect } from "effect"

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    part: { type: "string" },
    set: { type: "string", default: "kuake_qtr" },
    batch: { type: "string", default: "128" },
    dims: { type: "string", default: "128" },
    buckets: { type: "string", default: String(1 << 18) },
    epochs: { type: "string", default: "1" },
    "tf-steps": { type: "string", default: "3" },
    data: { type: "string", default: path.resolve(import.meta.dirname, "../../../data") }
  }
})

const B = Number(values.batch)
const DIMS = Number(values.dims)
const BUCKETS = Number(values.buckets)
const MATRYOSHKA = [32, 64, 128, 256, 512].filter((d) => d < DIMS).concat([DIMS])

const loadRows = Effect.gen(function* () {
  const labeled = yield* Jsonl.readAll(path.join(values.data!, values.set!, "labeled.jsonl"), Pair.LabeledPair)
  const scale = Grade.inferScale(labeled.map((p) => p.label))
  return { labeled, rows: TrainingSet.fromLabeledPairs(labeled, { scheme: "raw", scale }), scale }
})

const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024)

const ours = Effect.gen(function* () {
  const { labeled, rows, scale } = yield* loadRows
  const model = DualEncoder.make(
    { dimensions: DIMS, featurizer: { buckets: BUCKETS, charNgrams: [2], words: true, lowercase: true, seed: 0x5eed } },
    1
  )
  const started = performance.now()
  const result = yield* EmbeddingTrainer.train({
    model,
    rows,
    args: { epochs: Number(values.epochs), batchSize: B, gradeScaleMax: scale.max, progressEvery: 1_000_000 }
  })
  const trainSeconds = (performance.now() - started) / 1000
  const docs = [...new Set(labeled.map((p) => p.doc))]
  const queries = [...new Set(labeled.map((p) => p.query))]
  // featurization included: a fresh model has no cache
  const fresh = DualEncoder.clone(result.model)
  let t = performance.now()
  DualEncoder.encodeTexts(fresh, docs, "document")
  const docsPerSecond = docs.length / ((performance.now() - t) / 1000)
  t = performance.now()
  DualEncoder.encodeTexts(fresh, queries, "query")
  const queriesPerSecond = queries.length / ((performance.now() - t) / 1000)
  return {
    impl: "ssra typed arrays (sparse row-wise Adagrad)",
    rows: rows.length,
    steps: result.steps,
    trainSeconds: Number(trainSeconds.toFixed(2)),
    trainPairsPerSecond: Math.round((result.steps * B) / trainSeconds),
    docsPerSecond: Math.round(docsPerSecond),
    queriesPerSecond: Math.round(queriesPerSecond),
    peakRssMiB: peakMiB(),
    note: "training time includes featurizing (jieba + bigrams) every training text"
  }
})

const tfjs = Effect.gen(function* () {
  const tf = yield* Effect.promise(() => import("@tensorflow/tfjs"))
  yield* Effect.promise(() => tf.setBackend("cpu"))
  const { labeled, rows } = yield* loadRows
  const model = DualEncoder.make(
    { dimensions: DIMS, featurizer: { buckets: BUCKETS, charNgrams: [2], words: true, lowercase: true, seed: 0x5eed } },
    1
  )
  const featurize = (t: string) => model.featurizer.featurize(t)
  const table = tf.variable(tf.tensor2d(model.queryTable, [BUCKETS, DIMS]))
  const optimizer = tf.train.adagrad(0.05)
  const tau = 0.05
  // Dense formulation: a batch is a [b, buckets] matrix of pooling weights (count/n), pooled = X · table. (The
  // sparse-looking alternative, tf.gather, is unusable here: its gradient on the CPU backend is
  // unsortedSegmentSum, which loops over all 2^18 segments, each a full pass over the batch.)
  const pack = (texts: ReadonlyArray<string>) => {
    const x = new Float32Array(texts.length * BUCKETS)
    texts.forEach((t, i) => {
      const ids = featurize(t)
      for (const id of ids) x[i * BUCKETS + id] += 1 / ids.length
    })
    return tf.tensor2d(x, [texts.length, BUCKETS])
  }
  const pool = (x: any) => tf.matMul(x, table)
  const steps = Number(values["tf-steps"])
  const positives = rows.filter((r) => r.weight > 0)
  const batches: Array<Array<(typeof rows)[number]>> = []
  for (let s = 0; s < steps + 1; s++) batches.push(positives.slice(s * B, (s + 1) * B))
  const stepOnce = (batch: ReadonlyArray<(typeof rows)[number]>) => {
    const q = pack(batch.map((r) => r.query))
    const d = pack(batch.map((r) => r.positive))
    const w = tf.tensor1d(batch.map((r) => r.weight))
    const labels = tf.oneHot(tf.range(0, batch.length, 1, "int32"), batch.length)
    const cost = optimizer.minimize(() => {
      const qe = pool(q)
      const de = pool(d)
      let total: any = tf.scalar(0)
      for (const m of MATRYOSHKA) {
        const qm = tf.div(tf.slice(qe, [0, 0], [-1, m]), tf.norm(tf.slice(qe, [0, 0], [-1, m]), 2, 1, true))
        const dm = tf.div(tf.slice(de, [0, 0], [-1, m]), tf.norm(tf.slice(de, [0, 0], [-1, m]), 2, 1, true))
        const logits = tf.div(tf.matMul(qm, dm, false, true), tau)
        const ce = tf.losses.softmaxCrossEntropy(labels, logits, undefined, undefined, tf.Reduction.NONE)
        total = tf.add(total, tf.div(tf.sum(tf.mul(ce, w)), batch.length * MATRYOSHKA.length))
      }
      return total as any
    }, true)
    const value = cost!.dataSync()[0]!
    tf.dispose([q, d, w, labels, cost!])
    return value
  }
  stepOnce(batches[0]!) // warm-up (kernel setup)
  const started = performance.now()
  let last = 0
  for (let s = 1; s <= steps; s++) last = stepOnce(batches[s]!)
  const trainSeconds = (performance.now() - started) / 1000
  const docs = [...new Set(labeled.map((p) => p.doc))].slice(0, 1024)
  const t = performance.now()
  for (let i = 0; i < docs.length; i += 128) {
    const p = pack(docs.slice(i, i + 128))
    const v = tf.tidy(() => {
      const e = pool(p)
      return tf.div(e, tf.norm(e, 2, 1, true))
    })
    v.dataSync()
    tf.dispose([v, p])
  }
  const docsPerSecond = docs.length / ((performance.now() - t) / 1000)
  return {
    impl: `@tensorflow/tfjs ${tf.version.tfjs} (cpu backend, dense bag matrix · table, dense Adagrad)`,
    steps,
    lastLoss: Number(last.toFixed(4)),
    trainSeconds: Number(trainSeconds.toFixed(2)),
    trainPairsPerSecond: Number(((steps * B) / trainSeconds).toFixed(2)),
    docsPerSecond: Number(docsPerSecond.toFixed(1)),
    peakRssMiB: peakMiB(),
    note: "featurization of each batch included, like ours"
  }
})

const run = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runPromise(effect).then(
    (r) => console.log(JSON.stringify(r)),
    (error) => {
      console.error(String(error?.message ?? error))
      process.exit(1)
    }
  )

if (values.part === "ours") run(ours)
else if (values.part === "tfjs") run(tfjs)
else {
  const forward = process.argv.slice(2).filter((a) => !a.startsWith("--part"))
  const child = (part: string) => {
    const out = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, "--part", part, ...forward], {
      encoding: "utf8",
      maxBuffer: 1 << 24
    })
    if (out.status !== 0) throw new Error(`${part} failed: ${out.stderr}`)
    return JSON.parse(out.stdout.trim().split("\n").pop()!)
  }
  const a = child("ours")
  const b = child("tfjs")
  console.log(
    JSON.stringify(
      {
        set: values.set,
        batch: B,
        dims: DIMS,
        buckets: BUCKETS,
        ours: a,
        tfjs: b,
        trainingSpeedup: Math.round(a.trainPairsPerSecond / b.trainPairsPerSecond),
        encodingSpeedup: Math.round(a.docsPerSecond / b.docsPerSecond)
      },
      null,
      2
    )
  )
}
