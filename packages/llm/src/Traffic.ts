/**
 * What the endpoint's misbehaviour cost: every attempt sent, every retry by its cause (429, 5xx, timeout,
 * connection, invalid output), the time spent waiting in back-offs and cool-downs, and the calls set aside
 * (recovered in their second round, or failed for good with their error). A faulty run and a clean run with the
 * same answers differ here, not in their results.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { ChatClientShape, LlmError } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"

/**
 * Why a retry happened.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryCause = "429" | "5xx" | "timeout" | "connection" | "invalid-output" | "other"

/**
 * A call that failed for good after its set-aside round.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly stage: string
  readonly reason: LlmError["reason"]
  readonly message: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrafficReport {
  /** Requests sent (each retry is one more). */
  readonly attempts: number
  readonly retries: number
  readonly retriesByCause: Readonly<Record<RetryCause, number>>
  /** Milliseconds spent waiting before retries and in set-aside cool-downs (summed over concurrent calls). */
  readonly waitMs: number
  /** Calls that exhausted their retries and were set aside for another round after a cool-down. */
  readonly setAside: number
  /** Set-aside calls that succeeded in their second round. */
  readonly recovered: number
  /** Set-aside calls that failed their second round too. */
  readonly failed: number
  /** The first failures for good (at most 20), with their errors. */
  readonly failures: ReadonlyArray<Failure>
  /** Items a stage left out of this run because their calls failed for good (retried on the next run). */
  readonly excludedItems: number
  readonly excluded: ReadonlyArray<{ readonly stage: string; readonly items: number; readonly error: string }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Traffic {
  readonly onAttempt: () => void
  readonly onRetry: (error: LlmError, delayMs: number) => void
  readonly onSetAside: (coolDownMs: number) => void
  readonly onRecovered: () => void
  readonly onFailed: (stage: string, error: LlmError) => void
  readonly onExcluded: (stage: string, items: number, error: string) => void
  readonly report: () => TrafficReport
  /** Counts every request that passes (wrap it below the retries, so each attempt counts). */
  readonly wrap: (client: ChatClientShape) => ChatClientShape
}

/**
 * The cause a retry is booked under: 5xx answers by status, a 200 whose body is no chat completion as invalid
 * output, transport failures by kind.
 *
 * @since 0.1.0
 * @category combinators
 */
export const causeOf = (error: LlmError): RetryCause => {
  switch (error.reason) {
    case "rate-limited":
      return "429"
    case "server-error":
      return error.status !== undefined && error.status >= 500 ? "5xx" : "invalid-output"
    case "invalid-output":
      return "invalid-output"
    case "timeout":
      return "timeout"
    case "connection":
      return "connection"
    default:
      return "other"
  }
}

const noRetries = (): Record<RetryCause, number> => ({
  "429": 0,
  "5xx": 0,
  timeout: 0,
  connection: 0,
  "invalid-output": 0,
  other: 0
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Traffic => {
  let attempts = 0
  let retries = 0
  let waitMs = 0
  let setAside = 0
  let recovered = 0
  let failed = 0
  const byCause = noRetries()
  const failures: Array<Failure> = []
  const excluded: Array<{ stage: string; items: number; error: string }> = []
  return {
    onAttempt: () => void attempts++,
    onRetry: (error, delayMs) => {
      retries++
      byCause[causeOf(error)]++
      waitMs += delayMs
    },
    onSetAside: (coolDownMs) => {
      setAside++
      waitMs += coolDownMs
    },
    onRecovered: () => void recovered++,
    onFailed: (stage, error) => {
      failed++
      if (failures.length < 20) failures.push({ stage, reason: error.reason, message: error.message })
    },
    onExcluded: (stage, items, error) => void excluded.push({ stage, items, error }),
    report: () => ({
      attempts,
      retries,
      retriesByCause: { ...byCause },
      waitMs: Math.round(waitMs),
      setAside,
      recovered,
      failed,
      failures: [...failures],
      excludedItems: excluded.reduce((s, e) => s + e.items, 0),
      excluded: [...excluded]
    }),
    wrap: (client) =>
      ChatClient.mapComplete(
        client,
        (complete) => (request) =>
          Effect.suspend(() => {
            attempts++
            return complete(request)
          })
      )
  }
}
