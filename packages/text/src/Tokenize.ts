/**
 * Tokenizers for the lexical scorers and features: Unicode characters, character n-grams and jieba words. Chinese
 * has no spaces, so characters and character bigrams are the natural units; jieba words are the alternative.
 *
 * @since 0.1.0
 */
import { Text } from "@ssra/core"
import * as Jieba from "./Jieba.js"
import { TextOptionError } from "./TextOptionError.js"

const SPACE = /\s/u

/**
 * The text's characters (Unicode code points) after `Text.normalize` and lower-casing, whitespace removed.
 *
 * @since 0.1.0
 * @category tokenizers
 */
export const chars = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const ch of Text.normalize(text).toLowerCase()) if (!SPACE.test(ch)) out.push(ch)
  return out
}

/**
 * Overlapping character n-grams of `chars(text)`. A text shorter than `n` yields its whole character
 * sequence as one gram (so short texts still match), and an empty text yields nothing.
 *
 * @since 0.1.0
 * @category tokenizers
 */
export const charNgrams = (text: string, n: number): Array<string> => {
  if (!Number.isInteger(n) || n < 1)
    throw new TextOptionError({ option: "n", detail: `n-gram size must be a positive integer, got ${n}` })
  const cs = chars(text)
  if (n === 1) return cs
  if (cs.length === 0) return []
  if (cs.length < n) return [cs.join("")]
  const out: Array<string> = new Array(cs.length - n + 1)
  for (let i = 0; i + n <= cs.length; i++) {
    let g = cs[i]!
    for (let j = 1; j < n; j++) g += cs[i + j]!
    out[i] = g
  }
  return out
}

/**
 * Character unigrams followed by character bigrams: the BM25 reference tokenization ("char 1+2-grams").
 *
 * @since 0.1.0
 * @category tokenizers
 */
export const charUnigramsAndBigrams = (text: string): Array<string> => {
  const cs = chars(text)
  const out = cs.slice()
  for (let i = 0; i + 1 < cs.length; i++) out.push(cs[i]! + cs[i + 1]!)
  return out
}

/**
 * jieba words (precise mode with HMM) of the normalized, lower-cased text, whitespace tokens removed. The
 * addon and its dictionary load on the first call (~0.3 s; see `Jieba`).
 *
 * @since 0.1.0
 * @category tokenizers
 */
export const jiebaWords = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const w of Jieba.cut(Text.normalize(text).toLowerCase(), true)) if (w.trim() !== "") out.push(w)
  return out
}

/**
 * The tokenizers BM25 and the n-gram scorers accept by name.
 *
 * @since 0.1.0
 * @category models
 */
export type TokenizerName = "char-1-2" | "char" | "char-2" | "jieba"

/**
 * A tokenizer function by name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const byName = (name: TokenizerName): ((text: string) => Array<string>) => {
  switch (name) {
    case "char-1-2":
      return charUnigramsAndBigrams
    case "char":
      return chars
    case "char-2":
      return (text) => charNgrams(text, 2)
    case "jieba":
      return jiebaWords
  }
}
