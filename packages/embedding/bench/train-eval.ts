/**
 * Trains the embedded dual encoder on data/<set>/labeled.jsonl (grade-weighted) and reports nDCG@10 on
 * data/<set>/retrieval_test.jsonl for the untrained and the trained model (trec_eval-style, see retrieval.ts).
 *
 * Defaults = the best measured recipe: raw grade weights (the paper), 5 epochs, batch 128, Adagrad lr 0.05, τ 0.05,
 * each row's lower-graded documents of the same query as explicit negatives, 3 hard negatives mined with the
 * start model (5% margin), margin masking 0.1.
 *
 *   pnpm --filter @ssra/embedding quality -- --set qbqtc
 *   pnpm --filter @ssra/embedding quality -- --set kuake_qtr --hard 0 --list none --epochs 3   (plain in-batch)
 */
import { Grade, Jsonl, Pair } from "@ssra/core"
import { DualEncoder, EmbeddingTrainer, TrainingSet } from "@ssra/embedding"
import { Effect } from "effect"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { evaluateRetrieval, groupByQuery } from "./retrieval.js"

const { values } = parseArgs({
  options: {
    set: { type: "string", default: "kuake_qtr" },
    epochs: { type: "string", default: "5" },
    batch: { type: "string", default: "128" },
    lr: { type: "string", default: "0.05" },
    tau: { type: "string", default: "0.05" },
    dims: { type: "string", default: "128" },
    buckets: { type: "string", default: String(1 << 18) },
    scheme: { type: "string", default: "raw" },
    list: { type: "string", default: "lower-grades" },
    towers: { type: "string", default: "shared" },
    pooling: { type: "string", default: "mean" },
    weighting: { type: "string", default: "none" },
    ngrams: { type: "string", default: "2" },
    words: { type: "string", default: "true" },
    init: { type: "string", default: "0.1" },
    margin: { type: "string", default: "0.1" },
    negatives: { type: "string", default: "3" },
    hard: { type: "string", default: "3" },
    "hard-source": { type: "string", default: "start" },
    qq: { type: "boolean", default: false },
    dd: { type: "boolean", default: false },
    "learn-tau": { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    save: { type: "string" },
    data: { type: "string", default: path.resolve(import.meta.dirname, "../../../data") }
  }
})

const program = Effect.gen(function* () {
  const dir = path.join(values.data!, values.set!)
  const labeled = yield* Jsonl.readAll(path.join(dir, "labeled.jsonl"), Pair.LabeledPair)
  const test = groupByQuery(yield* Jsonl.readAll(path.join(dir, "retrieval_test.jsonl"), Pair.LabeledPair))
  const scale = Grade.inferScale(labeled.map((p) => p.label))
  const rows = TrainingSet.fromLabeledPairs(labeled, { scheme: values.scheme as "raw", scale, listNegatives: values.list as "none" | undefined })
  const dims = Number(values.dims)
  const model = DualEncoder.make(
    {
      dimensions: dims,
      towers: values.towers as "shared",
      pooling: values.pooling as "mean",
      featureWeighting: values.weighting as "none",
      initScale: Number(values.init),
      featurizer: { buckets: Number(values.buckets), charNgrams: values.ngrams!.split(",").map(Number), words: values.words === "true", lowercase: true, seed: 0x5eed }
    },
    Number(values.seed)
  )
  if (values.weighting === "idf") DualEncoder.fitFeatureWeights(model, [...new Set(labeled.flatMap((p) => [p.query, p.doc]))])
  const before = yield* evaluateRetrieval(model, test)
  const hard = Number(values.hard)
  const args: Partial<EmbeddingTrainer.TrainingArgs> = {
    epochs: Number(values.epochs),
    batchSize: Number(values.batch),
    learningRate: Number(values.lr),
    temperature: Number(values.tau),
    learnTemperature: values["learn-tau"]!,
    queryQuery: values.qq!,
    documentDocument: values.dd!,
    falseNegativeMargin: values.margin === "none" ? null : Number(values.margin),
    maxNegativesPerRow: Number(values.negatives),
    hardNegatives: hard > 0 ? { k: hard, margin: 0.05, source: values["hard-source"] as "start", dimensions: 64, guardMinGrade: 2 } : null,
    gradeScaleMax: scale.max,
    seed: Number(values.seed),
    progressEvery: 50
  }
  const started = performance.now()
  const result = yield* EmbeddingTrainer.train({
    model,
    rows,
    args,
    onProgress: (e) =>
      console.error(`step ${e.step}/${e.totalSteps} epoch ${e.epoch} loss ${e.loss.toFixed(4)} ${e.pairsPerSecond.toFixed(0)} pairs/s eta ${e.etaSeconds.toFixed(0)}s τ ${e.temperature.toFixed(4)}`)
  })
  const seconds = (performance.now() - started) / 1000
  const after = yield* evaluateRetrieval(result.model, test)
  const after64 = yield* evaluateRetrieval(result.model, test, Math.min(64, dims))
  if (values.save !== undefined) yield* DualEncoder.save(result.model, values.save)
  const report = {
    set: values.set,
    rows: rows.length,
    testQueries: test.length,
    args: { ...args, dims, buckets: Number(values.buckets), towers: values.towers, scheme: values.scheme, list: values.list, ngrams: values.ngrams, words: values.words, pooling: values.pooling, weighting: values.weighting },
    trainSeconds: Number(seconds.toFixed(1)),
    steps: result.steps,
    ndcg10: { untrained: Number(before.toFixed(4)), trained: Number(after.toFixed(4)), trained64: Number(after64.toFixed(4)) }
  }
  console.log(JSON.stringify(report))
})

Effect.runPromise(program).catch((error) => {
  console.error(String(error?.message ?? error))
  process.exit(1)
})
