/**
 * Client-side limits for any chat client: a cap on requests in flight, and token buckets for requests per minute
 * and tokens per minute (prompt estimated from its characters plus `maxTokens`, corrected by the reported usage),
 * so a run stays inside a provider's quota instead of collecting 429s.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Semaphore } from "effect"
import type { ChatClientShape, ChatRequest } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"
import { approximateTokens } from "./internal/tokens.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RateLimits {
  readonly maxInFlight?: number | undefined
  readonly requestsPerMinute?: number | undefined
  readonly tokensPerMinute?: number | undefined
  /** Bucket capacity in seconds of rate (burst). Default 10 s. */
  readonly burstSeconds?: number | undefined
  /** Completion tokens assumed when a request sets no `maxTokens`. Default 256. */
  readonly assumedCompletionTokens?: number | undefined
}

/**
 * A token bucket on the `Clock`: `take(n)` waits until `n` units are available.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenBucket {
  readonly take: (amount: number) => Effect.Effect<void>
  /** Returns (positive) or charges (negative) units after the fact. */
  readonly adjust: (amount: number) => void
  readonly available: () => number
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const tokenBucket = (perMinute: number, burstSeconds = 10): TokenBucket => {
  const ratePerMs = perMinute / 60_000
  const capacity = Math.max(1, perMinute * (burstSeconds / 60))
  let level = capacity
  let last = -1
  const refill = (now: number) => {
    if (last < 0) last = now
    level = Math.min(capacity, level + (now - last) * ratePerMs)
    last = now
  }
  const take = (amount: number): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      refill(now)
      const need = Math.min(amount, capacity)
      if (level >= need) {
        level -= need
        return Effect.void
      }
      const waitMs = Math.ceil((need - level) / ratePerMs)
      return Effect.andThen(Effect.sleep(waitMs), take(amount))
    })
  return {
    take,
    adjust: (amount) => {
      level = Math.min(capacity, level + amount)
    },
    available: () => level
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RateLimiter {
  readonly limits: RateLimits
  readonly run: <A, E>(
    request: ChatRequest,
    effect: Effect.Effect<A, E>,
    usedTokens: (a: A) => number
  ) => Effect.Effect<A, E>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (limits: RateLimits): RateLimiter => {
  const semaphore = limits.maxInFlight !== undefined ? Semaphore.makeUnsafe(limits.maxInFlight) : undefined
  const rpm =
    limits.requestsPerMinute !== undefined ? tokenBucket(limits.requestsPerMinute, limits.burstSeconds) : undefined
  const tpm =
    limits.tokensPerMinute !== undefined ? tokenBucket(limits.tokensPerMinute, limits.burstSeconds) : undefined
  const assumed = limits.assumedCompletionTokens ?? 256
  const run = <A, E>(request: ChatRequest, effect: Effect.Effect<A, E>, usedTokens: (a: A) => number) => {
    const estimate =
      request.messages.reduce((s, m) => s + approximateTokens(m.content), 0) +
      (request.maxTokens ?? assumed) * (request.n ?? 1)
    let guarded: Effect.Effect<A, E> = effect
    if (tpm !== undefined) {
      guarded = Effect.andThen(
        tpm.take(estimate),
        Effect.tap(guarded, (a) => Effect.sync(() => tpm.adjust(estimate - usedTokens(a))))
      )
    }
    if (rpm !== undefined) guarded = Effect.andThen(rpm.take(1), guarded)
    if (semaphore !== undefined) guarded = semaphore.withPermits(1)(guarded)
    return guarded
  }
  return { limits, run }
}

/**
 * Wraps a client so each call (each attempt, when inside `Retry.wrap`) passes the limits.
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap = (client: ChatClientShape, limiter: RateLimiter): ChatClientShape => {
  const wrapped = ChatClient.mapComplete(
    client,
    (complete) => (request) =>
      limiter.run(request, complete(request), (r) => r.usage.promptTokens + r.usage.completionTokens)
  )
  // the cap travels with the client, so the stages above it keep as many calls in flight as it allows
  const cap = limiter.limits.maxInFlight
  return cap === undefined ? wrapped : { ...wrapped, maxInFlight: Math.min(cap, client.maxInFlight ?? cap) }
}
