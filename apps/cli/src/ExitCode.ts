/**
 * Exit codes of `ssra` and the one-paragraph message printed for each failure, so scripts can tell bad input
 * from a missing backend or a full disk, and people read what to fix. Every package's errors classify
 * themselves (`@ssra/core`'s `Failure`); this module maps each class to its code.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success (also: a shard finished its part; see the printed merge hint) |
 * | 1 | internal error (a bug: please report it with the run directory's manifest.json) |
 * | 2 | usage or config error (unknown flag, invalid config file) |
 * | 3 | invalid input data (file, line and field are named) |
 * | 4 | a configured backend is not installed or not configured (e.g. "needs an LLM backend") |
 * | 5 | a backend endpoint is unreachable or failing |
 * | 6 | the budget cap was reached (finished work is kept; rerun with a higher cap to resume) |
 * | 7 | I/O error (disk full, permissions): finished work is kept, rerun to resume |
 * | 8 | hand-off: a model must be fine-tuned and served outside ssra (see the run manifest's handoffs) |
 * | 130 | interrupted (Ctrl-C, SIGINT): finished work is kept, rerun the same command to resume |
 * | 143 | terminated (SIGTERM): the same as 130 |
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { WorkUnits } from "@ssra/pipeline"
import { Cause, Predicate, Schema } from "effect"
import { HttpServerError } from "effect/http"

/**
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  ok: 0,
  internal: 1,
  usage: 2,
  input: 3,
  backendMissing: 4,
  backendUnreachable: 5,
  budget: 6,
  io: 7,
  /** The run stopped at a hand-off: a model must be fine-tuned and served outside ssra before it can go on. */
  awaitingTraining: 8,
  interrupted: 130,
  /** SIGTERM: the same as an interruption, 128 + 15 by the shell's convention. */
  terminated: 143
} as const

/**
 * The one line printed when a command is interrupted.
 *
 * @since 0.1.0
 * @category constants
 */
export const interruptedMessage = "interrupted — finished work is kept; rerun the same command to resume"

/**
 * A usage or config problem found by the CLI itself.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return this.detail
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("usage", { label: "usage", hint: this.hint })
  }
}

/**
 * Shorthand constructor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (detail: string, hint?: string): UsageError =>
  new UsageError(hint === undefined ? { detail } : { detail, hint })

/**
 * The exit code of each failure class (`Failure.Class`): the table above.
 *
 * @since 0.1.0
 * @category constants
 */
export const codeOf: Readonly<Record<Failure.Class, number>> = {
  usage: codes.usage,
  input: codes.input,
  "backend-missing": codes.backendMissing,
  "backend-unreachable": codes.backendUnreachable,
  budget: codes.budget,
  io: codes.io,
  "awaiting-training": codes.awaitingTraining,
  internal: codes.internal
}

/**
 * The platform's `ServeError` (the server could not listen) carries the listen failure (EADDRINUSE, EACCES, …)
 * in its cause, a Node error with a `code`, not in its message: an I/O failure, with what to do for that code.
 */
const serveFailure = (
  error: HttpServerError.ServeError
): { readonly why: string; readonly classified: Failure.Classified } => {
  const cause = error.cause
  const code = Predicate.hasProperty(cause, "code") ? cause.code : undefined
  const causeMessage = cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)
  const why = [error.message, causeMessage].find((m) => m !== "") ?? "the server could not listen"
  const hint =
    code === "EADDRINUSE"
      ? "another process listens on that port: stop it, pick another --port, or --port 0 for any free port"
      : code === "EACCES"
        ? "ports below 1024 need privileges: pick --port 8080 or above"
        : "check --host and --port (--port 0 picks any free port)"
  return { why, classified: Failure.make("io", { label: "cannot serve", hint }) }
}

/**
 * The exit code and message for a failure: the code of its class (`Failure.classify`), the message its label,
 * its own message and the classification's hint. A shard that finished its part (`WorkUnits.ShardPending`) is
 * no failure (0); a throwable that carries no classification is an internal error, printed with its stack.
 *
 * @since 0.1.0
 * @category constructors
 */
export const classify = (error: unknown): { readonly code: number; readonly message: string } => {
  if (error instanceof WorkUnits.ShardPending) return { code: codes.ok, message: error.message }
  const message = error instanceof Error ? error.message : String(error)
  const { why, classified } =
    error instanceof HttpServerError.ServeError
      ? serveFailure(error)
      : Failure.isClassifiable(error)
        ? { why: message, classified: Failure.classify(error) }
        : {
            why: error instanceof Error ? (error.stack ?? message) : message,
            classified: Failure.make("internal", { label: "internal error" })
          }
  const label = classified.label ?? (classified.class === "internal" ? "internal error" : undefined)
  return {
    code: codeOf[classified.class],
    message: `${label !== undefined ? `${label}: ` : ""}${why}${classified.hint !== undefined ? `\n  → ${classified.hint}` : ""}`
  }
}

/**
 * The exit code and message for a failed Cause (interruption → 130).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCause = (cause: Cause.Cause<unknown>): { readonly code: number; readonly message: string } => {
  if (Cause.hasInterruptsOnly(cause)) return { code: codes.interrupted, message: interruptedMessage }
  return classify(Cause.squash(cause))
}
