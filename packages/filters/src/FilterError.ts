/**
 * The error a filter's constructor throws for options out of range, and `Filter.collect` for decisions that do
 * not line up with the candidates: which filter, what was wrong.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * `invalid-option`: an option out of its range (a usage error: fix the config or the call); `decisions`: a
 * filter returned a different number of decisions than it got candidates (a bug in that filter).
 *
 * @since 0.1.0
 * @category errors
 */
export class FilterError extends Schema.TaggedError<FilterError>()("FilterError", {
  filter: Schema.String,
  reason: Schema.Literals(["invalid-option", "decisions"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `filter ${this.filter}: ${this.detail}`
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(this.reason === "invalid-option" ? "usage" : "internal")
  }
}

/**
 * Shorthand for an `invalid-option` error of the named filter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalidOption = (filter: string, detail: string): FilterError =>
  new FilterError({ filter, reason: "invalid-option", detail })
