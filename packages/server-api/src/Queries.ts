/**
 * `POST /v1/queries`: the query model writes `n` queries for a document at a target grade (SSRA's
 * grade-conditioned generation).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category schemas
 */
export const QueriesRequest = Schema.Struct({
  document: Schema.Union([
    Schema.String,
    Schema.Struct({
      id: Schema.optionalKey(Schema.String),
      title: Schema.optionalKey(Schema.String),
      text: Schema.String
    })
  ]),
  target_grade: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })),
  n: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 }))),
  seed: Schema.optionalKey(Schema.Int),
  model: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type QueriesRequest = typeof QueriesRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const QueriesResponse = Schema.Struct({
  model: Schema.String,
  target_grade: Schema.Int,
  queries: Schema.Array(
    Schema.Struct({
      query: Schema.String,
      generator: Schema.Struct({ id: Schema.String, prompt_version: Schema.String })
    })
  )
})

/**
 * @since 0.1.0
 * @category models
 */
export type QueriesResponse = typeof QueriesResponse.Type
