/**
 * The errors of score-model training and checkpoints: what was wrong with the input or the files, and what to
 * do next. Model calls themselves fail with core's `Models.ModelError`, as every `Grader` does.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * Training could not start: no pairs, a pair without text, a label off the scale, a bad option — or it diverged.
 *
 * @since 0.1.0
 * @category errors
 */
export class ScoreTrainingError extends Schema.TaggedError<ScoreTrainingError>()("ScoreTrainingError", {
  reason: Schema.Literals(["no-pairs", "empty-text", "label-off-scale", "invalid-option", "diverged"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
  /** Bad training pairs are input, a bad option usage, a diverged run internal. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(this.reason === "invalid-option" ? "usage" : this.reason === "diverged" ? "internal" : "input")
  }
}

/**
 * A score-model checkpoint could not be written or read: the directory and file, what was wrong, what to do.
 *
 * @since 0.1.0
 * @category errors
 */
export class ScoreCheckpointError extends Schema.TaggedError<ScoreCheckpointError>()("ScoreCheckpointError", {
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
  /** A failed read or write is io, a missing or other embedder than the checkpoint's usage, a bad checkpoint input. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(
      this.reason === "io"
        ? "io"
        : this.reason === "embedder-missing" || this.reason === "embedder-mismatch"
          ? "usage"
          : "input"
    )
  }
}

/**
 * An option out of its range given to a score-model constructor (e.g. `LlmJudge.make({ samples: 1 })`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ScoreOptionError extends Schema.TaggedError<ScoreOptionError>()("ScoreOptionError", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("usage")
  }
}
