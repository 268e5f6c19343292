/**
 * `POST /v1/filter`: the deployment use. Given a query and candidate documents (in the caller's ranking order),
 * keep those whose predicted grade reaches `min_grade` (needs a score model) or whose score reaches `min_score`;
 * `kept` preserves the input order, and `decisions` explains every candidate.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category schemas
 */
export const FilterRequest = Schema.Struct({
  query: Schema.String,
  candidates: Schema.Array(Schema.Struct({ id: Schema.String, text: Schema.String })),
  min_grade: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 }))),
  min_score: Schema.optionalKey(Schema.Number),
  model: Schema.optionalKey(Schema.String)
}).annotate({ description: "Exactly one of min_grade or min_score" })

/**
 * @since 0.1.0
 * @category models
 */
export type FilterRequest = typeof FilterRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const FilterDecision = Schema.Struct({
  id: Schema.String,
  kept: Schema.Boolean,
  score: Schema.Number,
  grade: Schema.optionalKey(Schema.Int),
  probabilities: Schema.optionalKey(Schema.Array(Schema.Number)),
  expected_grade: Schema.optionalKey(Schema.Number)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const FilterResponse = Schema.Struct({
  model: Schema.String,
  scoring: Schema.Literals(["score-model", "cosine"]),
  criterion: Schema.Union([Schema.Struct({ min_grade: Schema.Int }), Schema.Struct({ min_score: Schema.Number })]),
  kept: Schema.Array(Schema.String),
  decisions: Schema.Array(FilterDecision)
})

/**
 * @since 0.1.0
 * @category models
 */
export type FilterResponse = typeof FilterResponse.Type
