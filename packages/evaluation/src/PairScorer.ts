/**
 * A pair scorer: anything that gives a (query, document) pair a relevance score. Lexical baselines, trained
 * checkpoints and remote embedding endpoints all become pair scorers, so every evaluator treats them alike.
 *
 * @since 0.1.0
 */
import { Models, type Pair } from "@ssra/core"
import { Bm25, CharNgram } from "@ssra/text"
import { Effect } from "effect"
import type { EmbeddingModel } from "effect/ai"

/**
 * Scores, index-aligned with the pairs; higher means more relevant.
 *
 * @since 0.1.0
 * @category models
 */
export type PairScorer = (
  pairs: ReadonlyArray<Pair.QueryDocument>
) => Effect.Effect<ReadonlyArray<number>, Models.ModelError>

/**
 * How two embeddings are compared (MTEB's pair-classification similarities; distances are negated so that
 * higher is always more similar).
 *
 * @since 0.1.0
 * @category models
 */
export type Similarity = "cosine" | "dot" | "euclidean" | "manhattan"

/**
 * All similarities, in MTEB's order.
 *
 * @since 0.1.0
 * @category constants
 */
export const similarities: ReadonlyArray<Similarity> = ["cosine", "dot", "euclidean", "manhattan"]

/**
 * The similarity of two vectors (over their common prefix length).
 *
 * @since 0.1.0
 * @category scoring
 */
export const similarity = (kind: Similarity, a: Float32Array, b: Float32Array): number => {
  const n = Math.min(a.length, b.length)
  switch (kind) {
    case "dot": {
      let s = 0
      for (let i = 0; i < n; i++) s += a[i]! * b[i]!
      return s
    }
    case "cosine": {
      let s = 0
      let na = 0
      let nb = 0
      for (let i = 0; i < n; i++) {
        s += a[i]! * b[i]!
        na += a[i]! * a[i]!
        nb += b[i]! * b[i]!
      }
      return na === 0 || nb === 0 ? 0 : s / Math.sqrt(na * nb)
    }
    case "euclidean": {
      let s = 0
      for (let i = 0; i < n; i++) {
        const d = a[i]! - b[i]!
        s += d * d
      }
      return -Math.sqrt(s)
    }
    case "manhattan": {
      let s = 0
      for (let i = 0; i < n; i++) s += Math.abs(a[i]! - b[i]!)
      return -s
    }
  }
}

/**
 * Embeds the distinct queries and documents of some pairs once each (in batches), returning a vector per pair
 * side. `dimensions` truncates Matryoshka-style (the embedder is asked for it, and vectors are cut to it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const embedPairs = (
  embedder: Models.TextEmbedder,
  pairs: ReadonlyArray<Pair.QueryDocument>,
  options: { readonly dimensions?: number | undefined; readonly batchSize?: number | undefined } = {}
): Effect.Effect<
  { readonly queries: ReadonlyArray<Float32Array>; readonly documents: ReadonlyArray<Float32Array> },
  Models.ModelError
> =>
  Effect.gen(function* () {
    const batchSize = options.batchSize ?? 256
    const embedAll = (texts: ReadonlyArray<string>, kind: Models.TextKind) =>
      Effect.gen(function* () {
        const unique = [...new Set(texts)]
        const vectors = new Map<string, Float32Array>()
        for (let i = 0; i < unique.length; i += batchSize) {
          const batch = unique.slice(i, i + batchSize)
          const out = yield* embedder.embed(batch, { kind, dimensions: options.dimensions })
          batch.forEach((t, j) => {
            const v = out[j]!
            vectors.set(
              t,
              options.dimensions !== undefined && v.length > options.dimensions ? v.subarray(0, options.dimensions) : v
            )
          })
        }
        return texts.map((t) => vectors.get(t)!)
      })
    const queries = yield* embedAll(
      pairs.map((p) => p.query),
      "query"
    )
    const documents = yield* embedAll(
      pairs.map((p) => p.doc),
      "document"
    )
    return { queries, documents }
  })

/**
 * A pair scorer over an embedder: the similarity (default cosine) of the query's and the document's
 * embeddings, optionally truncated to `dimensions`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEmbedder =
  (
    embedder: Models.TextEmbedder,
    options: { readonly dimensions?: number | undefined; readonly similarity?: Similarity | undefined } = {}
  ): PairScorer =>
  (pairs) =>
    Effect.map(embedPairs(embedder, pairs, options), ({ queries, documents }) =>
      queries.map((q, i) => similarity(options.similarity ?? "cosine", q, documents[i]!))
    )

/**
 * A pair scorer from a plain scoring function.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFunction =
  (score: (query: string, doc: string) => number): PairScorer =>
  (pairs) =>
    Effect.sync(() => pairs.map((p) => score(p.query, p.doc)))

/**
 * The BM25 reference scorer: IDF and average length from the documents of the pairs being scored (the
 * "file's own titles"; each distinct (pair) row counts once), char 1+2-grams, k1 1.2, b 0.75 by default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bm25 =
  (options: Bm25.Bm25Options = {}): PairScorer =>
  (pairs) =>
    Effect.sync(() => {
      const index = Bm25.make(
        pairs.map((p) => p.doc),
        options
      )
      return pairs.map((p) => index.score(p.query, p.doc))
    })

/**
 * The character n-gram cosine reference scorer (default unigrams + bigrams).
 *
 * @since 0.1.0
 * @category constructors
 */
export const charNgram = (grams: CharNgram.Grams = "1-2"): PairScorer => {
  const cosine = CharNgram.cosineWith(grams)
  return (pairs) => Effect.sync(() => pairs.map((p) => cosine(p.query, p.doc)))
}

/**
 * Applies instruction templates to the texts before scoring: a template containing `{text}` is filled, any
 * other template is used as a prefix.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withInstructions = (
  scorer: PairScorer,
  templates: { readonly query?: string | undefined; readonly document?: string | undefined }
): PairScorer => {
  const apply = (template: string | undefined, text: string) =>
    template === undefined ? text : template.includes("{text}") ? template.replaceAll("{text}", text) : template + text
  if (templates.query === undefined && templates.document === undefined) return scorer
  return (pairs) =>
    scorer(pairs.map((p) => ({ query: apply(templates.query, p.query), doc: apply(templates.document, p.doc) })))
}

/**
 * A core `TextEmbedder` over an `effect/ai` `EmbeddingModel` (any provider built with `EmbeddingModel.make`):
 * optional query/document prefixes for asymmetric models, vectors L2-normalized and cut to `dimensions`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const textEmbedderFromEmbeddingModel = (
  model: EmbeddingModel.EmbeddingModel,
  options: {
    readonly id: string
    readonly dimensions: number
    readonly queryPrefix?: string | undefined
    readonly documentPrefix?: string | undefined
  }
): Models.TextEmbedder => ({
  id: options.id,
  dimensions: options.dimensions,
  embed: (texts, { kind, dimensions }) => {
    const prefix = (kind === "query" ? options.queryPrefix : options.documentPrefix) ?? ""
    return model.embedMany(texts.map((t) => prefix + t)).pipe(
      Effect.map((response) =>
        response.embeddings.map((e) => {
          const size = Math.min(dimensions ?? options.dimensions, e.vector.length)
          const v = new Float32Array(size)
          let norm = 0
          for (let i = 0; i < size; i++) {
            v[i] = e.vector[i]!
            norm += v[i]! * v[i]!
          }
          norm = Math.sqrt(norm)
          if (norm > 0) for (let i = 0; i < size; i++) v[i] = v[i]! / norm
          return v
        })
      ),
      Effect.mapError(
        (error) =>
          new Models.ModelError({
            backend: options.id,
            reason: error.isRetryable ? "unavailable" : "invalid-output",
            message: error.message,
            cause: error
          })
      )
    )
  }
})

/**
 * A pair scorer over an `effect/ai` `EmbeddingModel` (see `textEmbedderFromEmbeddingModel`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEmbeddingModel = (
  model: EmbeddingModel.EmbeddingModel,
  options: Parameters<typeof textEmbedderFromEmbeddingModel>[1] & { readonly similarity?: Similarity | undefined }
): PairScorer => fromEmbedder(textEmbedderFromEmbeddingModel(model, options), { similarity: options.similarity })
