/**
 * The errors of score-model training and checkpoints: what was wrong with the input or the files, and what to
 * do next. Model calls themselves fail with core's `Models.ModelError`, as every `Grader` does.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Training could not start: no pairs, a pair without text, a label off the scale, a bad option — or it diverged.
 *
 * @since 0.1.0
 * @category errors
 */
export class TrainingError extends Schema.TaggedError<TrainingError>()("ScoreTrainingError", {
  reason: Schema.Literals(["no-pairs", "empty-text", "label-off-scale", "invalid-option", "diverged"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
}

/**
 * A score-model checkpoint could not be written or read: the directory and file, what was wrong, what to do.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("ScoreCheckpointError", {
  dir: Schema.String,
  file: Schema.String,
  reason: Schema.Literals([
    "not-found",
    "malformed",
    "incompatible",
    "corrupt",
    "embedder-missing",
    "embedder-mismatch",
    "io"
  ]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.dir}/${this.file}: ${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
}
