/**
 * One error model for every ssra package: each error class carries its own classification — what kind of failure
 * it is, whether another attempt can succeed, and what the user should do next — computed from its own
 * structured fields (its `reason`), the way Effect's `AiError` carries `isRetryable`. Callers read it with
 * `classify`, which never looks at messages or tag strings; a throwable that carries none is `internal`.
 *
 * ```ts
 * import { Failure } from "@ssra/core"
 *
 * const { class: kind, retryable, hint } = Failure.classify(error)
 * if (kind === "backend-unreachable" && retryable) {
 *   // back off and try again later
 * }
 * ```
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"

/**
 * What kind of failure it is, from the point of view of whoever has to act on it:
 *
 * - `usage`: a wrong option, flag or config value (fix the call or the config)
 * - `input`: bad input data (the error names the file, line and field)
 * - `backend-missing`: a backend the work needs is not installed or not configured
 * - `backend-unreachable`: a backend endpoint is down, unreachable or failing
 * - `budget`: a cost cap was reached (finished work is kept)
 * - `io`: the file system failed (disk full, permissions)
 * - `awaiting-training`: the work stopped at a hand-off: a model must be trained and served outside ssra
 * - `internal`: a bug, or a failure nobody classified
 *
 * @since 0.1.0
 * @category models
 */
export type Class =
  | "usage"
  | "input"
  | "backend-missing"
  | "backend-unreachable"
  | "budget"
  | "io"
  | "awaiting-training"
  | "internal"

/**
 * Every `Class`, in the order above.
 *
 * @since 0.1.0
 * @category constants
 */
export const classes: ReadonlyArray<Class> = [
  "usage",
  "input",
  "backend-missing",
  "backend-unreachable",
  "budget",
  "io",
  "awaiting-training",
  "internal"
]

/**
 * The classification of one failure.
 *
 * @since 0.1.0
 * @category models
 */
export interface Classified {
  readonly class: Class
  /** Whether the same call, retried later unchanged, can succeed (a rate limit, a dropped connection). */
  readonly retryable: boolean
  /** A few words naming the failure for a one-line report, e.g. `invalid input` (absent: the message suffices). */
  readonly label?: string | undefined
  /** What to do next, when the error's own message does not already say it. */
  readonly hint?: string | undefined
}

/**
 * The key under which an error carries its classification (a string, so that two copies of this package agree).
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~@ssra/core/Failure" as const

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * An error that classifies itself: its class defines a getter `[Failure.TypeId]` computed from its fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface Classifiable {
  readonly [TypeId]: Classified
}

/**
 * Whether a value carries a classification.
 *
 * @since 0.1.0
 * @category guards
 */
export const isClassifiable = (u: unknown): u is Classifiable =>
  Predicate.hasProperty(u, TypeId) && Predicate.isObject(u[TypeId])

/**
 * A classification; `retryable` defaults to false.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  kind: Class,
  options: {
    readonly retryable?: boolean | undefined
    readonly label?: string | undefined
    readonly hint?: string | undefined
  } = {}
): Classified => ({
  class: kind,
  retryable: options.retryable ?? false,
  ...(options.label !== undefined ? { label: options.label } : {}),
  ...(options.hint !== undefined ? { hint: options.hint } : {})
})

/**
 * The classification of anything thrown or failed with: the error's own, or `internal` (not retryable) for a
 * value that carries none (a bug, a foreign error).
 *
 * @since 0.1.0
 * @category classifying
 */
export const classify = (error: unknown): Classified => (isClassifiable(error) ? error[TypeId] : internal)

/**
 * Whether another attempt can succeed (`classify(error).retryable`).
 *
 * @since 0.1.0
 * @category classifying
 */
export const isRetryable = (error: unknown): boolean => classify(error).retryable

const internal: Classified = make("internal")
