/**
 * The error evaluators, TREC readers and result files fail with: what was wrong, in which file, for which
 * query or document id, and what to do about it.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class EvaluationError extends Schema.TaggedError<EvaluationError>()("EvaluationError", {
  reason: Schema.Literals([
    "unknown-query",
    "duplicate-document",
    "nan-score",
    "empty",
    "grade-out-of-scale",
    "malformed",
    "mismatch",
    "io",
    "model",
    /** An option out of its range (e.g. `resamples: 0`). */
    "invalid-option"
  ]),
  file: Schema.optionalKey(Schema.String),
  line: Schema.optionalKey(Schema.Int),
  id: Schema.optionalKey(Schema.String),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const where = this.file === undefined ? "" : `${this.file}${this.line === undefined ? "" : `:${this.line}`}: `
    const id = this.id === undefined ? "" : `${this.id}: `
    return `${where}${id}${this.detail}${this.hint === undefined ? "" : ` (${this.hint})`}`
  }
  /**
   * `io` is io; `model` (the model or grader being evaluated failed) an unreachable backend, retryable when its
   * cause is; a bad option, or a malformed value that names no file (a flag, a metric name), usage; the rest
   * bad input.
   */
  get [Failure.TypeId](): Failure.Classified {
    switch (this.reason) {
      case "io":
        return Failure.make("io")
      case "model":
        return Failure.make("backend-unreachable", {
          retryable: Failure.isClassifiable(this.cause) && Failure.classify(this.cause).retryable
        })
      case "invalid-option":
        return Failure.make("usage")
      case "malformed":
        return Failure.make(this.file === undefined ? "usage" : "input")
      default:
        return Failure.make("input")
    }
  }
}
