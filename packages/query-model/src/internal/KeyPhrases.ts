// Key phrases of a document and the edits built from them: the key entity alone, the key entity with its next
// most important words, the document's words with the least important dropped, and the key entity with a
// secondary word swapped for one that real queries around this document use but the document lacks, and the
// (short) title itself. Word
// importance is the word's IDF among the pool's real queries (jieba words), so "key" means "what users search".
import { type Sampling, Text } from "@ssra/core"
import { Idf, Tokenize } from "@ssra/text"

const CONTENT = /[\p{L}\p{N}]/u
const ASCII = /^[\p{Script=Latin}\p{N}]+$/u
// Function words and generic question words: never a key entity.
const STOP = new Set(
  "的 了 是 在 和 与 及 或 吗 呢 啊 吧 呀 么 着 过 也 都 就 还 又 而 但 被 把 让 给 从 向 对 为 以 于 之 其 这 那 这个 那个 这些 那些 一个 一些 我 你 他 她 它 我们 你们 他们 自己 什么 怎么 怎么样 怎样 如何 哪些 哪个 哪里 为什么 多少 几 吗 能 会 可以 要 有 没有 不 很 太 更 最 多 少 好 啊 哦 嗯 请问 有没有 是不是 能不能".split(
    " "
  )
)

export type EditSource = "key" | "key2" | "key3" | "drop" | "swap" | "title"

export interface WordStats {
  readonly queries: number
  readonly df: ReadonlyMap<string, number>
}

export const contentWords = (text: string): Array<string> =>
  Tokenize.jiebaWords(text).filter((w) => CONTENT.test(w) && !STOP.has(w))

/** Word document frequencies over the pool's queries. */
export const wordStats = (queries: ReadonlyArray<string>): WordStats => {
  const df = new Map<string, number>()
  for (const q of queries) for (const w of new Set(contentWords(q))) df.set(w, (df.get(w) ?? 0) + 1)
  return { queries: queries.length, df }
}

export const weightOf = (stats: WordStats, word: string): number => {
  const n = stats.queries
  const df = stats.df.get(word) ?? 0
  const idf = Idf.bm25(n, df)
  // a word no user ever searched is rarely the key entity; a single Han character rarely carries one
  const seen = df === 0 ? 0.5 : 1
  const single = [...word].length === 1 && !ASCII.test(word) ? 0.3 : 1
  return idf * seen * single
}

export interface Keyword {
  readonly word: string
  readonly weight: number
  readonly position: number
}

/** The document's distinct content words, heaviest first (ties by first position). */
export const keywords = (doc: string, stats: WordStats): Array<Keyword> => {
  const seen = new Map<string, Keyword>()
  const words = contentWords(doc)
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    if (!seen.has(w)) seen.set(w, { word: w, weight: weightOf(stats, w), position: i })
  }
  return [...seen.values()].sort((a, b) => b.weight - a.weight || a.position - b.position)
}

/** Joins words as a query: Chinese without spaces, a space between two Latin/number words. */
export const join = (words: ReadonlyArray<string>): string => {
  let out = ""
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    if (i > 0 && ASCII.test(words[i - 1]!) && ASCII.test(w)) out += " "
    out += w
  }
  return out
}

export interface Edit {
  readonly query: string
  readonly source: EditSource
}

/**
 * Edits of the document's key phrases. `neighbors` are real pool queries retrieved for the document; the swap
 * edits take their secondary words. Returns distinct edits (by normalized key), at most `maxSwaps` swaps.
 */
export const edits = (
  doc: string,
  stats: WordStats,
  neighbors: ReadonlyArray<string>,
  rng: Sampling.SeededRandom,
  maxSwaps = 2,
  maxTitleChars = 30
): Array<Edit> => {
  const ranked = keywords(doc, stats)
  if (ranked.length === 0) return []
  const title = Text.normalize(doc.split("\n")[0] ?? "")
  const byPosition = (ks: ReadonlyArray<Keyword>) => [...ks].sort((a, b) => a.position - b.position).map((k) => k.word)
  const out: Array<Edit> = []
  const seen = new Set<string>()
  const add = (query: string, source: EditSource) => {
    const k = Text.dedupKey(query)
    if (k === "" || seen.has(k)) return
    seen.add(k)
    out.push({ query, source })
  }
  const key = ranked[0]!
  add(key.word, "key")
  // the title itself, when it is short enough to be typed as a query: the candidate most likely at the top grade
  if ([...title].length <= maxTitleChars) add(title, "title")
  if (ranked.length >= 2) add(join(byPosition(ranked.slice(0, 2))), "key2")
  if (ranked.length >= 3) add(join(byPosition(ranked.slice(0, 3))), "key3")
  if (ranked.length >= 3) {
    const lightest = ranked[ranked.length - 1]!
    const kept = byPosition(ranked.filter((k) => k !== lightest).slice(0, 5))
    add(join(kept), "drop")
  }
  // swaps: words that real queries around this document pair with the key entity, absent from the document
  const docKey = Text.dedupKey(doc)
  const partners: Array<{ word: string; before: boolean }> = []
  const partnerSeen = new Set<string>()
  for (const n of neighbors) {
    const words = contentWords(n)
    const at = words.indexOf(key.word)
    if (at === -1) continue
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!
      if (i === at || partnerSeen.has(w) || docKey.includes(Text.dedupKey(w))) continue
      partnerSeen.add(w)
      partners.push({ word: w, before: i < at })
    }
  }
  for (let s = 0; s < maxSwaps && partners.length > 0; s++) {
    const pick = partners.splice(rng.int(partners.length), 1)[0]!
    add(pick.before ? join([pick.word, key.word]) : join([key.word, pick.word]), "swap")
  }
  return out
}
