/**
 * Retries for any chat client: jittered exponential backoff on rate limits, server errors, timeouts and
 * connection resets, honouring the server's `Retry-After`; no retry on errors that cannot succeed (bad request,
 * auth, not found, invalid output, budget). With `setAside`, a call that exhausts its attempts on such transient
 * trouble is set aside: it waits out a cool-down while the other calls go on, then gets a second round of
 * attempts; only a second failure is final.
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
  /** Set a call that exhausted its attempts aside for a cool-down, then give it a second round. Default: off. */
  readonly setAside?:
    | {
        readonly coolDownMs: number
        readonly onSetAside?: ((coolDownMs: number) => void) | undefined
        readonly onRecovered?: (() => void) | undefined
        readonly onFailed?: ((error: LlmError, stage: string) => void) | undefined
      }
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
export const retrying = <A>(
  policy: RetryPolicy,
  effect: Effect.Effect<A, LlmError>,
  stage = "default"
): Effect.Effect<A, LlmError> => {
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
  const aside = policy.setAside
  if (aside === undefined) return loop(1)
  return Effect.catch(loop(1), (error: LlmError) => {
    if (!error.retryable) return Effect.fail(error)
    aside.onSetAside?.(aside.coolDownMs)
    return Effect.logDebug("llm call set aside").pipe(
      Effect.annotateLogs({ endpoint: error.endpoint, reason: error.reason, coolDownMs: aside.coolDownMs }),
      Effect.andThen(Effect.sleep(aside.coolDownMs)),
      Effect.andThen(loop(1)),
      Effect.tap(() => Effect.sync(() => aside.onRecovered?.())),
      Effect.mapError(
        (again) =>
          new ChatClient.LlmError({
            ...again,
            message: `${again.message} (set aside after ${maxAttempts} attempts; ${maxAttempts} more after a ${aside.coolDownMs} ms cool-down failed too)`
          })
      ),
      Effect.tapError((again) => Effect.sync(() => aside.onFailed?.(again, stage)))
    )
  })
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
        retrying(policy, complete(request), request.stage)
  )
