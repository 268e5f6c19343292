/**
 * The error every dataset reader and writer fails with: which file, which line, which field, what was expected
 * and what to do next.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Failure from "./Failure.js"

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
  /**
   * `io` is an I/O failure (disk full, permissions), every other reason bad input; the generic next step only
   * when the error carries no hint of its own.
   */
  get [Failure.TypeId](): Failure.Classified {
    if (this.reason === "io")
      return Failure.make("io", {
        label: "I/O error",
        hint: this.hint === undefined ? "check the path is accessible and the disk has space" : undefined
      })
    const rowProblem = this.reason === "invalid" || this.reason === "malformed" || this.reason === "encoding"
    return Failure.make("input", {
      label: "invalid input",
      hint:
        this.hint === undefined && rowProblem
          ? 'fix that row, or pass --skip-invalid to skip bad rows (in code: onInvalid: "skip"); each is written with its reason to a .rejects.jsonl file'
          : undefined
    })
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
