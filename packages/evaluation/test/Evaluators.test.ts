import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { it } from "@effect/vitest"
import type { Models } from "@ssra/core"
import { CharNgram, Tokenize } from "@ssra/text"
import { Effect } from "effect"
import { EmbeddingModel } from "effect/ai"
import { assert, describe, expect } from "vitest"
import {
  ClassifierEvaluator,
  Comparison,
  DiversityEvaluator,
  LabelAlignmentEvaluator,
  Metrics,
  PairClassificationEvaluator,
  PairScorer,
  Report,
  ResultFile,
  RetrievalEvaluator,
  Statistics
} from "../src/index.js"

type Row = { qid: string; did: string; query: string; doc: string; label: number }
const read = (set: string, file: string, limit: number): Array<Row> =>
  readFileSync(new URL(`../../../data/${set}/${file}`, import.meta.url), "utf8")
    .trim()
    .split("\n")
    .slice(0, limit)
    .map((l) => JSON.parse(l) as Row)

const retrieval = read("qbqtc", "retrieval_test.jsonl", 400)
const pairs = read("qbqtc", "pair_test.jsonl", 400)

/** A real (hashed character-bigram bag) embedder, L2-normalized, for exercising the embedder path. */
const hashedEmbedder = (dimensions: number): Models.TextEmbedder => ({
  id: `hashed-bigrams-${dimensions}`,
  dimensions,
  embed: (texts, options) =>
    Effect.sync(() =>
      texts.map((t) => {
        const d = options.dimensions ?? dimensions
        const v = new Float32Array(d)
        for (const g of Tokenize.charUnigramsAndBigrams(t)) {
          let h = 2166136261
          for (let i = 0; i < g.length; i++) h = Math.imul(h ^ g.charCodeAt(i), 16777619)
          v[(h >>> 0) % d]! += 1
        }
        let n = 0
        for (const x of v) n += x * x
        n = Math.sqrt(n) || 1
        return v.map((x) => x / n)
      })
    )
})

describe("RetrievalEvaluator", () => {
  it.effect("SSRA preset drops queries with < 10 candidates, counts them, and matches Metrics", () =>
    Effect.gen(function* () {
      const result = yield* RetrievalEvaluator.evaluate({
        name: "qbqtc-retrieval",
        rows: retrieval,
        scorer: PairScorer.charNgram(),
        ...RetrievalEvaluator.ssraPreset
      })
      const groups = new Map<string, Array<Row>>()
      for (const r of retrieval) groups.set(r.qid, [...(groups.get(r.qid) ?? []), r])
      const kept = [...groups.values()].filter((g) => g.length >= 10)
      assert.strictEqual(result.counts!.queries, kept.length)
      assert.strictEqual(result.counts!.droppedQueries, groups.size - kept.length)
      assert.isAbove(result.counts!.droppedQueries!, 0) // the 400-row cut leaves a partial last query
      assert.match(result.notes![0]!, /had < 10 candidates/)
      const expected =
        kept.reduce((s, g) => {
          const qrels = Object.fromEntries(g.map((r) => [r.did, r.label]))
          const run = Object.fromEntries(g.map((r) => [r.did, CharNgram.cosineUnigramsAndBigrams(r.query, r.doc)]))
          return s + Metrics.ndcgAtK(qrels, run, 10)
        }, 0) / kept.length
      expect(Math.abs(result.primary! - expected)).toBeLessThan(1e-12)
      assert.strictEqual(result.primaryMetric, "ndcg_at_10")
      assert.strictEqual(result.perUnit!.ids.length, kept.length)
      assert.strictEqual(
        result.counts!.grade_0! + result.counts!.grade_1! + result.counts!.grade_2!,
        result.counts!.candidates
      )
    })
  )

  it.effect("bad input: duplicate candidates, grades off the scale, NaN scores, empty sets", () =>
    Effect.gen(function* () {
      const dup = yield* Effect.flip(
        RetrievalEvaluator.evaluate({
          name: "x",
          rows: [retrieval[0]!, retrieval[0]!],
          scorer: PairScorer.charNgram(),
          file: "t.jsonl"
        })
      )
      assert.strictEqual(dup.reason, "duplicate-document")
      assert.include(dup.message, "t.jsonl:2")
      const off = yield* Effect.flip(
        RetrievalEvaluator.evaluate({
          name: "x",
          rows: [{ ...retrieval[0]!, label: 3 }],
          scorer: PairScorer.charNgram(),
          scale: { max: 2 },
          file: "t.jsonl"
        })
      )
      assert.strictEqual(off.reason, "grade-out-of-scale")
      assert.include(off.message, retrieval[0]!.qid)
      const nan = yield* Effect.flip(
        RetrievalEvaluator.evaluate({
          name: "x",
          rows: retrieval.slice(0, 5),
          scorer: PairScorer.fromFunction(() => Number.NaN)
        })
      )
      assert.strictEqual(nan.reason, "nan-score")
      const empty = yield* Effect.flip(
        RetrievalEvaluator.evaluate({ name: "x", rows: [], scorer: PairScorer.charNgram(), file: "e.jsonl" })
      )
      assert.strictEqual(empty.reason, "empty")
      const allDropped = yield* Effect.flip(
        RetrievalEvaluator.evaluate({
          name: "x",
          rows: retrieval.slice(0, 3),
          scorer: PairScorer.charNgram(),
          minCandidates: 10
        })
      )
      assert.match(allDropped.message, /fewer than 10 candidates/)
    })
  )
})

describe("PairClassificationEvaluator", () => {
  it.effect("AP@>=1/2 defined, AP@>=3 n/a on a 0–2 set; mean over defined", () =>
    Effect.gen(function* () {
      const result = yield* PairClassificationEvaluator.evaluate({
        name: "qbqtc-pairs",
        rows: pairs,
        scorer: PairScorer.bm25()
      })
      assert.isNumber(result.metrics.ap_ge_1)
      assert.isNumber(result.metrics.ap_ge_2)
      assert.isNull(result.metrics.ap_ge_3)
      expect(result.metrics.ap_mean).toBeCloseTo((result.metrics.ap_ge_1! + result.metrics.ap_ge_2!) / 2, 14)
      assert.match(result.notes!.join(" "), /AP@≥3 is n\/a/)
      const m = result.confusion!.matrix
      assert.strictEqual(
        m.flat().reduce((a, b) => a + b, 0),
        pairs.length
      )
      assert.strictEqual(result.pairs!.scores.length, pairs.length)
    })
  )

  it.effect("embedder path: all similarities, max_ap, Matryoshka truncation, balanced preset", () =>
    Effect.gen(function* () {
      const result = yield* PairClassificationEvaluator.evaluate({
        name: "qbqtc-pairs",
        rows: pairs,
        embedder: hashedEmbedder(512),
        ...PairClassificationEvaluator.ssraPreset
      })
      assert.strictEqual(result.config.dimensions, 128)
      for (const sim of PairScorer.similarities) assert.isNumber(result.metrics[`${sim}_ap_ge_1`])
      assert.isAtLeast(result.metrics.max_ap_ge_1!, result.metrics.cosine_ap_ge_1!)
      assert.strictEqual(result.metrics.ap_ge_1, result.metrics.cosine_ap_ge_1)
      const perGrade = new Map<number, number>()
      for (const l of result.pairs!.labels) perGrade.set(l, (perGrade.get(l) ?? 0) + 1)
      for (const c of perGrade.values()) assert.isAtMost(c, 60)
      const again = yield* PairClassificationEvaluator.evaluate({
        name: "qbqtc-pairs",
        rows: pairs,
        embedder: hashedEmbedder(512),
        ...PairClassificationEvaluator.ssraPreset
      })
      assert.deepStrictEqual(again.pairs!.ids, result.pairs!.ids)
    })
  )
})

describe("effect/ai EmbeddingModel", () => {
  it.effect("an EmbeddingModel provider scores pairs through PairScorer.fromEmbeddingModel", () =>
    Effect.gen(function* () {
      const hashed = hashedEmbedder(64)
      const model = yield* EmbeddingModel.make({
        embedMany: ({ inputs }) =>
          Effect.map(Effect.orDie(hashed.embed(inputs, { kind: "document" })), (vectors) => ({
            results: vectors.map((v) => Array.from(v)),
            usage: { inputTokens: undefined }
          }))
      })
      const scorer = PairScorer.fromEmbeddingModel(model, { id: "effect-ai-hashed", dimensions: 64 })
      const viaAi = yield* RetrievalEvaluator.evaluate({
        name: "r",
        rows: retrieval,
        scorer,
        ...RetrievalEvaluator.ssraPreset
      })
      const direct = yield* RetrievalEvaluator.evaluate({
        name: "r",
        rows: retrieval,
        scorer: PairScorer.fromEmbedder(hashed),
        ...RetrievalEvaluator.ssraPreset
      })
      expect(Math.abs(viaAi.primary! - direct.primary!)).toBeLessThan(1e-6)
    })
  )
})

describe("classifier, label alignment, diversity", () => {
  it.effect("classifier metrics with the scale's classes", () =>
    Effect.gen(function* () {
      const r = yield* ClassifierEvaluator.fromPredictions({
        name: "score-model",
        truth: [0, 1, 2, 3, 3],
        predicted: [0, 1, 1, 3, 2],
        scale: { max: 3 }
      })
      assert.strictEqual(r.metrics.accuracy, 0.6)
      assert.deepStrictEqual(r.confusion!.classes, [0, 1, 2, 3])
      const bad = yield* Effect.flip(
        ClassifierEvaluator.fromPredictions({ name: "s", truth: [0, 4], predicted: [0, 1], scale: { max: 3 } })
      )
      assert.strictEqual(bad.reason, "grade-out-of-scale")
      const badPrediction = yield* Effect.flip(
        ClassifierEvaluator.fromPredictions({ name: "s", truth: [0, 1], predicted: [0, 3], scale: { max: 2 } })
      )
      assert.include(badPrediction.message, "label 3 is outside the scale 0..2")
    })
  )
  it.effect("label alignment per intended grade", () =>
    Effect.gen(function* () {
      const r = yield* LabelAlignmentEvaluator.evaluate({
        name: "alignment",
        items: [
          { intended: 3, judged: 3 },
          { intended: 3, judged: 2 },
          { intended: 0, judged: 0 },
          { intended: 1, judged: 1 }
        ],
        scale: { max: 3 }
      })
      assert.strictEqual(r.primary, 0.75)
      assert.strictEqual(r.metrics.match_rate_3, 0.5)
      assert.isNull(r.metrics.match_rate_2)
      assert.strictEqual(r.counts!.matched_3, 1)
    })
  )
  it.effect("diversity: exact vs normalized duplicates, distinct-n", () =>
    Effect.gen(function* () {
      const r = yield* DiversityEvaluator.evaluate({
        name: "div",
        queries: ["感冒 吃什么", "感冒吃什么", "感冒吃什么", "咽喉炎偏方"]
      })
      assert.strictEqual(r.metrics.exact_duplicate_rate, 0.25)
      assert.strictEqual(r.metrics.normalized_duplicate_rate, 0.5)
      assert.isAbove(r.metrics.distinct_2!, 0)
      const empty = yield* Effect.flip(DiversityEvaluator.evaluate({ name: "div", queries: [] }))
      assert.strictEqual(empty.reason, "empty")
    })
  )
})

describe("result files, comparison and reports", () => {
  it.effect("MTEB layout round-trip, compare with CIs, Markdown and HTML", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "ssra-eval-"))
      const tasks: Array<ResultFile.TaskResult> = []
      for (const [system, scorer] of [
        ["bm25", PairScorer.bm25()],
        ["char-ngram", PairScorer.charNgram()]
      ] as const) {
        const r = yield* RetrievalEvaluator.evaluate({
          name: "qbqtc-retrieval",
          rows: retrieval,
          scorer,
          ...RetrievalEvaluator.ssraPreset
        })
        const p = yield* PairClassificationEvaluator.evaluate({ name: "qbqtc-pairs", rows: pairs, scorer })
        for (const res of [r, p]) {
          tasks.push(
            ResultFile.fromEvaluation(res, {
              modelName: system,
              dataset: "qbqtc",
              intervals: Statistics.resultIntervals(res, { resamples: 200, seed: 1 })
            })
          )
        }
      }
      const files = yield* ResultFile.writeMtebLayout(join(dir, "results"), tasks)
      assert.include(files, join(dir, "results", "bm25", "no_revision_available", "qbqtc-retrieval.json"))
      const back = yield* ResultFile.read(files[0]!)
      assert.strictEqual(back[0]!.task_name, "qbqtc-retrieval")
      assert.strictEqual(back[0]!.scores.test![0]!.main_score, tasks[0]!.ssra.metrics.ndcg_at_10)
      assert.strictEqual(ResultFile.toEvaluation(back[0]!).primary, tasks[0]!.ssra.metrics.ndcg_at_10)
      const suiteFile = join(dir, "results.json")
      yield* ResultFile.writeJson(suiteFile, {
        suite: "t",
        created: "2026-11-23T00:00:00Z",
        systems: ["bm25", "char-ngram"],
        datasets: ["qbqtc"],
        results: tasks
      })
      const all = yield* ResultFile.read(suiteFile)
      assert.strictEqual(all.length, 4)
      const refused = yield* Effect.flip(ResultFile.writeJson(join(dir, "bad.json"), { x: [1, Number.NaN] }))
      assert.strictEqual(refused.id, "$.x[1]")

      const deltas = yield* Comparison.compare(all, { resamples: 200, permutations: 500, seed: 2 })
      const ndcg = deltas.find((d) => d.metric === "ndcg_at_10")!
      assert.strictEqual(ndcg.method, "randomization")
      expect(ndcg.difference!).toBeCloseTo(tasks[2]!.ssra.metrics.ndcg_at_10! - tasks[0]!.ssra.metrics.ndcg_at_10!, 12)
      assert.isTrue(ndcg.ci![0] <= ndcg.difference! && ndcg.difference! <= ndcg.ci![1])
      const ap3 = deltas.find((d) => d.metric === "ap_ge_3")!
      assert.strictEqual(ap3.method, "none")
      const ap1 = deltas.find((d) => d.metric === "ap_ge_1")!
      assert.strictEqual(ap1.method, "bootstrap")
      const lonely = yield* Effect.flip(Comparison.compare(all.slice(0, 1)))
      assert.strictEqual(lonely.reason, "mismatch")
      assert.isUndefined(ndcg.note)
      // results on another revision of the test data are flagged on every row
      const moved = all.map((r, i) => (i === 2 ? { ...r, dataset_revision: "v2" } : r))
      const flagged = yield* Comparison.compare(moved, { resamples: 50, permutations: 50, metrics: ["ndcg@10"] })
      assert.deepStrictEqual(
        flagged.map((d) => d.metric),
        ["ndcg_at_10"]
      )
      assert.match(flagged[0]!.note!, /different test data: .*@v2/)
      assert.strictEqual(Comparison.metricKey("p@5"), "precision_at_5")
      assert.strictEqual(Comparison.metricKey("ap@>=2"), "ap_ge_2")
      assert.strictEqual(Comparison.metricKey("ndcg_at_10"), "ndcg_at_10")
      const unknown = yield* Effect.flip(Comparison.compare(all, { metrics: ["ndcg@7"] }))
      assert.strictEqual(unknown.reason, "malformed")
      const zero = yield* Effect.flip(Comparison.compare(all, { permutations: 0 }))
      assert.include(zero.message, "permutations must be an integer >= 1")

      const md = Report.markdown({ title: "t", created: "now", results: all, deltas })
      assert.include(md, "| bm25 |")
      assert.include(md, "n/a")
      assert.include(md, "## Comparisons")
      const html = Report.html({ title: "t", created: "now", results: all, deltas })
      assert.include(html, "<svg")
      assert.include(html, "AP per grade threshold")
      assert.include(html, "grade histogram")
      assert.notInclude(html, "<script")
      assert.notInclude(html, "NaN")
    })
  )
})
