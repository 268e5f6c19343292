/**
 * The error checkpoint reads and writes fail with: which path, what is wrong, and what to do next.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  path: Schema.String,
  reason: Schema.Literals(["not-found", "io", "corrupt", "invalid", "version", "non-finite", "mismatch"]),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}${this.hint !== undefined ? ` (${this.hint})` : ""}`
  }
  /** A failed read or write is io; a missing, corrupt, foreign or mismatched checkpoint bad input. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(this.reason === "io" ? "io" : "input")
  }
}
