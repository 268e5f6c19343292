/**
 * Quality benchmark: trains the embedded score model on data/<set>/labeled.jsonl and evaluates it on
 * data/<set>/pair_test.jsonl against the majority-class and BM25-threshold baselines (both fit on the same
 * training pairs). Prints a Markdown report.
 *
 *   tsx --conditions=@ssra/source bench/quality.ts [--sets qbqtc,kuake_qtr] [--limit N] [--head softmax|cumulative]
 *       [--hidden 32] [--weights balanced|sqrt|none] [--seed 7] [--embedder none|held-out] [--encoder-epochs 3] [--out report.md]
 *
 * `--embedder held-out` splits the labeled queries in half (seeded, by qid): a DualEncoder (@ssra/embedding,
 * default config, EmbeddingTrainer defaults, grade-0 documents kept as negatives) trains on one half, the score
 * model trains on the other half with the encoder's cosine as an extra feature, so the similarity it learns from
 * is as "unseen" as on the test file. The lexical-only model on the same half is reported alongside.
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Grade, Jsonl, Pair, Sampling } from "@ssra/core"
import { DualEncoder, EmbeddingTrainer, TrainingSet } from "@ssra/embedding"
import { Effect } from "effect"
import * as Baselines from "../src/Baselines.js"
import * as EmbeddedScoreModel from "../src/EmbeddedScoreModel.js"
import * as TrainingReport from "../src/TrainingReport.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const root = path.resolve(import.meta.dirname, "../../..")
const sets = arg("sets", "qbqtc,kuake_qtr").split(",")
const limit = Number(arg("limit", "0"))
const head = arg("head", "softmax") as "softmax" | "cumulative"
const hidden = Number(arg("hidden", "32"))
const weights = arg("weights", "sqrt") as "balanced" | "sqrt" | "none"
const seed = Number(arg("seed", "7"))
const out = arg("out", "")
const embedderMode = arg("embedder", "none")
const learningRate = arg("lr", "") === "" ? undefined : Number(arg("lr", ""))
const patience = arg("patience", "") === "" ? undefined : Number(arg("patience", ""))
const encoderEpochs = Number(arg("encoder-epochs", "3"))

const program = Effect.gen(function* () {
  const sections: Array<string> = []
  for (const set of sets) {
    let labeled = yield* Jsonl.readAll(path.join(root, "data", set, "labeled.jsonl"), Pair.LabeledPair)
    if (limit > 0) labeled = labeled.slice(0, limit)
    const test = yield* Jsonl.readAll(path.join(root, "data", set, "pair_test.jsonl"), Pair.LabeledPair)
    const scale = Grade.inferScale(labeled.map((p) => p.label))
    const extra: Array<TrainingReport.Evaluation> = []
    let scoreTrain = labeled
    let embedder: DualEncoder.DualEncoderModel | undefined
    let encoderNote = ""
    if (embedderMode === "held-out") {
      const halves = Sampling.splitByGroup(labeled, (p) => p.qid, 0.5, seed)
      const rows = TrainingSet.fromLabeledPairs(halves.first, { scheme: "negatives-kept", scale })
      const e0 = performance.now()
      const trained = yield* EmbeddingTrainer.train({
        model: DualEncoder.make({}, seed),
        rows,
        args: { gradeScaleMax: scale.max, seed, epochs: encoderEpochs }
      })
      embedder = trained.model
      scoreTrain = halves.second
      encoderNote = `DualEncoder trained on ${halves.first.length} labeled pairs (${rows.length} rows, ${trained.steps} steps, ${((performance.now() - e0) / 1000).toFixed(0)} s); score model trained on the other ${halves.second.length}. `
      const lexicalHalf = yield* EmbeddedScoreModel.train({
        pairs: scoreTrain,
        scale,
        seed,
        classifier: { head, hidden, learningRate, patience },
        classWeights: weights
      })
      extra.push(
        yield* TrainingReport.evaluate(lexicalHalf, test, {
          name: `lexical only, same half (${head}, hidden ${hidden}, ${weights})`
        })
      )
    }
    const started = performance.now()
    const model = yield* EmbeddedScoreModel.train({
      pairs: scoreTrain,
      scale,
      seed,
      embedder,
      classifier: { head, hidden, learningRate, patience },
      classWeights: weights
    })
    const trainSeconds = (performance.now() - started) / 1000
    const t0 = performance.now()
    const evaluation = yield* TrainingReport.evaluate(model, test, {
      name: `embedded${embedder ? " + encoder cosine" : ""} (${head}, hidden ${hidden}, ${weights})`
    })
    const gradeSeconds = (performance.now() - t0) / 1000
    const majority = yield* TrainingReport.evaluate(
      Baselines.majority(
        labeled.map((p) => p.label),
        model.scale
      ),
      test,
      { name: "majority" }
    )
    const bm25 = yield* TrainingReport.evaluate(Baselines.bm25Threshold(labeled, model.scale), test, {
      name: "bm25-threshold",
      withCalibration: false
    })
    const cfg = model.config
    sections.push(
      TrainingReport.markdown(
        `${set}: train ${labeled.length} labeled pairs → test ${test.length} pair_test pairs (scale 0–${model.scale.max})`,
        [evaluation, ...extra, majority, bm25]
      ),
      "",
      `${encoderNote}Training: ${trainSeconds.toFixed(1)} s (${cfg.training.trainRows} train / ${cfg.training.heldOutRows} held-out rows, best epoch ${cfg.training.bestEpoch} of ${cfg.training.epochs}, temperature ${cfg.temperature.toFixed(3)}; held-out macro-F1 ${EmbeddedScoreModel.heldOutReport(model).model.metrics.macroF1?.toFixed(3)}, accuracy ${EmbeddedScoreModel.heldOutReport(model).model.metrics.accuracy?.toFixed(3)}); grading ${test.length} pairs: ${gradeSeconds.toFixed(2)} s. Beats majority on macro-F1: ${(evaluation.metrics.macroF1 ?? 0) > (majority.metrics.macroF1 ?? 0)}; beats BM25-threshold: ${(evaluation.metrics.macroF1 ?? 0) > (bm25.metrics.macroF1 ?? 0)}.`,
      ""
    )
  }
  const text = sections.join("\n")
  console.log(text)
  if (out !== "") fs.writeFileSync(out, text + "\n")
})

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
