/**
 * Text → bucket ids for the embedded dual encoder: hashed character n-grams (bigrams by default) plus jieba
 * words, so Chinese and English text featurize with no vocabulary download. Equal text and equal config give
 * equal ids on every machine (a seeded 32-bit hash of a typed feature string).
 *
 * @since 0.1.0
 */
import { Failure, Text } from "@ssra/core"
import { Jieba } from "@ssra/text"
import { Schema } from "effect"
import { EmbeddingOptionError } from "./EmbeddingOptionError.js"

/**
 * How texts become features. `charNgrams` lists the n of the character n-grams (taken inside runs of letters
 * and digits; a run shorter than n contributes itself whole); `words` adds jieba words.
 *
 * @since 0.1.0
 * @category models
 */
export interface FeaturizerConfig {
  readonly buckets: number
  readonly charNgrams: ReadonlyArray<number>
  readonly words: boolean
  readonly lowercase: boolean
  readonly seed: number
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const FeaturizerConfig = Schema.Struct({
  buckets: Schema.Int.check(Schema.isBetween({ minimum: 16, maximum: 1 << 24 })),
  charNgrams: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 }))),
  words: Schema.Boolean,
  lowercase: Schema.Boolean,
  seed: Schema.Int
})

/**
 * Bigrams + jieba words into 2^18 buckets (measured best on the bundled data).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConfig: FeaturizerConfig = {
  buckets: 1 << 18,
  charNgrams: [2],
  words: true,
  lowercase: true,
  seed: 0x5eed
}

/**
 * A text that has nothing to featurize: it is empty or only whitespace/control characters after normalization.
 * (A text made only of punctuation still featurizes: its characters become unigram features.)
 *
 * @since 0.1.0
 * @category errors
 */
export class FeaturizeError extends Schema.TaggedError<FeaturizeError>()("FeaturizeError", {
  text: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot featurize ${JSON.stringify(this.text.slice(0, 80))}: ${this.detail}`
  }
  /** A text the featurizer cannot read is bad input: fix or drop that row. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("input", { label: "invalid input" })
  }
}

const WORD_CHAR = /[\p{L}\p{N}]/u
const TAG_WORD = 0x77
const TAG_FALLBACK = 0x66

/** murmur3-style 32-bit hash of the code units of `s`, seeded with `seed` and a feature-kind tag. */
const hashString = (s: string, seed: number, tag: number): number => {
  let h = (seed ^ Math.imul(tag + 1, 0x9e3779b1)) >>> 0
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  h ^= s.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * A featurizer: `featurize` returns the bucket id of every feature occurrence (repeats kept, so pooling weighs
 * frequent features more); it throws `FeaturizeError` for a text with nothing in it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Featurizer {
  readonly config: FeaturizerConfig
  readonly featurize: (text: string) => Int32Array
  /** The feature strings before hashing (for inspection and tests). */
  readonly features: (text: string) => ReadonlyArray<string>
}

/** Feature strings with their kind tags; shared by `features` and `featurize`. */
const collect = (config: FeaturizerConfig, text: string, emit: (feature: string, tag: number) => void): void => {
  let normalized = Text.normalize(text)
  if (config.lowercase) normalized = normalized.toLowerCase()
  if (normalized.length === 0) throw new FeaturizeError({ text, detail: "the text is empty after normalization" })
  let count = 0
  const push = (feature: string, tag: number) => {
    count++
    emit(feature, tag)
  }
  // runs of letters/digits; n-grams never cross punctuation or spaces
  const runs: Array<Array<string>> = []
  let run: Array<string> = []
  for (const ch of normalized) {
    if (WORD_CHAR.test(ch)) run.push(ch)
    else if (run.length > 0) {
      runs.push(run)
      run = []
    }
  }
  if (run.length > 0) runs.push(run)
  for (const n of config.charNgrams) {
    for (const r of runs) {
      if (r.length < n) {
        // a run shorter than n still says something: keep it whole, tagged by its own length
        if (!config.charNgrams.includes(r.length)) push(r.join(""), r.length)
        continue
      }
      for (let i = 0; i + n <= r.length; i++) push(n === 1 ? r[i]! : r.slice(i, i + n).join(""), n)
    }
  }
  if (config.words && runs.length > 0) {
    for (const word of Jieba.cut(normalized, false)) if (WORD_CHAR.test(word)) push(word, TAG_WORD)
  }
  if (count === 0) {
    // only punctuation/symbols: their characters are the features
    for (const ch of normalized) if (ch !== " ") push(ch, TAG_FALLBACK)
  }
}

/**
 * Builds a featurizer (jieba words come from `@ssra/text`'s one segmenter, loaded on first use, without its HMM).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Partial<FeaturizerConfig> = {}): Featurizer => {
  const full: FeaturizerConfig = { ...defaultConfig, ...config }
  if (!Number.isInteger(full.buckets) || full.buckets < 16)
    throw new EmbeddingOptionError({
      option: "featurizer",
      detail: `buckets must be an integer ≥ 16, got ${full.buckets}`
    })
  if (full.charNgrams.length === 0 && !full.words)
    throw new EmbeddingOptionError({ option: "featurizer", detail: "a featurizer needs char n-grams or words" })
  const buckets = full.buckets
  const seed = full.seed >>> 0
  return {
    config: full,
    featurize: (text) => {
      const ids: Array<number> = []
      collect(full, text, (feature, tag) => ids.push(hashString(feature, seed, tag) % buckets))
      return Int32Array.from(ids)
    },
    features: (text) => {
      const out: Array<string> = []
      collect(full, text, (feature, tag) =>
        out.push(tag === TAG_WORD ? `w:${feature}` : tag === TAG_FALLBACK ? `f:${feature}` : `c${tag}:${feature}`)
      )
      return out
    }
  }
}
