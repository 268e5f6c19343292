/**
 * `POST /v1/rerank`: the Cohere/Jina rerank request and response (`query`, `documents`, `top_n`,
 * `return_documents`; results with `index` and `relevance_score`), plus SSRA's predicted `grade`, per-grade
 * `probabilities` and `expected_grade` when the server has a score model. Without one, `relevance_score` is the
 * embedder's cosine similarity and the grade fields are omitted.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A document: a plain string, or an object with `text` (Cohere v2 / Jina style).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RerankDocument = Schema.Union([Schema.String, Schema.Struct({ text: Schema.String })])

/**
 * @since 0.1.0
 * @category schemas
 */
export const RerankRequest = Schema.Struct({
  query: Schema.String,
  documents: Schema.Array(RerankDocument),
  top_n: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  return_documents: Schema.optionalKey(Schema.Boolean),
  model: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RerankRequest = typeof RerankRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const RerankResult = Schema.Struct({
  index: Schema.Int,
  relevance_score: Schema.Number.annotate({
    description: "Expected grade / max grade with a score model, cosine similarity without"
  }),
  document: Schema.optionalKey(Schema.Struct({ text: Schema.String })),
  grade: Schema.optionalKey(Schema.Int),
  probabilities: Schema.optionalKey(Schema.Array(Schema.Number)),
  expected_grade: Schema.optionalKey(Schema.Number)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const RerankResponse = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  results: Schema.Array(RerankResult),
  meta: Schema.Struct({
    scoring: Schema.Literals(["score-model", "cosine"]),
    max_grade: Schema.optionalKey(Schema.Int)
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export type RerankResponse = typeof RerankResponse.Type
