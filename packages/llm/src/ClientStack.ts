/**
 * Composes the behaviour-at-scale wrappers around any chat client in the order that makes each one right:
 * progress → cost/budget → cache → retry → circuit breaker → rate limits → backend. Cache hits skip everything
 * below the cache and cost nothing; each retry attempt passes the breaker and the limits.
 *
 * @since 0.1.0
 */
import type { ChatClientShape } from "./ChatClient.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import type * as CostTracker from "./CostTracker.js"
import type * as Progress from "./Progress.js"
import * as RateLimiter from "./RateLimiter.js"
import type * as ResponseCache from "./ResponseCache.js"
import * as Retry from "./Retry.js"
import type * as Traffic from "./Traffic.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientStackOptions {
  readonly limits?: RateLimiter.RateLimits | RateLimiter.RateLimiter | undefined
  readonly breaker?: CircuitBreaker.CircuitBreakerOptions | CircuitBreaker.CircuitBreaker | undefined
  readonly retry?: Retry.RetryPolicy | false | undefined
  readonly cache?: ResponseCache.ResponseCache | undefined
  readonly cost?: CostTracker.CostTracker | undefined
  readonly progress?: Progress.ProgressTracker | undefined
  /** Counts attempts, retries by cause, waits and set-aside calls. */
  readonly traffic?: Traffic.Traffic | undefined
  /** Cool-down before a set-aside call's second round (needs retries on); without it nothing is set aside. */
  readonly coolDownMs?: number | undefined
}

/**
 * Wraps `client` with the given pieces (retry on by default; the rest only when given).
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap = (client: ChatClientShape, options: ClientStackOptions = {}): ChatClientShape => {
  let c = options.traffic !== undefined ? options.traffic.wrap(client) : client
  if (options.limits !== undefined) {
    const limiter = "run" in options.limits ? options.limits : RateLimiter.make(options.limits)
    c = RateLimiter.wrap(c, limiter)
  }
  if (options.breaker !== undefined) {
    const breaker = "run" in options.breaker ? options.breaker : CircuitBreaker.make(options.breaker)
    c = CircuitBreaker.wrap(c, breaker)
  }
  if (options.retry !== false) c = Retry.wrap(c, retryPolicy(options.retry ?? {}, options))
  if (options.cache !== undefined) c = options.cache.wrap(c)
  if (options.cost !== undefined) c = options.cost.wrap(c)
  if (options.progress !== undefined) c = options.progress.wrap(c)
  return c
}

/** The retry policy with the traffic hooks and the set-aside round added. */
const retryPolicy = (policy: Retry.RetryPolicy, options: ClientStackOptions): Retry.RetryPolicy => {
  const traffic = options.traffic
  return {
    ...policy,
    onRetry: (event) => {
      traffic?.onRetry(event.error, event.delayMs)
      policy.onRetry?.(event)
    },
    ...(options.coolDownMs !== undefined
      ? {
          setAside: {
            coolDownMs: options.coolDownMs,
            onSetAside: (ms: number) => traffic?.onSetAside(ms),
            onRecovered: () => traffic?.onRecovered(),
            onFailed: (error, stage) => traffic?.onFailed(stage, error)
          } satisfies Retry.RetryPolicy["setAside"]
        }
      : {})
  }
}
