/**
 * A circuit breaker for any chat client: after `failureThreshold` consecutive transient failures (server errors,
 * timeouts, connection resets) the endpoint is left alone for `cooldownMs`; calls fail fast with a retryable
 * `circuit-open` error that tells `Retry` how long to wait; then one probe decides whether it closes again.
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import type { ChatClientShape, LlmError } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. Default 10. */
  readonly failureThreshold?: number | undefined
  /** How long the circuit stays open. Default 10 s. */
  readonly cooldownMs?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type CircuitState = "closed" | "open" | "half-open"

/**
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  readonly state: () => CircuitState
  /** How many times the circuit has opened. */
  readonly openings: () => number
  readonly run: <A>(endpoint: string, effect: Effect.Effect<A, LlmError>) => Effect.Effect<A, LlmError>
}

const trips = (error: LlmError) =>
  error.reason === "server-error" || error.reason === "timeout" || error.reason === "connection"

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: CircuitBreakerOptions = {}): CircuitBreaker => {
  const threshold = options.failureThreshold ?? 10
  const cooldownMs = options.cooldownMs ?? 10_000
  let state: CircuitState = "closed"
  let consecutive = 0
  let openedAt = 0
  let openings = 0
  let probing = false
  const open = (now: number) => {
    state = "open"
    openedAt = now
    openings++
    probing = false
  }
  const run = <A>(endpoint: string, effect: Effect.Effect<A, LlmError>): Effect.Effect<A, LlmError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (state === "open" && now - openedAt >= cooldownMs) state = "half-open"
      const isProbe = state === "half-open" && !probing
      if (state === "open" || (state === "half-open" && !isProbe)) {
        const wait =
          state === "open" ? Math.max(1, cooldownMs - (now - openedAt)) : Math.max(1, Math.ceil(cooldownMs / 10))
        return Effect.fail(
          new ChatClient.LlmError({
            reason: "circuit-open",
            endpoint,
            message: `circuit open after ${threshold} consecutive failures; pausing calls to this endpoint`,
            retryable: true,
            retryAfterMs: wait
          })
        )
      }
      if (isProbe) probing = true
      return effect.pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            consecutive = 0
            if (isProbe) {
              state = "closed"
              probing = false
            }
          })
        ),
        Effect.tapError((error) =>
          Effect.flatMap(Clock.currentTimeMillis, (t) =>
            Effect.sync(() => {
              if (!trips(error)) {
                if (isProbe) probing = false
              } else {
                consecutive++
                if (isProbe || (state === "closed" && consecutive >= threshold)) open(t)
              }
            })
          )
        ),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            if (isProbe) probing = false
          })
        )
      )
    })
  return { state: () => state, openings: () => openings, run }
}

/**
 * Wraps a client so each call passes the breaker.
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap = (client: ChatClientShape, breaker: CircuitBreaker): ChatClientShape =>
  ChatClient.mapComplete(client, (complete) => (request) => breaker.run(client.id, complete(request)))
