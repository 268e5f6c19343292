/**
 * How well single similarity scores separate grade ≥ 1 from grade 0 on data/<set>/pair_test.jsonl: mean score per
 * grade and the AUC, for an untrained DualEncoder, a DualEncoder trained on half the labeled queries (as in
 * `quality.ts --embedder held-out`), and plain character-bigram cosine.
 *
 *   tsx --conditions=@ssra/source bench/similarity.ts [--set qbqtc] [--seed 7]
 */

import * as path from "node:path"
import { Grade, Jsonl, Pair, Sampling } from "@ssra/core"
import { DualEncoder, EmbeddingTrainer, TrainingSet } from "@ssra/embedding"
import { CharNgram } from "@ssra/text"
import { Effect } from "effect"
import * as Features from "../src/Features.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const root = path.resolve(import.meta.dirname, "../../..")
const set = arg("set", "qbqtc")
const seed = Number(arg("seed", "7"))

/** AUC of `scores` for label ≥ 1 against label 0 (ties count half). */
const auc = (labels: ReadonlyArray<number>, scores: ArrayLike<number>): number => {
  let wins = 0
  let pairs = 0
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! < 1) continue
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0
      pairs++
    }
  }
  return wins / pairs
}

const program = Effect.gen(function* () {
  const labeled = yield* Jsonl.readAll(path.join(root, "data", set, "labeled.jsonl"), Pair.LabeledPair)
  const test = yield* Jsonl.readAll(path.join(root, "data", set, "pair_test.jsonl"), Pair.LabeledPair)
  const scale = Grade.inferScale(labeled.map((p) => p.label))
  const halves = Sampling.splitByGroup(labeled, (p) => p.qid, 0.5, seed)
  const rows = TrainingSet.fromLabeledPairs(halves.first, { scheme: "negatives-kept", scale })
  const untrained = yield* Features.embedderSimilarity(DualEncoder.make({}, seed), test)
  const trained = yield* EmbeddingTrainer.train({
    model: DualEncoder.make({}, seed),
    rows,
    args: { gradeScaleMax: scale.max, seed }
  })
  const encoder = yield* Features.embedderSimilarity(trained.model, test)
  const bigram = test.map((p) => CharNgram.cosine(p.query, p.doc))
  const labels = test.map((p) => p.label)
  const lines = [
    `| ${set} scorer | ${Grade.grades(scale)
      .map((g) => `mean @${g}`)
      .join(" | ")} | AUC (≥1 vs 0) |`,
    `|---|${Grade.grades(scale)
      .map(() => "---")
      .join("|")}|---|`
  ]
  for (const [name, scores] of [
    ["DualEncoder, untrained", untrained],
    ["DualEncoder, trained on half the labeled queries", encoder],
    ["char-bigram cosine", bigram]
  ] as const) {
    const sums = Grade.grades(scale).map(() => 0)
    const counts = Grade.grades(scale).map(() => 0)
    labels.forEach((l, i) => {
      sums[l]! += scores[i]!
      counts[l]!++
    })
    lines.push(
      `| ${name} | ${sums.map((s, g) => (s / counts[g]!).toFixed(3)).join(" | ")} | ${auc(labels, scores).toFixed(3)} |`
    )
  }
  console.log(lines.join("\n"))
})

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
