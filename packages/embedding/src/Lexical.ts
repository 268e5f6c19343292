/**
 * The fixed (never trained) lexical channel of the dual encoder: BM25 over hashed character n-grams written as
 * dense dimensions, so a plain dot product of a query vector and a document vector is a scaled BM25 score.
 *
 * Query side: each feature occurrence adds its IDF, the vector is L2-normalized. Document side: each feature f
 * gets BM25's saturated term weight `tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen))`, divided by `normCap` (the
 * largest document norm of the fitting corpus, so the part fits in the unit ball; a longer document is scaled
 * down to norm 1). Features are hashed into `dimensions` slots with a random sign (the hashing trick keeps dot
 * products unbiased). `DualEncoder` concatenates this part after the learned part and a padding slot.
 *
 * @since 0.1.0
 */
import { Bm25, Idf } from "@ssra/text"
import { Schema } from "effect"
import { EmbeddingOptionError } from "./EmbeddingOptionError.js"
import * as Featurizer from "./Featurizer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface LexicalConfig {
  /** Hashed width of the lexical part. */
  readonly dimensions: number
  /** α: the lexical part's share of the cosine, `cos = α·lexical + (1 − α)·learned`, in [0, 1]. */
  readonly weight: number
  readonly k1: number
  readonly b: number
  /** Its own featurizer (char uni+bigrams + jieba words by default). */
  readonly featurizer: Featurizer.FeaturizerConfig
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const LexicalConfig = Schema.Struct({
  dimensions: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1 << 16 })),
  weight: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  k1: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  b: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  featurizer: Featurizer.FeaturizerConfig
})

/**
 * 2048 hashed dimensions, α 0.9, k1 1.2, b 0.75, char 1+2-grams and jieba words into 2^20 buckets (words measured
 * better than without on held-out splits of both bundled labeled sets).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConfig: LexicalConfig = {
  dimensions: 2048,
  weight: 0.9,
  k1: 1.2,
  b: 0.75,
  featurizer: { buckets: 1 << 20, charNgrams: [1, 2], words: true, lowercase: true, seed: 0x1e55 }
}

/**
 * The fitted statistics (`fit`): per-bucket IDF, average document length in features, the norm cap.
 *
 * @since 0.1.0
 * @category models
 */
export interface LexicalStats {
  readonly idf: Float32Array
  readonly averageLength: number
  readonly normCap: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LexicalChannel {
  readonly config: LexicalConfig
  readonly featurizer: Featurizer.Featurizer
  /** Replaced by `fit`; before fitting every IDF is 1, average length 1 and the cap 1. */
  stats: LexicalStats
}

/**
 * An unfitted channel.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: LexicalConfig, stats?: LexicalStats): LexicalChannel => {
  if (!(config.weight >= 0 && config.weight <= 1))
    throw new EmbeddingOptionError({
      option: "lexical",
      detail: `lexical weight must be in [0, 1], got ${config.weight}`
    })
  const featurizer = Featurizer.make(config.featurizer)
  return {
    config,
    featurizer,
    stats: stats ?? { idf: new Float32Array(config.featurizer.buckets).fill(1), averageLength: 1, normCap: 1 }
  }
}

/** slot and sign of a bucket (a second hash, so slots are not just `bucket mod dimensions`). */
const slotOf = (bucket: number, dimensions: number): number => {
  let h = Math.imul(bucket ^ 0x27d4eb2d, 0x9e3779b1)
  h ^= h >>> 15
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return (((h >>> 1) % dimensions) + 1) * (h & 1 ? 1 : -1)
}

/** Unique buckets of a text with their counts. */
const counts = (ids: Int32Array): Map<number, number> => {
  const m = new Map<number, number>()
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1)
  return m
}

/** Unnormalized BM25 document weights per bucket. */
const documentWeights = (channel: LexicalChannel, ids: Int32Array): Map<number, number> => {
  const { k1, b } = channel.config
  const norm = Bm25.lengthNorm(ids.length, channel.stats.averageLength, b)
  const out = new Map<number, number>()
  for (const [id, tf] of counts(ids)) out.set(id, Bm25.termWeight(1, tf, norm, k1))
  return out
}

/**
 * Fits the IDF (`Idf.bm25`: `ln(1 + (N − df + 0.5)/(df + 0.5))`), the average length and the norm cap on a document
 * corpus.
 *
 * @since 0.1.0
 * @category training
 */
export const fit = (channel: LexicalChannel, corpus: ReadonlyArray<string>): void => {
  const buckets = channel.config.featurizer.buckets
  const df = new Int32Array(buckets)
  const featurized = corpus.map((t) => channel.featurizer.featurize(t))
  let total = 0
  for (const ids of featurized) {
    total += ids.length
    for (const id of counts(ids).keys()) df[id]!++
  }
  const N = corpus.length
  const idf = new Float32Array(buckets)
  for (let f = 0; f < buckets; f++) idf[f] = Idf.bm25(N, df[f]!)
  channel.stats = { idf, averageLength: N > 0 ? total / N : 1, normCap: 1 }
  let cap = 0
  for (const ids of featurized) {
    const v = new Float64Array(channel.config.dimensions)
    accumulate(channel, documentWeights(channel, ids), v)
    let s = 0
    for (let j = 0; j < v.length; j++) s += v[j]! * v[j]!
    cap = Math.max(cap, Math.sqrt(s))
  }
  channel.stats = { idf, averageLength: channel.stats.averageLength, normCap: cap > 0 ? cap : 1 }
}

const accumulate = (channel: LexicalChannel, weights: Map<number, number>, out: Float64Array): void => {
  const L = channel.config.dimensions
  for (const [id, w] of weights) {
    const s = slotOf(id, L)
    out[Math.abs(s) - 1] += s > 0 ? w : -w
  }
}

/**
 * The lexical part of one text: a query's unit IDF vector, or a document's BM25 weights over the cap (norm ≤ 1).
 * Returns the vector and its squared norm.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (
  channel: LexicalChannel,
  text: string,
  kind: "query" | "document"
): { readonly vector: Float64Array; readonly squaredNorm: number } => {
  const ids = channel.featurizer.featurize(text)
  const vector = new Float64Array(channel.config.dimensions)
  if (kind === "query") {
    const w = new Map<number, number>()
    for (const [id, tf] of counts(ids)) w.set(id, tf * channel.stats.idf[id]!)
    accumulate(channel, w, vector)
  } else accumulate(channel, documentWeights(channel, ids), vector)
  let s = 0
  for (let j = 0; j < vector.length; j++) s += vector[j]! * vector[j]!
  const scale =
    kind === "query"
      ? s > 0
        ? 1 / Math.sqrt(s)
        : 0
      : Math.sqrt(s) > channel.stats.normCap
        ? 1 / Math.sqrt(s)
        : 1 / channel.stats.normCap
  for (let j = 0; j < vector.length; j++) vector[j]! *= scale
  return { vector, squaredNorm: s * scale * scale }
}
