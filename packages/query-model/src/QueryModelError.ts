/**
 * The errors of query-model training and checkpoints: what was wrong with the input or the files, and what to do
 * next. Generation itself fails with core's `Models.ModelError`, as every `QueryWriter` does.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * Training could not start or finish: no D2Q groups, an empty query pool, a grade off the scale, a bad option.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryTrainingError extends Schema.TaggedError<QueryTrainingError>()("QueryTrainingError", {
  reason: Schema.Literals(["no-groups", "empty-pool", "grade-off-scale", "invalid-option", "no-candidates"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
  /** A bad option is usage, everything else (no groups, an empty pool, a grade off the scale) bad input. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(this.reason === "invalid-option" ? "usage" : "input")
  }
}

/**
 * A query-model checkpoint could not be written or read.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryCheckpointError extends Schema.TaggedError<QueryCheckpointError>()("QueryCheckpointError", {
  dir: Schema.String,
  file: Schema.String,
  reason: Schema.Literals(["not-found", "malformed", "incompatible", "io"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.dir}/${this.file}: ${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
  /** A failed read or write is io, a missing or bad checkpoint input. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(this.reason === "io" ? "io" : "input")
  }
}

/**
 * An option out of its range given to a query-model constructor or helper (e.g. `maxRounds: 0`).
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryOptionError extends Schema.TaggedError<QueryOptionError>()("QueryOptionError", {
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
