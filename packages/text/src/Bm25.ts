/**
 * Okapi BM25 over a corpus of documents (titles), the lexical reference scorer: IDF and average document
 * length come from the corpus; any document can be scored against it.
 *
 * @since 0.1.0
 */
import * as Idf from "./Idf.js"
import { TextOptionError } from "./TextOptionError.js"
import type * as Tokenize from "./Tokenize.js"
import { byName } from "./Tokenize.js"

/**
 * BM25's document-length factor `1 − b + b·length/averageLength` (1 when the average is not positive, as for an
 * empty corpus).
 *
 * @since 0.1.0
 * @category scoring
 */
export const lengthNorm = (length: number, averageLength: number, b: number): number =>
  averageLength > 0 ? 1 - b + (b * length) / averageLength : 1

/**
 * One term's BM25 contribution: `idf·tf·(k1 + 1) / (tf + k1·norm)`, `norm` from `lengthNorm`. With `idf = 1` it is
 * the saturated term weight alone (exactly: multiplying by 1 rounds nothing).
 *
 * @since 0.1.0
 * @category scoring
 */
export const termWeight = (idf: number, tf: number, norm: number, k1: number): number =>
  (idf * (tf * (k1 + 1))) / (tf + k1 * norm)

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
  /** IDF of a term: `Idf.bm25(N, df)`, `ln(1 + (N − df + 0.5) / (df + 0.5))` (Lucene's non-negative form). */
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
  if (!(k1 >= 0) || !(b >= 0 && b <= 1))
    throw new TextOptionError({ option: "bm25", detail: `BM25 needs k1 >= 0 and 0 <= b <= 1, got k1=${k1} b=${b}` })
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
      v = Idf.bm25(n, d)
      idfCache.set(term, v)
    }
    return v
  }
  const score = (query: string, doc: string): number => {
    const terms = tokenize(doc)
    if (terms.length === 0) return 0
    const tf = new Map<string, number>()
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1)
    const norm = lengthNorm(terms.length, averageLength, b)
    let s = 0
    // Each distinct query term counts once (this reproduces the data README's reference AP numbers).
    for (const q of new Set(tokenize(query))) {
      const f = tf.get(q)
      if (f !== undefined) s += termWeight(idf(q), f, norm, k1)
    }
    return s
  }
  return { k1, b, tokenizer, documents: n, averageLength, idf, score }
}
