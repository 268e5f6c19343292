/**
 * How far can lexical evidence alone go on the bundled reranking dev tests? The question behind
 * @ssra/embedding's "beat BM25" goal: every embedded model here is trained from scratch (no pretrained weights),
 * so what it can know about a (query, title) pair is lexical. Two measurements, per set:
 *
 * 1. Untrained lexical scorers (no labels): BM25 over char 1+2-grams + jieba words with a few k1/b values, and
 *    IDF-weighted cosine, each on `validation` (labeled.jsonl's queries with ≥ 5 candidates and ≥ 2 grades: the
 *    same kind of list as retrieval_test) and on retrieval_test; plus @ssra/evaluation's reference BM25
 *    (data/SOURCE-README.md's, IDF from the test titles).
 * 2. A supervised listwise ranker over all 30 lexical pair features of `Features` (BM25, coverage both ways,
 *    containment, longest common substring, lengths, missing key words…): a linear model trained with ListNet
 *    (target ∝ 2^grade − 1; full-batch Adagrad, lr 0.02, 300 epochs, starting from BM25 alone) on labeled.jsonl's
 *    lists with ≥ `--min-train` (5) candidates minus a seeded half of the validation queries, reported on that
 *    held-out half and on retrieval_test. (Trained on every list with ≥ 2 candidates instead — mostly two-candidate
 *    tail queries — it scores below BM25 on qbqtc: the short lists teach a different ranking.) This ranker sees the query and the document together, which no
 *    dual encoder can, so it bounds what the lexical part of an embedding could learn.
 *
 *   pnpm --filter @ssra/score-model ceiling [-- --sets qbqtc,kuake_qtr --epochs 300 --lr 0.02 --min-train 5]
 */
import * as path from "node:path"
import { parseArgs } from "node:util"
import { Jsonl, Pair, Sampling } from "@ssra/core"
import { Featurizer } from "@ssra/embedding"
import { Metrics } from "@ssra/evaluation"
import { Bm25 } from "@ssra/text"
import { Effect } from "effect"
import * as Features from "../src/Features.js"

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    sets: { type: "string", default: "qbqtc,kuake_qtr" },
    epochs: { type: "string", default: "300" },
    lr: { type: "string", default: "0.02" },
    "min-train": { type: "string", default: "5" },
    seed: { type: "string", default: "1" }
  }
})
const root = path.resolve(import.meta.dirname, "../../..")

type List = ReadonlyArray<Pair.LabeledPair>
const lists = (pairs: ReadonlyArray<Pair.LabeledPair>, minCandidates: number): Array<List> => {
  const m = new Map<string, Array<Pair.LabeledPair>>()
  for (const p of pairs) {
    let l = m.get(p.qid)
    if (l === undefined) m.set(p.qid, (l = []))
    l.push(p)
  }
  return [...m.values()].filter((l) => l.length >= minCandidates && new Set(l.map((p) => p.label)).size > 1)
}
const ndcg = (ls: ReadonlyArray<List>, score: (l: List) => ReadonlyArray<number>): number => {
  let total = 0
  for (const l of ls) {
    const s = score(l)
    total += Metrics.ndcgAtK(
      Object.fromEntries(l.map((p) => [p.did, p.label])),
      Object.fromEntries(l.map((p, i) => [p.did, s[i]!])),
      10
    )
  }
  return total / ls.length
}

const program = Effect.gen(function* () {
  const out: Array<Record<string, unknown>> = []
  for (const set of values.sets!.split(",")) {
    const labeled = yield* Jsonl.readAll(path.join(root, "data", set, "labeled.jsonl"), Pair.LabeledPair)
    const testPairs = yield* Jsonl.readAll(path.join(root, "data", set, "retrieval_test.jsonl"), Pair.LabeledPair)
    const test = lists(testPairs, 2)
    const validation = lists(labeled, 5)

    // 1. untrained lexical scorers, statistics from labeled.jsonl's documents
    const fz = Featurizer.make({ buckets: 1 << 20, charNgrams: [1, 2], words: true, lowercase: true, seed: 0x1e55 })
    const bags = new Map<string, Map<string, number>>()
    const bag = (t: string) => {
      let b = bags.get(t)
      if (b === undefined) {
        b = new Map()
        for (const f of fz.features(t)) b.set(f, (b.get(f) ?? 0) + 1)
        bags.set(t, b)
      }
      return b
    }
    const docs = [...new Set(labeled.map((p) => p.doc))]
    const df = new Map<string, number>()
    let total = 0
    for (const d of docs)
      for (const [f, c] of bag(d)) {
        df.set(f, (df.get(f) ?? 0) + 1)
        total += c
      }
    const N = docs.length
    const avg = total / N
    const idf = (f: string) => {
      const n = df.get(f) ?? 0
      return Math.log(1 + (N - n + 0.5) / (n + 0.5))
    }
    const bm25 = (k1: number, b: number) => (q: string, d: string) => {
      const db = bag(d)
      let len = 0
      for (const c of db.values()) len += c
      const norm = k1 * (1 - b + (b * len) / avg)
      let s = 0
      for (const [f, c] of bag(q)) {
        const tf = db.get(f)
        if (tf !== undefined) s += (c * idf(f) * tf * (k1 + 1)) / (tf + norm)
      }
      return s
    }
    const cosine = (power: number) => (q: string, d: string) => {
      const a = bag(q)
      const b = bag(d)
      let dot = 0
      let na = 0
      let nb = 0
      for (const [f, c] of a) {
        const w = c * idf(f) ** power
        na += w * w
        const y = b.get(f)
        if (y !== undefined) dot += w * y * idf(f) ** power
      }
      for (const [f, c] of b) nb += (c * idf(f) ** power) ** 2
      return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
    }
    const scorers: Record<string, (q: string, d: string) => number> = {
      "bm25 k1 1.2 b 0.75 (the lexical channel's default)": bm25(1.2, 0.75),
      "bm25 k1 0.5 b 1": bm25(0.5, 1),
      "bm25 k1 1.2 b 1": bm25(1.2, 1),
      "bm25 k1 2 b 0.5": bm25(2, 0.5),
      "tf cosine": cosine(0),
      "tf-idf cosine": cosine(1)
    }
    const unsupervised: Record<string, { validation: number; test: number }> = {}
    for (const [name, f] of Object.entries(scorers)) {
      const score = (l: List) => l.map((p) => f(p.query, p.doc))
      unsupervised[name] = { validation: round(ndcg(validation, score)), test: round(ndcg(test, score)) }
    }
    const reference = Bm25.make(testPairs.map((p) => p.doc))
    const referenceTest = round(ndcg(test, (l) => l.map((p) => reference.score(p.query, p.doc))))

    // 2. supervised listwise linear ranker over the 30 lexical pair features
    const heldIds = new Set(
      Sampling.sample(
        validation.map((l) => l[0]!.qid),
        Math.round(validation.length / 2),
        Number(values.seed)
      )
    )
    const trainLists = lists(labeled, Number(values["min-train"])).filter((l) => !heldIds.has(l[0]!.qid))
    const heldOut = validation.filter((l) => heldIds.has(l[0]!.qid))
    const resources = Features.resources(docs)
    const W = Features.lexicalNames.length
    const raw = (l: List) => Features.lexical(resources, l)
    const trainRaw = trainLists.map(raw)
    const standardizer = Features.fitStandardizer({
      names: Features.lexicalNames,
      rows: trainRaw.reduce((a, m) => a + m.rows, 0),
      values: Float64Array.from(trainRaw.flatMap((m) => [...m.values]))
    })
    const X = new Map<List, Float64Array>()
    trainLists.forEach((l, i) => {
      X.set(l, Features.standardize(trainRaw[i]!, standardizer))
    })
    for (const l of [...heldOut, ...test]) X.set(l, Features.standardize(raw(l), standardizer))
    // starts from BM25 alone (the first feature), so training can only move away from it if the data says so
    const w = new Float64Array(W)
    w[0] = 1
    const scoreWith = (l: List) => {
      const x = X.get(l)!
      return l.map((_, i) => {
        let s = 0
        for (let j = 0; j < W; j++) s += w[j]! * x[i * W + j]!
        return s
      })
    }
    // full-batch Adagrad on the mean ListNet loss, small L2
    const g2 = new Float64Array(W)
    for (let epoch = 0; epoch < Number(values.epochs); epoch++) {
      const grad = new Float64Array(W)
      for (const l of trainLists) {
        const x = X.get(l)!
        const s = scoreWith(l)
        const m = Math.max(...s)
        const e = s.map((v) => Math.exp(v - m))
        const Z = e.reduce((a, b) => a + b, 0)
        const t = l.map((p) => 2 ** p.label - 1)
        const T = t.reduce((a, b) => a + b, 0)
        for (let i = 0; i < l.length; i++) {
          const c = e[i]! / Z - t[i]! / T
          for (let j = 0; j < W; j++) grad[j]! += c * x[i * W + j]!
        }
      }
      for (let j = 0; j < W; j++) {
        const g = grad[j]! / trainLists.length + 1e-4 * w[j]!
        g2[j]! += g * g
        w[j]! -= (Number(values.lr) * g) / Math.sqrt(g2[j]! + 1e-12)
      }
    }
    const bm25Only = (l: List) => {
      const x = X.get(l)!
      return l.map((_, i) => x[i * W]!)
    }
    out.push({
      set,
      lists: {
        validation: validation.length,
        rankerTrain: trainLists.length,
        rankerHeldOut: heldOut.length,
        test: test.length
      },
      unsupervised,
      referenceBm25Test: referenceTest,
      ranker: {
        heldOut: round(ndcg(heldOut, scoreWith)),
        test: round(ndcg(test, scoreWith)),
        bm25FeatureHeldOut: round(ndcg(heldOut, bm25Only)),
        bm25FeatureTest: round(ndcg(test, bm25Only))
      }
    })
  }
  console.log(JSON.stringify(out, null, 1))
})

function round(x: number): number {
  return Number(x.toFixed(4))
}

Effect.runPromise(program).catch((error) => {
  console.error(String(error?.message ?? error))
  process.exit(1)
})
