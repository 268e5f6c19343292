/**
 * The error every dataset reader and writer fails with: which file, which line, which field, what was expected
 * and what to do next.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class DatasetError extends Schema.TaggedError<DatasetError>()("DatasetError", {
  file: Schema.String,
  line: Schema.optionalKey(Schema.Int),
  field: Schema.optionalKey(Schema.String),
  reason: Schema.Literals(["not-found", "empty", "malformed", "invalid", "encoding", "too-large", "io"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const where = `${this.file}${this.line !== undefined ? `:${this.line}` : ""}`
    const named = this.field !== undefined && this.field !== "" && !this.detail.startsWith(`${this.field}:`)
    const field = named ? ` field ${this.field}:` : ""
    return `${where}:${field} ${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
}

/**
 * A rejected row kept in a side file when invalid rows are skipped rather than fatal.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejection {
  readonly line: number
  readonly reason: string
  readonly field?: string
  readonly raw: string
}
