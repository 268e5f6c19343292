/**
 * Per-pair features for the embedded score model: lexical evidence (BM25, character, bigram and jieba-word
 * coverage both ways, title containment, longest common substring, lengths, missing key words) plus, when an
 * embedder is given, the cosine of its query and document embeddings. Lexical features alone cannot separate
 * grade 1 from 0 well; the embedder's similarity is what carries meaning beyond shared characters.
 *
 * @since 0.1.0
 */
import { Models, type Pair, Text } from "@ssra/core"
import { Bm25, CharNgram, Tokenize } from "@ssra/text"
import { Effect } from "effect"

/**
 * The index of the first pair whose query or document is empty after `Text.normalize` (-1 when none): such a
 * pair cannot be graded, and graders refuse the batch with `ModelError` (`invalid-input`) naming it.
 *
 * @since 0.1.0
 * @category validation
 */
export const firstEmpty = (
  pairs: ReadonlyArray<Pair.QueryDocument>
): { readonly index: number; readonly field: "query" | "doc" } | undefined => {
  for (let i = 0; i < pairs.length; i++) {
    if (Text.normalize(pairs[i]!.query ?? "") === "") return { index: i, field: "query" }
    if (Text.normalize(pairs[i]!.doc ?? "") === "") return { index: i, field: "doc" }
  }
  return undefined
}

/**
 * Fails with `ModelError` (`invalid-input`) when a pair has an empty query or document.
 *
 * @since 0.1.0
 * @category validation
 */
export const requireText = (
  backend: string,
  pairs: ReadonlyArray<Pair.QueryDocument>
): Effect.Effect<void, Models.ModelError> => {
  const empty = firstEmpty(pairs)
  return empty === undefined
    ? Effect.void
    : Effect.fail(
        new Models.ModelError({
          backend,
          reason: "invalid-input",
          message: `pair ${empty.index} has an empty ${empty.field === "doc" ? "document" : "query"} (nothing to grade); drop or fix it before grading`
        })
      )
}

/**
 * Names of the lexical features, in column order.
 *
 * @since 0.1.0
 * @category constants
 */
export const lexicalNames = [
  "bm25",
  "bm25_self_ratio",
  "char_cov_query",
  "char_cov_doc",
  "bigram_cov_query",
  "bigram_cov_doc",
  "bigram_cosine",
  "word_cov_query",
  "word_cov_doc",
  "word_idf_cov_query",
  "missing_max_idf",
  "missing_words",
  "first_word_in_doc",
  "last_word_in_doc",
  "lcs_over_query",
  "lcs_over_doc",
  "lcs_over_title",
  "query_in_title",
  "title_in_query",
  "exact_title",
  "ascii_cov_query",
  "has_ascii_query",
  "log_len_query",
  "log_len_doc",
  "log_len_ratio",
  "query_words",
  "main_title_cov_query",
  "main_title_cov_title",
  "extra_max_idf",
  "extra_idf_share"
] as const

/**
 * The embedder feature's name (the last column when an embedder is used).
 *
 * @since 0.1.0
 * @category constants
 */
export const embedderName = "embed_cosine"

/**
 * What lexical features need from a corpus: a character 1+2-gram BM25 index (IDF, average length) and a jieba
 * BM25 index (word IDF). Built from documents only, so it can be rebuilt from a saved corpus.
 *
 * @since 0.1.0
 * @category models
 */
export interface LexicalResources {
  readonly corpusSize: number
  readonly bm25: Bm25.Bm25Index
  readonly words: Bm25.Bm25Index
}

/**
 * Builds the lexical resources from a document corpus.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resources = (corpus: ReadonlyArray<string>): LexicalResources => ({
  corpusSize: corpus.length,
  bm25: Bm25.make(corpus, { tokenizer: "char-1-2" }),
  words: Bm25.make(corpus, { tokenizer: "jieba" })
})

/**
 * A feature matrix: `rows × names.length` values, row-major.
 *
 * @since 0.1.0
 * @category models
 */
export interface FeatureMatrix {
  readonly names: ReadonlyArray<string>
  readonly rows: number
  readonly values: Float64Array
}

const CONTENT = /[\p{L}\p{N}]/u
const ASCII_TOKEN = /[a-z0-9]+/g

const contentChars = (text: string): Array<string> => Tokenize.chars(text).filter((c) => CONTENT.test(c))

const bigrams = (cs: ReadonlyArray<string>): Set<string> => {
  const out = new Set<string>()
  for (let i = 0; i + 1 < cs.length; i++) out.add(cs[i]! + cs[i + 1]!)
  return out
}

const coverage = (from: ReadonlySet<string>, into: ReadonlySet<string>): number => {
  if (from.size === 0) return 0
  let hit = 0
  for (const x of from) if (into.has(x)) hit++
  return hit / from.size
}

/** Longest common substring length of two code-point arrays (rolling DP). */
const longestCommonSubstring = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  if (a.length === 0 || b.length === 0) return 0
  let previous = new Uint16Array(b.length + 1)
  let current = new Uint16Array(b.length + 1)
  let best = 0
  for (let i = 1; i <= a.length; i++) {
    const ca = a[i - 1]!
    for (let j = 1; j <= b.length; j++) {
      if (ca === b[j - 1]) {
        const v = previous[j - 1]! + 1
        current[j] = v
        if (v > best) best = v
      } else current[j] = 0
    }
    const t = previous
    previous = current
    current = t
  }
  return best
}

const titleOf = (doc: string): string => {
  const newline = doc.indexOf("\n")
  return newline < 0 ? doc : doc.slice(0, newline)
}

const SITE_SEPARATOR = /\s*[-_|｜—–]\s*[^-_|｜—–]{1,12}$/u

/** The title without a trailing site name ("怎样登录qq邮箱-百度经验" → "怎样登录qq邮箱"). */
const mainTitleOf = (title: string): string => {
  let t = title
  for (let i = 0; i < 3; i++) {
    const stripped = t.replace(SITE_SEPARATOR, "")
    if (stripped === t || stripped.length < 2) break
    t = stripped
  }
  return t
}

/** The lexical features of one pair into `out` at `offset`. */
const lexicalRow = (r: LexicalResources, query: string, doc: string, out: Float64Array, offset: number): void => {
  const qc = contentChars(query)
  const dc = contentChars(doc)
  const title = titleOf(doc)
  const tc = contentChars(title)
  const mc = contentChars(mainTitleOf(title))
  const qs = qc.join("")
  const ds = dc.join("")
  const ts = tc.join("")
  const qSet = new Set(qc)
  const dSet = new Set(dc)
  const qBigrams = bigrams(qc)
  const dBigrams = bigrams(dc)
  const bm25 = r.bm25.score(query, doc)
  const self = r.bm25.score(query, query)
  const qWords = Tokenize.jiebaWords(query).filter((w) => CONTENT.test(w))
  const dWords = Tokenize.jiebaWords(doc).filter((w) => CONTENT.test(w))
  let wordsHit = 0
  let idfHit = 0
  let idfTotal = 0
  let missingMaxIdf = 0
  let missing = 0
  for (const w of qWords) {
    const idf = r.words.idf(w)
    idfTotal += idf
    if (ds.includes(w)) {
      wordsHit++
      idfHit += idf
    } else {
      missing++
      if (idf > missingMaxIdf) missingMaxIdf = idf
    }
  }
  let docWordsHit = 0
  let extraMaxIdf = 0
  let extraIdf = 0
  let docIdf = 0
  for (const w of dWords) {
    const idf = r.words.idf(w)
    docIdf += idf
    if (qs.includes(w)) docWordsHit++
    else {
      extraIdf += idf
      if (idf > extraMaxIdf) extraMaxIdf = idf
    }
  }
  const mSet = new Set(mc)
  const lcs = longestCommonSubstring(qc, dc)
  const lcsTitle = ts === ds ? lcs : longestCommonSubstring(qc, tc)
  // ASCII words are split on the query's own spaces and punctuation ("iphone 16" → iphone, 16)
  const asciiTokens = Text.normalize(query).toLowerCase().match(ASCII_TOKEN) ?? []
  let asciiHit = 0
  for (const t of asciiTokens) if (ds.includes(t)) asciiHit++
  const v = [
    bm25,
    self > 0 ? bm25 / self : 0,
    coverage(qSet, dSet),
    coverage(dSet, qSet),
    coverage(qBigrams, dBigrams),
    coverage(dBigrams, qBigrams),
    CharNgram.cosine(query, doc, 2),
    qWords.length === 0 ? 0 : wordsHit / qWords.length,
    dWords.length === 0 ? 0 : docWordsHit / dWords.length,
    idfTotal === 0 ? 0 : idfHit / idfTotal,
    missingMaxIdf,
    missing,
    qWords.length > 0 && ds.includes(qWords[0]!) ? 1 : 0,
    qWords.length > 0 && ds.includes(qWords[qWords.length - 1]!) ? 1 : 0,
    qc.length === 0 ? 0 : lcs / qc.length,
    dc.length === 0 ? 0 : lcs / dc.length,
    tc.length === 0 ? 0 : lcsTitle / tc.length,
    qs.length > 0 && ts.includes(qs) ? 1 : 0,
    ts.length > 0 && qs.includes(ts) ? 1 : 0,
    qs.length > 0 && qs === ts ? 1 : 0,
    asciiTokens.length === 0 ? 1 : asciiHit / asciiTokens.length,
    asciiTokens.length > 0 ? 1 : 0,
    Math.log1p(qc.length),
    Math.log1p(dc.length),
    Math.log((1 + qc.length) / (1 + dc.length)),
    qWords.length,
    coverage(qSet, mSet),
    coverage(mSet, qSet),
    extraMaxIdf,
    docIdf === 0 ? 0 : extraIdf / docIdf
  ]
  for (let i = 0; i < v.length; i++) out[offset + i] = Number.isFinite(v[i]!) ? v[i]! : 0
}

/**
 * The lexical features of each pair (plain code; `rows × lexicalNames.length`).
 *
 * @since 0.1.0
 * @category features
 */
export const lexical = (r: LexicalResources, pairs: ReadonlyArray<Pair.QueryDocument>): FeatureMatrix => {
  const width = lexicalNames.length
  const values = new Float64Array(pairs.length * width)
  for (let i = 0; i < pairs.length; i++) lexicalRow(r, pairs[i]!.query, pairs[i]!.doc, values, i * width)
  return { names: lexicalNames, rows: pairs.length, values }
}

/**
 * Cosine similarity of each pair's query and document embeddings. Distinct texts are embedded once, in
 * batches of `batchSize`; vectors are re-normalized so an embedder that does not L2-normalize still gives a
 * cosine.
 *
 * @since 0.1.0
 * @category features
 */
export const embedderSimilarity = (
  embedder: Models.TextEmbedder,
  pairs: ReadonlyArray<Pair.QueryDocument>,
  options: { readonly batchSize?: number | undefined; readonly dimensions?: number | undefined } = {}
): Effect.Effect<Float64Array, Models.ModelError> =>
  Effect.gen(function* () {
    const batchSize = options.batchSize ?? 512
    const embedAll = Effect.fnUntraced(function* (texts: ReadonlyArray<string>, kind: Models.TextKind) {
      const distinct = [...new Set(texts)]
      const vectors = new Map<string, Float32Array>()
      for (let start = 0; start < distinct.length; start += batchSize) {
        const batch = distinct.slice(start, start + batchSize)
        const out = yield* embedder.embed(batch, { kind, dimensions: options.dimensions })
        for (let i = 0; i < batch.length; i++) vectors.set(batch[i]!, out[i]!)
      }
      return vectors
    })
    const queries = yield* embedAll(
      pairs.map((p) => p.query),
      "query"
    )
    const docs = yield* embedAll(
      pairs.map((p) => p.doc),
      "document"
    )
    const out = new Float64Array(pairs.length)
    for (let i = 0; i < pairs.length; i++) {
      const a = queries.get(pairs[i]!.query)!
      const b = docs.get(pairs[i]!.doc)!
      let dot = 0
      let na = 0
      let nb = 0
      const n = Math.min(a.length, b.length)
      for (let k = 0; k < n; k++) {
        dot += a[k]! * b[k]!
        na += a[k]! * a[k]!
        nb += b[k]! * b[k]!
      }
      const c = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
      out[i] = Number.isFinite(c) ? c : 0
    }
    return out
  })

/**
 * All features of each pair: the lexical columns, then `embed_cosine` when an embedder is given.
 *
 * @since 0.1.0
 * @category features
 */
export const extract = (
  r: LexicalResources,
  pairs: ReadonlyArray<Pair.QueryDocument>,
  embedder?: Models.TextEmbedder | undefined
): Effect.Effect<FeatureMatrix, Models.ModelError> =>
  Effect.gen(function* () {
    const lex = yield* Effect.sync(() => lexical(r, pairs))
    if (embedder === undefined) return lex
    const similarity = yield* embedderSimilarity(embedder, pairs)
    const width = lex.names.length + 1
    const values = new Float64Array(pairs.length * width)
    for (let i = 0; i < pairs.length; i++) {
      values.set(lex.values.subarray(i * lex.names.length, (i + 1) * lex.names.length), i * width)
      values[i * width + width - 1] = similarity[i]!
    }
    return { names: [...lex.names, embedderName], rows: pairs.length, values }
  })

/**
 * Per-column mean and standard deviation (a constant column gets std 1, so it standardizes to 0).
 *
 * @since 0.1.0
 * @category models
 */
export interface Standardizer {
  readonly mean: ReadonlyArray<number>
  readonly std: ReadonlyArray<number>
}

/**
 * Fits a standardizer on a feature matrix.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fitStandardizer = (m: FeatureMatrix): Standardizer => {
  const width = m.names.length
  const mean = new Array<number>(width).fill(0)
  const std = new Array<number>(width).fill(0)
  if (m.rows === 0) return { mean, std: std.map(() => 1) }
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < width; c++) mean[c]! += m.values[r * width + c]!
  for (let c = 0; c < width; c++) mean[c] = mean[c]! / m.rows
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < width; c++) {
      const d = m.values[r * width + c]! - mean[c]!
      std[c]! += d * d
    }
  }
  for (let c = 0; c < width; c++) {
    const s = Math.sqrt(std[c]! / m.rows)
    std[c] = s > 1e-12 ? s : 1
  }
  return { mean, std }
}

/**
 * A standardized copy of a feature matrix.
 *
 * @since 0.1.0
 * @category combinators
 */
export const standardize = (m: FeatureMatrix, s: Standardizer): Float64Array => {
  const width = m.names.length
  const out = new Float64Array(m.values.length)
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < width; c++) out[r * width + c] = (m.values[r * width + c]! - s.mean[c]!) / s.std[c]!
  }
  return out
}
