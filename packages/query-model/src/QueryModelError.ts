/**
 * The errors of query-model training and checkpoints: what was wrong with the input or the files, and what to do
 * next. Generation itself fails with core's `Models.ModelError`, as every `QueryWriter` does.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Training could not start or finish: no D2Q groups, an empty query pool, a grade off the scale, a bad option.
 *
 * @since 0.1.0
 * @category errors
 */
export class TrainingError extends Schema.TaggedError<TrainingError>()("QueryTrainingError", {
  reason: Schema.Literals(["no-groups", "empty-pool", "grade-off-scale", "invalid-option", "no-candidates"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
}

/**
 * A query-model checkpoint could not be written or read.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("QueryCheckpointError", {
  dir: Schema.String,
  file: Schema.String,
  reason: Schema.Literals(["not-found", "malformed", "incompatible", "io"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.dir}/${this.file}: ${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
}
