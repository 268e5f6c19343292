/**
 * The error evaluators, TREC readers and result files fail with: what was wrong, in which file, for which
 * query or document id, and what to do about it.
 *
 * @since 0.1.0
 */
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
    "model"
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
}
