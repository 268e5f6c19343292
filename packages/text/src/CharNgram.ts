/**
 * Character n-gram cosine similarity: the simplest lexical reference scorer, term-frequency vectors over
 * overlapping character n-grams. The data README's "char-bigram cosine" numbers are reproduced by the
 * unigram + bigram variant (`cosineUnigramsAndBigrams`), which the reference scorer `char-ngram` uses
 * (`@ssra/evaluation`'s `PairScorer.charNgram`).
 *
 * @since 0.1.0
 */
import * as Tokenize from "./Tokenize.js"

const counts = (grams: ReadonlyArray<string>): Map<string, number> => {
  const m = new Map<string, number>()
  for (const g of grams) m.set(g, (m.get(g) ?? 0) + 1)
  return m
}

const cosineOfCounts = (ca: Map<string, number>, cb: Map<string, number>): number => {
  const na = norm(ca)
  const nb = norm(cb)
  if (na === 0 || nb === 0) return 0
  const [small, large] = ca.size <= cb.size ? [ca, cb] : [cb, ca]
  let dot = 0
  for (const [g, v] of small) {
    const w = large.get(g)
    if (w !== undefined) dot += v * w
  }
  return dot / (na * nb)
}

const norm = (m: Map<string, number>): number => {
  let s = 0
  for (const v of m.values()) s += v * v
  return Math.sqrt(s)
}

/**
 * Cosine of the term-frequency vectors of two texts' character n-grams (default bigrams); 0 when either text
 * has no n-grams.
 *
 * @since 0.1.0
 * @category scoring
 */
export const cosine = (a: string, b: string, n = 2): number =>
  cosineOfCounts(counts(Tokenize.charNgrams(a, n)), counts(Tokenize.charNgrams(b, n)))

/**
 * Cosine of the term-frequency vectors of character unigrams + bigrams (the reference "char-ngram" scorer).
 *
 * @since 0.1.0
 * @category scoring
 */
export const cosineUnigramsAndBigrams = (a: string, b: string): number =>
  cosineOfCounts(counts(Tokenize.charUnigramsAndBigrams(a)), counts(Tokenize.charUnigramsAndBigrams(b)))

/**
 * Which grams a scorer uses: a fixed n, or unigrams + bigrams.
 *
 * @since 0.1.0
 * @category models
 */
export type Grams = number | "1-2"

/**
 * Cosine for a `Grams` choice.
 *
 * @since 0.1.0
 * @category scoring
 */
export const cosineWith =
  (grams: Grams) =>
  (a: string, b: string): number =>
    grams === "1-2" ? cosineUnigramsAndBigrams(a, b) : cosine(a, b, grams)
