// Cheap timeouts for the per-request hot path. `Effect.timeoutOrElse` races the effect against a sleep (two forked
// fibers and a scheduled sleep per request); these fork one fiber and arm one Node timer.

import { Effect, Fiber } from "effect"

/**
 * Runs `self` in a child fiber; if it has not finished after `ms`, interrupts it and continues with `orElse()`.
 * Interrupting the caller interrupts the child.
 */
export const timeoutOrElse = <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  ms: number,
  orElse: () => Effect.Effect<A2, E2, R2>
): Effect.Effect<A | A2, E | E2, R | R2> =>
  Effect.flatMap(Effect.forkChild(self, { startImmediately: true }), (fiber) => {
    const done = fiber.pollUnsafe()
    if (done !== undefined) return done
    return Effect.callback<A | A2, E | E2, R2>((resume) => {
      const timer = setTimeout(() => {
        remove()
        resume(Effect.flatMap(Fiber.interrupt(fiber), orElse))
      }, ms)
      const remove = fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.suspend(() => {
        clearTimeout(timer)
        remove()
        return Fiber.interrupt(fiber)
      })
    })
  })

/**
 * Runs `self` detached (interrupting it is never attempted: for reads whose interruption would destroy the
 * socket); if it has not finished after `ms`, continues with `orElse()` and leaves it running.
 */
export const detachedOrElse = <A, E, A2, E2, R2>(
  self: Effect.Effect<A, E>,
  ms: number,
  orElse: () => Effect.Effect<A2, E2, R2>
): Effect.Effect<A | A2, E | E2, R2> =>
  Effect.flatMap(Effect.forkDetach(self, { startImmediately: true }), (fiber) => {
    const done = fiber.pollUnsafe()
    if (done !== undefined) return done
    return Effect.callback<A | A2, E | E2, R2>((resume) => {
      const timer = setTimeout(() => {
        remove()
        resume(orElse())
      }, ms)
      const remove = fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        remove()
      })
    })
  })
