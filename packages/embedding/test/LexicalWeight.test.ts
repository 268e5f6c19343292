import { assert, describe, it } from "@effect/vitest"
import { type Pair, Sampling } from "@ssra/core"
import { DualEncoder, EmbeddingTrainer, Featurizer, Lexical, LexicalWeight, TrainingSet } from "@ssra/embedding"
import { Metrics } from "@ssra/evaluation"
import { Effect } from "effect"
import { loadGroups } from "./helpers.js"

const smallModel = (lexical: boolean, weight = LexicalWeight.trainingWeight) =>
  DualEncoder.make(
    {
      featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 12 },
      dimensions: 16,
      matryoshkaDimensions: [16],
      lexical: lexical
        ? {
            ...Lexical.defaultConfig,
            dimensions: 256,
            weight,
            featurizer: { ...Lexical.defaultConfig.featurizer, buckets: 1 << 14 }
          }
        : null
    },
    5
  )

const qidsOf = (queries: ReadonlyArray<LexicalWeight.HeldOutQuery>) => queries.map((q) => q.qid).sort()

describe("LexicalWeight.split", () => {
  it.effect("holds out a seeded share of the eligible queries (≥ minCandidates judged, ≥ 2 grades), whole", () =>
    Effect.gen(function* () {
      const pairs = yield* loadGroups("kuake_qtr", "labeled.jsonl", 300)
      const s = yield* LexicalWeight.split(pairs, { seed: 3 })
      const byQid = new Map<string, Array<Pair.LabeledPair>>()
      for (const p of pairs) byQid.set(p.qid, [...(byQid.get(p.qid) ?? []), p])
      const eligible = [...byQid.entries()].filter(
        ([, ps]) => ps.length >= 5 && new Set(ps.map((p) => p.label)).size > 1
      )
      assert.isAbove(eligible.length, 10)
      assert.strictEqual(s.eligibleQueries, eligible.length)
      assert.strictEqual(s.heldOut.length, Math.round(eligible.length * 0.5))
      const eligibleIds = new Set(eligible.map(([q]) => q))
      for (const q of s.heldOut) {
        assert.isTrue(eligibleIds.has(q.qid), q.qid)
        // every judged candidate of a held-out query is there, and none of its pairs is left for training
        assert.strictEqual(q.candidates.length, byQid.get(q.qid)!.length)
        assert.strictEqual(q.query, byQid.get(q.qid)![0]!.query)
      }
      const held = new Set(s.heldOut.map((q) => q.qid))
      assert.deepStrictEqual(
        s.train,
        pairs.filter((p) => !held.has(p.qid))
      )
      // ineligible queries always stay on the training side
      assert.isTrue([...byQid.keys()].filter((q) => !eligibleIds.has(q)).every((q) => !held.has(q)))
    })
  )

  it.effect("is deterministic: same pairs and seed → same split, whatever the input order; another seed differs", () =>
    Effect.gen(function* () {
      const pairs = yield* loadGroups("kuake_qtr", "labeled.jsonl", 300)
      const a = yield* LexicalWeight.split(pairs, { seed: 11, fraction: 0.3, minCandidates: 4 })
      const b = yield* LexicalWeight.split(pairs, { seed: 11, fraction: 0.3, minCandidates: 4 })
      assert.deepStrictEqual(b, a)
      const shuffled = yield* LexicalWeight.split(Sampling.shuffle(pairs, 99), {
        seed: 11,
        fraction: 0.3,
        minCandidates: 4
      })
      assert.deepStrictEqual(qidsOf(shuffled.heldOut), qidsOf(a.heldOut))
      const other = yield* LexicalWeight.split(pairs, { seed: 12, fraction: 0.3, minCandidates: 4 })
      assert.notDeepEqual(qidsOf(other.heldOut), qidsOf(a.heldOut))
    })
  )

  it.effect("no eligible query: nothing held out; bad options are TrainingErrors naming the option", () =>
    Effect.gen(function* () {
      const pairs: Array<Pair.LabeledPair> = [
        { qid: "q1", did: "d1", query: "a", doc: "x", label: 1 },
        { qid: "q1", did: "d2", query: "a", doc: "y", label: 0 }
      ]
      const s = yield* LexicalWeight.split(pairs, { seed: 1 })
      assert.deepStrictEqual(s, { train: pairs, heldOut: [], eligibleQueries: 0 })
      const fraction = yield* Effect.flip(LexicalWeight.split(pairs, { seed: 1, fraction: 1 }))
      assert.strictEqual(fraction.reason, "invalid-args")
      assert.include(fraction.message, "fraction")
      const min = yield* Effect.flip(LexicalWeight.split(pairs, { seed: 1, minCandidates: 1 }))
      assert.include(min.message, "minCandidates")
      const seed = yield* Effect.flip(LexicalWeight.split(pairs, { seed: -1 }))
      assert.include(seed.message, "seed")
    })
  )
})

describe("LexicalWeight.select", () => {
  it.effect(
    "scores every α of the grid as trec_eval's ndcg_cut.10 on the full embedding and picks the best, deterministically",
    () =>
      Effect.gen(function* () {
        const pairs = yield* loadGroups("kuake_qtr", "labeled.jsonl", 400)
        const s = yield* LexicalWeight.split(pairs, { seed: 7 })
        const model = smallModel(true)
        DualEncoder.fitLexical(model, [...new Set(s.train.map((p) => p.doc))])
        const rows = TrainingSet.fromLabeledPairs(s.train, { scheme: "raw", scale: { max: 3 } })
        const trained = (yield* EmbeddingTrainer.train({ model, rows, args: { epochs: 1, batchSize: 32, seed: 5 } }))
          .model
        const grid = [0, 0.5, 0.9, 1]
        const selection = yield* LexicalWeight.select(trained, s.heldOut, { grid })
        assert.strictEqual(selection.queries, s.heldOut.length)
        assert.strictEqual(selection.k, 10)
        assert.deepStrictEqual(
          selection.byWeight.map((b) => b.weight),
          grid
        )
        // each score is the mean of @ssra/evaluation's trec_eval nDCG@10 over the held-out lists, reranked by the
        // served model at that α (`withLexicalWeight`)
        for (const { weight, ndcg } of selection.byWeight) {
          const m = DualEncoder.withLexicalWeight(trained, weight)
          let total = 0
          for (const q of s.heldOut) {
            const [qv] = yield* m.embed([q.query], { kind: "query" })
            const dv = yield* m.embed(
              q.candidates.map((c) => c.doc),
              { kind: "document" }
            )
            const run = Object.fromEntries(
              q.candidates.map((c, i) => [c.did, dv[i]!.reduce((a, x, j) => a + x * qv![j]!, 0)])
            )
            total += Metrics.ndcgAtK(Object.fromEntries(q.candidates.map((c) => [c.did, c.label])), run, 10)
          }
          // bit for bit: select composes the served embedding from its parts exactly as the model writes it
          assert.strictEqual(ndcg, total / s.heldOut.length)
        }
        // the chosen α is the best of the grid
        const best = Math.max(...selection.byWeight.map((b) => b.ndcg))
        assert.strictEqual(selection.ndcg, best)
        assert.strictEqual(selection.weight, selection.byWeight.find((b) => b.ndcg > best - 1e-9)!.weight)
        // a barely trained learned part is worse than BM25 here: some lexical share must win over α = 0
        assert.isAbove(selection.weight, 0)
        assert.isAbove(selection.ndcg, selection.byWeight[0]!.ndcg)
        // same model and queries → same α and scores; the model's own α is untouched
        assert.deepStrictEqual(yield* LexicalWeight.select(trained, s.heldOut, { grid }), selection)
        assert.strictEqual(trained.config.lexical!.weight, LexicalWeight.trainingWeight)
      }),
    60_000
  )

  it.effect("ties go to the first α of the grid", () =>
    Effect.gen(function* () {
      const model = smallModel(true)
      DualEncoder.fitLexical(model, ["感冒发烧吃什么药", "眼睑炎怎么治疗"])
      // one relevant document only: every ranking puts a grade-2 document first → nDCG 1 at every α
      const heldOut: Array<LexicalWeight.HeldOutQuery> = [
        {
          qid: "q",
          query: "感冒吃什么药",
          candidates: [
            { did: "a", doc: "感冒发烧吃什么药", label: 2 },
            { did: "b", doc: "眼睑炎怎么治疗", label: 2 }
          ]
        }
      ]
      const selection = yield* LexicalWeight.select(model, heldOut, { grid: [0.7, 0.2, 1] })
      assert.deepStrictEqual(
        selection.byWeight.map((b) => b.ndcg),
        [1, 1, 1]
      )
      assert.strictEqual(selection.weight, 0.7)
    })
  )

  it.effect("fails with a TrainingError: no lexical channel, no held-out query, a bad grid or cutoff", () =>
    Effect.gen(function* () {
      const heldOut: Array<LexicalWeight.HeldOutQuery> = [
        { qid: "q", query: "感冒", candidates: [{ did: "a", doc: "感冒发烧", label: 1 }] }
      ]
      const plain = yield* Effect.flip(LexicalWeight.select(smallModel(false), heldOut))
      assert.strictEqual(plain._tag, "TrainingError")
      assert.include(plain.message, "no lexical channel")
      const model = smallModel(true)
      DualEncoder.fitLexical(model, ["感冒发烧"])
      const empty = yield* Effect.flip(LexicalWeight.select(model, []))
      assert.strictEqual((empty as { reason?: string }).reason, "empty")
      const grid = yield* Effect.flip(LexicalWeight.select(model, heldOut, { grid: [0.5, 1.2] }))
      assert.include(grid.message, "grid")
      const none = yield* Effect.flip(LexicalWeight.select(model, heldOut, { grid: [] }))
      assert.include(none.message, "grid")
      const k = yield* Effect.flip(LexicalWeight.select(model, heldOut, { k: 0 }))
      assert.include(k.message, "k must be")
    })
  )
})
