/**
 * The error the trainer and the hard-negative miner fail with: what was wrong with the input or the run, where
 * (row, step), and what to do next.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class TrainingError extends Schema.TaggedError<TrainingError>()("TrainingError", {
  reason: Schema.Literals([
    "empty",
    "batch-size",
    "grade",
    "weight",
    "featurize",
    "invalid-args",
    "non-finite",
    "resume",
    "model"
  ]),
  detail: Schema.String,
  row: Schema.optionalKey(Schema.Int),
  step: Schema.optionalKey(Schema.Int),
  hint: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const where = this.row !== undefined ? ` (row ${this.row})` : this.step !== undefined ? ` (step ${this.step})` : ""
    return `${this.reason}${where}: ${this.detail}${this.hint !== undefined ? ` — ${this.hint}` : ""}`
  }
  /**
   * Bad arguments are usage, bad rows or an incompatible resume input, a diverged run internal; `model` (the
   * grader guarding mined negatives failed) takes its cause's classification.
   */
  get [Failure.TypeId](): Failure.Classified {
    switch (this.reason) {
      case "invalid-args":
      case "batch-size":
        return Failure.make("usage")
      case "empty":
      case "grade":
      case "weight":
      case "featurize":
      case "resume":
        return Failure.make("input")
      case "model":
        return Failure.classify(this.cause)
      default: // non-finite: the run diverged
        return Failure.make("internal")
    }
  }
}
