/**
 * Concurrency admission: at most `maxConcurrent` requests are processed at once, up to `maxQueue` more wait in
 * FIFO order, and any beyond that are refused at once (the server answers 429 with `Retry-After`). A waiter that
 * is interrupted (client gone, timeout) leaves the queue; a slot is never leaked.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Admission {
  readonly maxConcurrent: number
  readonly maxQueue: number
  /** Requests holding a slot. */
  readonly inFlight: () => number
  /** Requests waiting for a slot. */
  readonly queued: () => number
  /**
   * Runs `effect` in a slot, or returns `onRejected` without running it when the queue is full.
   */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>, onRejected: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Waiter {
  granted: boolean
  readonly grant: () => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly maxConcurrent: number; readonly maxQueue: number }): Admission => {
  let inFlight = 0
  const waiting = new Set<Waiter>()

  const release = (): void => {
    for (const waiter of waiting) {
      waiting.delete(waiter)
      waiter.granted = true
      waiter.grant()
      return
    }
    inFlight--
  }

  // Succeeds with true once a slot is held, false when refused.
  const acquire = Effect.callback<boolean>((resume) => {
    if (inFlight < options.maxConcurrent) {
      inFlight++
      resume(Effect.succeed(true))
      return
    }
    if (waiting.size >= options.maxQueue) {
      resume(Effect.succeed(false))
      return
    }
    const waiter: Waiter = { granted: false, grant: () => resume(Effect.succeed(true)) }
    waiting.add(waiter)
    return Effect.sync(() => {
      // Interrupted: give back a slot handed over but never used, else leave the queue.
      if (waiter.granted) release()
      else waiting.delete(waiter)
    })
  })

  return {
    maxConcurrent: options.maxConcurrent,
    maxQueue: options.maxQueue,
    inFlight: () => inFlight,
    queued: () => waiting.size,
    run: (effect, onRejected) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(acquire), (admitted) =>
          admitted ? Effect.ensuring(restore(effect), Effect.sync(release)) : restore(onRejected)
        )
      )
  }
}
