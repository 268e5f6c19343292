/**
 * Progress events the stages emit (stage start/end, items done out of a total, notes), so a front end can draw
 * bars with rates and ETA on a terminal or write JSON lines for a log collector. The default sink drops them.
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type ProgressEvent =
  | { readonly type: "stage-start"; readonly stage: string; readonly key?: string | undefined }
  | {
      readonly type: "stage-end"
      readonly stage: string
      readonly skipped: boolean
      readonly durationMs: number
      readonly counts?: Readonly<Record<string, number>> | undefined
    }
  | {
      readonly type: "progress"
      readonly stage: string
      readonly task: string
      readonly done: number
      readonly total: number
      readonly unit: string
    }
  | { readonly type: "note"; readonly stage: string; readonly message: string }
  /** The run ended (any way, an interruption included): a front end closes what it draws. */
  | {
      readonly type: "run-end"
      readonly outcome: "complete" | "failed" | "interrupted" | "shard-done" | "awaiting-training"
    }

/**
 * Where progress events go.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProgressSink {
  readonly emit: (event: ProgressEvent) => void
}

/**
 * The progress sink in scope (default: drop everything).
 *
 * @since 0.1.0
 * @category services
 */
export const Progress = Context.Reference<ProgressSink>("@ssra/pipeline/Progress", {
  defaultValue: () => ({ emit: () => {} })
})

/**
 * Emits one event to the sink in scope.
 *
 * @since 0.1.0
 * @category combinators
 */
export const emit = (event: ProgressEvent): Effect.Effect<void> => Effect.map(Progress, (sink) => sink.emit(event))

/**
 * A note for the log (what was skipped, what was reused, what needs attention).
 *
 * @since 0.1.0
 * @category combinators
 */
export const note = (stage: string, message: string): Effect.Effect<void> => emit({ type: "note", stage, message })

/**
 * Runs `self` with `sink` receiving the progress events.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withSink =
  (sink: ProgressSink) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, Progress, sink)
