/**
 * Retrieval evaluation for the bench scripts: rerank each test query's graded candidates by cosine and compute
 * nDCG@10 exactly as trec_eval's `ndcg_cut.10` (linear gain, ideal from the judgments, ties broken by document
 * id descending, byte-wise) with @ssra/evaluation's `Metrics.ndcgAtK`, cross-checked against the small local
 * implementation below (they must agree to 1e-12).
 */
import type { Models, Pair } from "@ssra/core"
import { Metrics } from "@ssra/evaluation"
import { Effect } from "effect"

export interface RetrievalQuery {
  readonly qid: string
  readonly query: string
  readonly candidates: ReadonlyArray<{ readonly did: string; readonly doc: string; readonly label: number }>
}

export const groupByQuery = (pairs: ReadonlyArray<Pair.LabeledPair>, minCandidates = 10): Array<RetrievalQuery> => {
  const byQid = new Map<
    string,
    { qid: string; query: string; candidates: Array<{ did: string; doc: string; label: number }> }
  >()
  for (const p of pairs) {
    let q = byQid.get(p.qid)
    if (q === undefined) byQid.set(p.qid, (q = { qid: p.qid, query: p.query, candidates: [] }))
    q.candidates.push({ did: p.did, doc: p.doc, label: p.label })
  }
  return [...byQid.values()].filter((q) => q.candidates.length >= minCandidates)
}

const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

/** trec_eval ndcg_cut@k for one query. */
export const ndcgAtK = (
  labels: ReadonlyArray<number>,
  scores: ReadonlyArray<number>,
  ids: ReadonlyArray<string>,
  k: number
): number => {
  const order = labels.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || byteCompare(ids[b]!, ids[a]!))
  let dcg = 0
  for (let r = 0; r < Math.min(k, order.length); r++) dcg += labels[order[r]!]! / Math.log2(r + 2)
  const ideal = [...labels].sort((a, b) => b - a)
  let idcg = 0
  for (let r = 0; r < Math.min(k, ideal.length); r++) idcg += ideal[r]! / Math.log2(r + 2)
  return idcg > 0 ? dcg / idcg : 0
}

/** Per-query nDCG@10 of an embedder over the queries (cosine of the `dimensions` prefix), in query order. */
export const retrievalPerQuery = (
  embedder: Models.TextEmbedder,
  queries: ReadonlyArray<RetrievalQuery>,
  dimensions?: number
) =>
  Effect.gen(function* () {
    const qv = yield* embedder.embed(
      queries.map((q) => q.query),
      { kind: "query", dimensions }
    )
    const docs = [...new Set(queries.flatMap((q) => q.candidates.map((c) => c.doc)))]
    const dv = yield* embedder.embed(docs, { kind: "document", dimensions })
    const docVector = new Map(docs.map((d, i) => [d, dv[i]!]))
    const perQuery: Array<number> = []
    queries.forEach((q, i) => {
      const v = qv[i]!
      const scores = q.candidates.map((c) => {
        const d = docVector.get(c.doc)!
        let s = 0
        for (let j = 0; j < v.length; j++) s += v[j]! * d[j]!
        return s
      })
      const ids = q.candidates.map((c) => c.did)
      const local = ndcgAtK(
        q.candidates.map((c) => c.label),
        scores,
        ids,
        10
      )
      const qrels = Object.fromEntries(q.candidates.map((c) => [c.did, c.label]))
      const run = Object.fromEntries(ids.map((id, k) => [id, scores[k]!]))
      const shared = Metrics.ndcgAtK(qrels, run, 10)
      if (Math.abs(shared - local) > 1e-12)
        throw new Error(`nDCG mismatch on ${q.qid}: evaluation ${shared} vs local ${local}`)
      perQuery.push(shared)
    })
    return perQuery
  })

export const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

/** Mean nDCG@10 of an embedder over the queries (cosine of the `dimensions` prefix). */
export const evaluateRetrieval = (
  embedder: Models.TextEmbedder,
  queries: ReadonlyArray<RetrievalQuery>,
  dimensions?: number
) => Effect.map(retrievalPerQuery(embedder, queries, dimensions), mean)

/** Per-query nDCG@10 of a plain scoring function over the queries (the lexical references), in query order. */
export const scorerPerQuery = (
  queries: ReadonlyArray<RetrievalQuery>,
  score: (query: string, doc: string) => number
): Array<number> =>
  queries.map((q) => {
    const scores = q.candidates.map((c) => score(q.query, c.doc))
    return Metrics.ndcgAtK(
      Object.fromEntries(q.candidates.map((c) => [c.did, c.label])),
      Object.fromEntries(q.candidates.map((c, k) => [c.did, scores[k]!])),
      10
    )
  })

/** Mean nDCG@10 of a plain scoring function over the queries (the lexical references). */
export const evaluateScorer = (
  queries: ReadonlyArray<RetrievalQuery>,
  score: (query: string, doc: string) => number
): number => mean(scorerPerQuery(queries, score))

/** Character n-grams (NFKC, lower-case, whitespace dropped), as data/SOURCE-README.md's references. */
const charGrams = (text: string, ns: ReadonlyArray<number>): Array<string> => {
  const chars = [...text.normalize("NFKC").toLowerCase()].filter((c) => !/\s/u.test(c))
  const out: Array<string> = []
  for (const n of ns) for (let i = 0; i + n <= chars.length; i++) out.push(`${n}:${chars.slice(i, i + n).join("")}`)
  return out
}

const bag = (grams: ReadonlyArray<string>): Map<string, number> => {
  const m = new Map<string, number>()
  for (const g of grams) m.set(g, (m.get(g) ?? 0) + 1)
  return m
}

/** Char-bigram cosine (term-frequency vectors). */
export const bigramCosine = (query: string, doc: string): number => {
  const a = bag(charGrams(query, [2]))
  const b = bag(charGrams(doc, [2]))
  let dot = 0
  let na = 0
  let nb = 0
  for (const [g, v] of a) {
    na += v * v
    dot += v * (b.get(g) ?? 0)
  }
  for (const v of b.values()) nb += v * v
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
}

/** BM25 over char 1+2-grams, k1 1.2, b 0.75, IDF and average length from `corpus` (the test file's own titles). */
export const bm25 = (corpus: ReadonlyArray<string>): ((query: string, doc: string) => number) => {
  const df = new Map<string, number>()
  let total = 0
  for (const d of corpus) {
    const g = charGrams(d, [1, 2])
    total += g.length
    for (const k of new Set(g)) df.set(k, (df.get(k) ?? 0) + 1)
  }
  const N = corpus.length
  const avg = total / N
  return (query, doc) => {
    const dg = charGrams(doc, [1, 2])
    const tf = bag(dg)
    const norm = 1.2 * (1 - 0.75 + (0.75 * dg.length) / avg)
    let s = 0
    for (const g of charGrams(query, [1, 2])) {
      const f = tf.get(g)
      if (f === undefined) continue
      const n = df.get(g) ?? 0
      s += Math.log(1 + (N - n + 0.5) / (n + 0.5)) * ((f * 2.2) / (f + norm))
    }
    return s
  }
}
