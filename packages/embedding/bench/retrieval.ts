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

export const groupByQuery = (pairs: ReadonlyArray<Pair.LabeledPair>): Array<RetrievalQuery> => {
  const byQid = new Map<string, { qid: string; query: string; candidates: Array<{ did: string; doc: string; label: number }> }>()
  for (const p of pairs) {
    let q = byQid.get(p.qid)
    if (q === undefined) byQid.set(p.qid, (q = { qid: p.qid, query: p.query, candidates: [] }))
    q.candidates.push({ did: p.did, doc: p.doc, label: p.label })
  }
  return [...byQid.values()].filter((q) => q.candidates.length >= 10)
}

const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

/** trec_eval ndcg_cut@k for one query. */
export const ndcgAtK = (labels: ReadonlyArray<number>, scores: ReadonlyArray<number>, ids: ReadonlyArray<string>, k: number): number => {
  const order = labels.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || byteCompare(ids[b]!, ids[a]!))
  let dcg = 0
  for (let r = 0; r < Math.min(k, order.length); r++) dcg += labels[order[r]!]! / Math.log2(r + 2)
  const ideal = [...labels].sort((a, b) => b - a)
  let idcg = 0
  for (let r = 0; r < Math.min(k, ideal.length); r++) idcg += ideal[r]! / Math.log2(r + 2)
  return idcg > 0 ? dcg / idcg : 0
}

/** Mean nDCG@10 of an embedder over the queries (cosine of the `dimensions` prefix). */
export const evaluateRetrieval = (embedder: Models.TextEmbedder, queries: ReadonlyArray<RetrievalQuery>, dimensions?: number) =>
  Effect.gen(function* () {
    const qv = yield* embedder.embed(queries.map((q) => q.query), { kind: "query", dimensions })
    const docs = [...new Set(queries.flatMap((q) => q.candidates.map((c) => c.doc)))]
    const dv = yield* embedder.embed(docs, { kind: "document", dimensions })
    const docVector = new Map(docs.map((d, i) => [d, dv[i]!]))
    let total = 0
    queries.forEach((q, i) => {
      const v = qv[i]!
      const scores = q.candidates.map((c) => {
        const d = docVector.get(c.doc)!
        let s = 0
        for (let j = 0; j < v.length; j++) s += v[j]! * d[j]!
        return s
      })
      const ids = q.candidates.map((c) => c.did)
      const local = ndcgAtK(q.candidates.map((c) => c.label), scores, ids, 10)
      const qrels = Object.fromEntries(q.candidates.map((c) => [c.did, c.label]))
      const run = Object.fromEntries(ids.map((id, k) => [id, scores[k]!]))
      const shared = Metrics.ndcgAtK(qrels, run, 10)
      if (Math.abs(shared - local) > 1e-12) throw new Error(`nDCG mismatch on ${q.qid}: evaluation ${shared} vs local ${local}`)
      total += shared
    })
    return total / queries.length
  })
