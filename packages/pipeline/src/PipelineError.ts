/**
 * The error every pipeline stage fails with: what went wrong, in which stage, and what the user should do next.
 * The `reason` decides the CLI's exit code, so scripts can tell bad input from a missing backend or a full disk.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Literals([
  "input",
  "config",
  "backend-missing",
  "backend-unreachable",
  "budget",
  "io",
  "internal",
  /** The run stopped at a hand-off: a model must be fine-tuned and served outside ssra, then the run reruns. */
  "awaiting-training"
])

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class PipelineError extends Schema.TaggedError<PipelineError>()("PipelineError", {
  reason: Reason,
  detail: Schema.String,
  stage: Schema.optionalKey(Schema.String),
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const where = this.stage !== undefined ? `[${this.stage}] ` : ""
    return `${where}${this.detail}${this.hint !== undefined ? `\n  → ${this.hint}` : ""}`
  }
  /** The class of the `reason` (`config` is usage); the hint is already in the message. */
  get [Failure.TypeId](): Failure.Classified {
    return this.reason === "awaiting-training"
      ? Failure.make("awaiting-training", { label: "hand-off" })
      : Failure.make(this.reason === "config" ? "usage" : this.reason)
  }
}

/**
 * The pipeline reason of a failure class (`usage` is `config`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const reasonOf = (kind: Failure.Class): Reason => (kind === "usage" ? "config" : kind)

/**
 * Shorthand constructor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  reason: Reason,
  detail: string,
  options: { readonly stage?: string; readonly hint?: string } = {}
) =>
  new PipelineError({
    reason,
    detail,
    ...(options.stage !== undefined ? { stage: options.stage } : {}),
    ...(options.hint !== undefined ? { hint: options.hint } : {})
  })
