/**
 * Okapi BM25 over a corpus of documents (titles), the lexical reference scorer: IDF and average document
 * length come from the corpus; any document can be scored against it.
 *
 * @since 0.1.0
 */
import type * as Tokenize from "./Tokenize.js"
import { byName } from "./Tokenize.js"

/**
 * BM25 parameters. `tokenizer` defaults to character unigrams + bigrams.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bm25Options {
  readonly k1?: number | undefined
  readonly b?: number | undefined
  readonly tokenizer?: Tokenize.TokenizerName | undefined
}

/**
 * A built BM25 index.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bm25Index {
  readonly k1: number
  readonly b: number
  readonly tokenizer: Tokenize.TokenizerName
  readonly documents: number
  readonly averageLength: number
  /** IDF of a term: `ln(1 + (N − df + 0.5) / (df + 0.5))` (Lucene's non-negative form). */
  readonly idf: (term: string) => number
  /** BM25 of `doc` for `query` over distinct query terms; `doc` need not be in the corpus. */
  readonly score: (query: string, doc: string) => number
}

/**
 * Builds a BM25 index from a corpus. Duplicate documents count once per occurrence, as in any BM25 corpus.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (corpus: ReadonlyArray<string>, options: Bm25Options = {}): Bm25Index => {
  const k1 = options.k1 ?? 1.2
  const b = options.b ?? 0.75
  const tokenizer = options.tokenizer ?? "char-1-2"
  if (!(k1 >= 0) || !(b >= 0 && b <= 1)) throw new RangeError(`BM25 needs k1 >= 0 and 0 <= b <= 1, got k1=${k1} b=${b}`)
  const tokenize = byName(tokenizer)
  const df = new Map<string, number>()
  let totalLength = 0
  for (const doc of corpus) {
    const terms = tokenize(doc)
    totalLength += terms.length
    for (const t of new Set(terms)) df.set(t, (df.get(t) ?? 0) + 1)
  }
  const n = corpus.length
  const averageLength = n === 0 ? 0 : totalLength / n
  const idfCache = new Map<string, number>()
  const idf = (term: string): number => {
    let v = idfCache.get(term)
    if (v === undefined) {
      const d = df.get(term) ?? 0
      v = Math.log(1 + (n - d + 0.5) / (d + 0.5))
      idfCache.set(term, v)
    }
    return v
  }
  const score = (query: string, doc: string): number => {
    const terms = tokenize(doc)
    if (terms.length === 0) return 0
    const tf = new Map<string, number>()
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1)
    const lengthNorm = averageLength > 0 ? 1 - b + (b * terms.length) / averageLength : 1
    let s = 0
    // Each distinct query term counts once (this reproduces the data README's reference AP numbers).
    for (const q of new Set(tokenize(query))) {
      const f = tf.get(q)
      if (f !== undefined) s += (idf(q) * (f * (k1 + 1))) / (f + k1 * lengthNorm)
    }
    return s
  }
  return { k1, b, tokenizer, documents: n, averageLength, idf, score }
}
