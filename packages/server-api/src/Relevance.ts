/**
 * `POST /v1/relevance`: grade (query, document) pairs with the score model: grade, per-grade probabilities and
 * expected grade. Without a score model only the embedder's cosine `score` is returned.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category schemas
 */
export const RelevanceRequest = Schema.Struct({
  pairs: Schema.Array(Schema.Struct({ query: Schema.String, document: Schema.String })),
  model: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RelevanceRequest = typeof RelevanceRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const RelevanceResult = Schema.Struct({
  index: Schema.Int,
  score: Schema.Number.annotate({
    description: "Expected grade / max grade with a score model, cosine similarity without"
  }),
  grade: Schema.optionalKey(Schema.Int),
  probabilities: Schema.optionalKey(Schema.Array(Schema.Number)),
  expected_grade: Schema.optionalKey(Schema.Number)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const RelevanceResponse = Schema.Struct({
  model: Schema.String,
  scoring: Schema.Literals(["score-model", "cosine"]),
  max_grade: Schema.optionalKey(Schema.Int),
  results: Schema.Array(RelevanceResult)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RelevanceResponse = typeof RelevanceResponse.Type
