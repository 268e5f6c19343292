/**
 * A generated query with its full provenance: which stage and generator wrote it, for which target grade,
 * what the score model judged, each filter's verdict, under which seed and in which run.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Grade } from "./Grade.js"

/**
 * One filter's decision about one synthetic query.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FilterVerdict = Schema.Struct({
  filter: Schema.String,
  keep: Schema.Boolean,
  reason: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type FilterVerdict = typeof FilterVerdict.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const SyntheticQuery = Schema.Struct({
  id: Schema.NonEmptyString,
  did: Schema.NonEmptyString,
  doc: Schema.String,
  query: Schema.String,
  stage: Schema.Literals(["stage1", "stage2", "synthesis", "prompt-only", "vanilla-sft"]),
  targetGrade: Grade,
  generator: Schema.Struct({ id: Schema.String, promptVersion: Schema.String }),
  judged: Schema.optionalKey(
    Schema.Struct({
      grade: Grade,
      probabilities: Schema.Array(Schema.Number),
      expected: Schema.Number,
      scorer: Schema.String
    })
  ),
  verdicts: Schema.Array(FilterVerdict),
  seed: Schema.Int,
  parentRun: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type SyntheticQuery = typeof SyntheticQuery.Type
