/**
 * The one jieba word segmenter of the process. `@node-rs/jieba` is a native addon with a 349k-word dictionary:
 * it is loaded on the first `cut`, not when this module (or any package importing it) is imported, so code that
 * never segments words — metrics, character n-grams, BM25 over characters — never loads the addon.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import type { Jieba } from "@node-rs/jieba"

let instance: Jieba | undefined

/** The instance, built on first use (loading the addon and the dictionary takes ~0.3 s). */
const segmenter = (): Jieba => {
  if (instance === undefined) {
    // `require` on demand: a static import would load the addon with the module graph.
    const load = createRequire(import.meta.url)
    const addon = load("@node-rs/jieba") as typeof import("@node-rs/jieba")
    const { dict } = load("@node-rs/jieba/dict.js") as typeof import("@node-rs/jieba/dict.js")
    instance = addon.Jieba.withDict(dict)
  }
  return instance
}

/**
 * jieba's precise-mode segmentation of `text` as given (no normalization; every piece kept, whitespace and
 * punctuation included). `hmm: true` lets jieba's HMM join characters the dictionary does not know into words;
 * the two settings segment differently, and each caller keeps the one its numbers were measured with.
 *
 * @since 0.1.0
 * @category tokenizers
 */
export const cut = (text: string, hmm: boolean): Array<string> => segmenter().cut(text, hmm)
