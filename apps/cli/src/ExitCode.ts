/**
 * Exit codes of `ssra` and the one-paragraph message printed for each failure, so scripts can tell bad input
 * from a missing backend or a full disk, and people read what to fix.
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
 * | 130 | interrupted (Ctrl-C, SIGINT): finished work is kept, rerun the same command to resume |
 * | 143 | terminated (SIGTERM): the same as 130 |
 *
 * @since 0.1.0
 */
import { Cause, Schema } from "effect"

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
}

/**
 * Shorthand constructor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (detail: string, hint?: string): UsageError =>
  new UsageError(hint === undefined ? { detail } : { detail, hint })

const tagOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "_tag" in e ? String((e as { _tag: unknown })._tag) : undefined

/**
 * The exit code and message for a failure.
 *
 * @since 0.1.0
 * @category constructors
 */
export const classify = (error: unknown): { readonly code: number; readonly message: string } => {
  const tag = tagOf(error)
  const message = error instanceof Error ? error.message : String(error)
  switch (tag) {
    case "UsageError": {
      const hint = (error as UsageError).hint
      return { code: codes.usage, message: `usage: ${message}${hint ? `\n  → ${hint}` : ""}` }
    }
    case "DatasetError": {
      const e = error as { reason: string; hint?: string }
      // a failed read or write (disk full, permissions) is not bad input: say so, and what to check
      if (e.reason === "io")
        return {
          code: codes.io,
          message: `I/O error: ${message}${e.hint === undefined ? "\n  → check the path is accessible and the disk has space" : ""}`
        }
      // the error's own hint (in its message) wins over the generic one
      const hint =
        e.hint === undefined && (e.reason === "invalid" || e.reason === "malformed" || e.reason === "encoding")
          ? "\n  → fix that row, or pass --skip-invalid to skip bad rows (each is written with its reason to a .rejects.jsonl file)"
          : ""
      return { code: codes.input, message: `invalid input: ${message}${hint}` }
    }
    case "PipelineError": {
      const reason = (error as { reason: string }).reason
      const code =
        reason === "input"
          ? codes.input
          : reason === "config"
            ? codes.usage
            : reason === "backend-missing"
              ? codes.backendMissing
              : reason === "backend-unreachable"
                ? codes.backendUnreachable
                : reason === "budget"
                  ? codes.budget
                  : reason === "io"
                    ? codes.io
                    : reason === "awaiting-training"
                      ? codes.awaitingTraining
                      : codes.internal
      return { code, message: reason === "awaiting-training" ? `hand-off: ${message}` : message }
    }
    case "ModelError": {
      const e = error as { backend: string; reason: string; message: string }
      const code =
        e.reason === "unavailable"
          ? codes.backendUnreachable
          : e.reason === "budget-exceeded"
            ? codes.budget
            : codes.internal
      const hint =
        e.reason === "unavailable"
          ? "\n  → check the endpoint is running and reachable (base URL, port, API key), then rerun the same command: finished work is kept"
          : ""
      return { code, message: `model backend ${e.backend} failed (${e.reason}): ${e.message}${hint}` }
    }
    case "LlmError": {
      const e = error as { reason?: string; message: string }
      const unreachable =
        e.reason === undefined || /unavailable|connect|timeout|network|refused/i.test(`${e.reason} ${e.message}`)
      return {
        code: /budget/i.test(String(e.reason)) ? codes.budget : unreachable ? codes.backendUnreachable : codes.internal,
        message: `LLM endpoint error: ${message}\n  → check the endpoint's base URL and API key; finished work is kept, rerun to resume`
      }
    }
    case "ServerConfigError":
      return { code: codes.usage, message: `server config: ${message}` }
    case "ModelLoadError":
      return {
        code: codes.input,
        message: `cannot load models: ${message}\n  → pass a finished run directory (--run) or checkpoint directories`
      }
    case "ServeError": {
      // the platform's ServeError carries the listen failure (EADDRINUSE, EACCES, …) in its cause, not its message
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      const why = [message, cause?.message ?? (cause === undefined ? "" : String(cause))].find((m) => m !== "")
      const hint =
        cause?.code === "EADDRINUSE"
          ? "another process listens on that port: stop it, pick another --port, or --port 0 for any free port"
          : cause?.code === "EACCES"
            ? "ports below 1024 need privileges: pick --port 8080 or above"
            : "check --host and --port (--port 0 picks any free port)"
      return { code: codes.io, message: `cannot serve: ${why ?? "the server could not listen"}\n  → ${hint}` }
    }
    case "ShardPending":
      return { code: codes.ok, message }
    default:
      return {
        code: codes.internal,
        message: `internal error: ${error instanceof Error ? (error.stack ?? message) : message}`
      }
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
