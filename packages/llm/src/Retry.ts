/**
 * Retries for any chat client: jittered exponential backoff on rate limits, server errors, timeouts and
 * connection resets, honouring the server's `Retry-After`; no retry on errors that cannot succeed (bad request,
 * auth, not found, invalid output, budget).
 *
 * @since 0.1.0
 */
import { Effect, Random } from "effect"
import type { ChatClientShape, ChatRequest, ChatResponse, LlmError } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  /** Total attempts including the first. Default 6. */
  readonly maxAttempts?: number | undefined
  /** First backoff. Default 500 ms. */
  readonly baseDelayMs?: number | undefined
  /** Backoff cap. Default 30 s. */
  readonly maxDelayMs?: number | undefined
  /** Longest `Retry-After` honoured; longer hints are capped. Default 120 s. */
  readonly maxRetryAfterMs?: number | undefined
  /** Called before each retry (progress display, metrics). */
  readonly onRetry?:
    | ((event: { readonly attempt: number; readonly delayMs: number; readonly error: LlmError }) => void)
    | undefined
}

/**
 * The delay before retry number `attempt` (1-based): the server's hint when it gave one, otherwise
 * `base·2^(attempt-1)` capped at `maxDelayMs`, scaled by a random factor in [0.5, 1) ("equal jitter").
 *
 * @since 0.1.0
 * @category combinators
 */
export const delayFor = (policy: RetryPolicy, attempt: number, error: LlmError, random01: number): number => {
  const base = policy.baseDelayMs ?? 500
  const cap = policy.maxDelayMs ?? 30_000
  if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, policy.maxRetryAfterMs ?? 120_000)
  const exp = Math.min(cap, base * 2 ** (attempt - 1))
  return exp * (0.5 + 0.5 * random01)
}

/**
 * Retries one effect under the policy.
 *
 * @since 0.1.0
 * @category combinators
 */
export const retrying = <A>(policy: RetryPolicy, effect: Effect.Effect<A, LlmError>): Effect.Effect<A, LlmError> => {
  const maxAttempts = policy.maxAttempts ?? 6
  const loop = (attempt: number): Effect.Effect<A, LlmError> =>
    Effect.catch(effect, (error: LlmError) => {
      if (!error.retryable || attempt >= maxAttempts) return Effect.fail(error)
      return Effect.flatMap(Random.next, (r) => {
        const delayMs = delayFor(policy, attempt, error, r)
        policy.onRetry?.({ attempt, delayMs, error })
        return Effect.logDebug("llm retry").pipe(
          Effect.annotateLogs({
            endpoint: error.endpoint,
            reason: error.reason,
            attempt,
            delayMs: Math.round(delayMs)
          }),
          Effect.andThen(Effect.sleep(delayMs)),
          Effect.andThen(loop(attempt + 1))
        )
      })
    })
  return loop(1)
}

/**
 * Wraps a client so every call retries under the policy.
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap = (client: ChatClientShape, policy: RetryPolicy = {}): ChatClientShape =>
  ChatClient.mapComplete(
    client,
    (complete) =>
      (request: ChatRequest): Effect.Effect<ChatResponse, LlmError> =>
        retrying(policy, complete(request))
  )
