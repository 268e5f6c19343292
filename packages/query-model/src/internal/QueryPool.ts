// The real-query pool of the embedded query model: every distinct (normalized) query of the domain, how often it
// occurs, and a character-bigram inverted index that retrieves the pool queries nearest a document (BM25 with the
// pool queries as the indexed texts, the document's bigrams as the search terms).
import { Text } from "@ssra/core"
import { Bm25, Idf, Tokenize } from "@ssra/text"

export interface Retrieved {
  readonly index: number
  readonly score: number
}

export interface QueryPool {
  readonly queries: ReadonlyArray<string>
  readonly keys: ReadonlyArray<string>
  readonly frequency: Uint32Array
  readonly indexOf: (query: string) => number
  readonly retrieve: (doc: string, k: number) => Array<Retrieved>
}

const termsOf = (text: string): Array<string> => [...new Set(Tokenize.charNgrams(text, 2))]

/** Builds a pool from raw queries (with repeats) or from saved (query, frequency) lists. */
export const make = (queries: ReadonlyArray<string>, frequency?: ReadonlyArray<number>): QueryPool => {
  const byKey = new Map<string, number>()
  const list: Array<string> = []
  const keys: Array<string> = []
  const freq: Array<number> = []
  for (let i = 0; i < queries.length; i++) {
    const q = Text.normalize(queries[i]!)
    const k = Text.dedupKey(q)
    if (k === "") continue
    const at = byKey.get(k)
    const f = frequency?.[i] ?? 1
    if (at !== undefined) freq[at]! += f
    else {
      byKey.set(k, list.length)
      list.push(q)
      keys.push(k)
      freq.push(f)
    }
  }
  const n = list.length
  const postings = new Map<string, Array<number>>()
  const lengths = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    const terms = termsOf(list[i]!)
    lengths[i] = terms.length
    total += terms.length
    for (const t of terms) {
      const p = postings.get(t)
      if (p) p.push(i)
      else postings.set(t, [i])
    }
  }
  const index = new Map<string, Int32Array>()
  for (const [t, p] of postings) index.set(t, Int32Array.from(p))
  const avg = n === 0 ? 1 : total / n
  const k1 = 1.2
  const b = 0.75
  const maxDf = Math.max(50, Math.floor(n * 0.05))
  const scores = new Float64Array(n)
  const retrieve = (doc: string, k: number): Array<Retrieved> => {
    const touched: Array<number> = []
    for (const t of termsOf(doc)) {
      const p = index.get(t)
      if (p === undefined || p.length > maxDf) continue
      const idf = Idf.bm25(n, p.length)
      for (let j = 0; j < p.length; j++) {
        const q = p[j]!
        if (scores[q] === 0) touched.push(q)
        scores[q]! += Bm25.termWeight(idf, 1, Bm25.lengthNorm(lengths[q]!, avg, b), k1)
      }
    }
    const out: Array<Retrieved> = touched.map((q) => ({ index: q, score: scores[q]! }))
    for (const q of touched) scores[q] = 0
    out.sort((x, y) => y.score - x.score || x.index - y.index)
    return out.slice(0, k)
  }
  return {
    queries: list,
    keys,
    frequency: Uint32Array.from(freq),
    indexOf: (query) => byKey.get(Text.dedupKey(query)) ?? -1,
    retrieve
  }
}
