/**
 * Embedding training rows: a query, a positive document, optional hard negatives, the grade of the positive
 * and the loss weight derived from it (the paper's `w(s_i)`).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Grade } from "./Grade.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const TrainingRow = Schema.Struct({
  query: Schema.NonEmptyString,
  positive: Schema.NonEmptyString,
  negatives: Schema.Array(Schema.String),
  grade: Grade,
  weight: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  origin: Schema.Literals(["labeled", "synthetic"]),
  qid: Schema.optionalKey(Schema.String),
  did: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type TrainingRow = typeof TrainingRow.Type

/**
 * How a grade becomes a loss weight.
 * - `raw`: the paper's footnote, `w = s` (grade-0 rows get weight 0 and contribute nothing);
 * - `normalized`: `w = s / max` on the set's scale;
 * - `negatives-kept`: positives weighted `s / max`, grade-0 rows are not positives at all but become explicit
 *   negatives of their query.
 *
 * @since 0.1.0
 * @category models
 */
export type WeightScheme = "raw" | "normalized" | "negatives-kept"

/**
 * @since 0.1.0
 * @category combinators
 */
export const weightOf = (grade: number, scheme: WeightScheme, max: number): number =>
  scheme === "raw" ? grade : grade / max
