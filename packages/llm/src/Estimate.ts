/**
 * A dry run before a large job: from a sample of the requests, extrapolate calls, tokens, cost and wall time at a
 * given throughput — either without sending anything (prompt tokens counted heuristically, completion tokens
 * assumed) or by running the sample for real and scaling its measured usage and latency.
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import type { ChatClientShape, ChatRequest, ChatResponse, LlmError } from "./ChatClient.js"
import * as CostTracker from "./CostTracker.js"
import { approximateTokens } from "./internal/tokens.js"

/**
 * Requests per second, or in-flight requests and the latency of one.
 *
 * @since 0.1.0
 * @category models
 */
export type Throughput =
  | { readonly requestsPerSecond: number }
  | { readonly inFlight: number; readonly latencyMs: number }

/**
 * @since 0.1.0
 * @category models
 */
export interface EstimateOptions {
  readonly totalCalls: number
  readonly model: string
  readonly prices?: CostTracker.PriceTable | undefined
  readonly throughput: Throughput
  /** Completion tokens per choice when no responses are known. Default: the request's `maxTokens`, else 256. */
  readonly completionTokens?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EstimateResult {
  readonly calls: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cost: number
  readonly seconds: number
  readonly perCall: { readonly promptTokens: number; readonly completionTokens: number; readonly cost: number }
  readonly basis: "heuristic" | "measured"
  readonly sampleSize: number
}

const perSecond = (t: Throughput) =>
  "requestsPerSecond" in t ? t.requestsPerSecond : (t.inFlight * 1000) / t.latencyMs

const extrapolate = (
  options: EstimateOptions,
  sampleSize: number,
  promptTotal: number,
  completionTotal: number,
  basis: EstimateResult["basis"]
): EstimateResult => {
  const tracker = CostTracker.make({ prices: options.prices ?? {} })
  const promptPer = sampleSize === 0 ? 0 : promptTotal / sampleSize
  const completionPer = sampleSize === 0 ? 0 : completionTotal / sampleSize
  const costPer = tracker.costOf(options.model, promptPer, completionPer)
  return {
    calls: options.totalCalls,
    promptTokens: Math.round(promptPer * options.totalCalls),
    completionTokens: Math.round(completionPer * options.totalCalls),
    cost: costPer * options.totalCalls,
    seconds: options.totalCalls / perSecond(options.throughput),
    perCall: { promptTokens: promptPer, completionTokens: completionPer, cost: costPer },
    basis,
    sampleSize
  }
}

/**
 * Estimates without sending anything.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSample = (sample: ReadonlyArray<ChatRequest>, options: EstimateOptions): EstimateResult => {
  let prompt = 0
  let completion = 0
  for (const request of sample) {
    const n = Math.max(1, request.n ?? 1)
    prompt += request.messages.reduce((s, m) => s + approximateTokens(m.content), 0) + 4 * request.messages.length
    completion += (options.completionTokens ?? request.maxTokens ?? 256) * n
  }
  return extrapolate(options, sample.length, prompt, completion, "heuristic")
}

/**
 * Runs the sample through `client` and extrapolates its measured usage; when `throughput` is given as in-flight
 * requests, the measured mean latency replaces `latencyMs` if the caller passes `latencyMs: 0`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const measure = (
  client: ChatClientShape,
  sample: ReadonlyArray<ChatRequest>,
  options: EstimateOptions
): Effect.Effect<EstimateResult & { readonly meanLatencyMs: number }, LlmError> =>
  Effect.gen(function* () {
    const timed = yield* Effect.forEach(
      sample,
      (request) =>
        Effect.gen(function* () {
          const start = yield* Clock.currentTimeMillis
          const response: ChatResponse = yield* client.complete(request)
          return { response, ms: (yield* Clock.currentTimeMillis) - start }
        }),
      { concurrency: 8 }
    )
    const prompt = timed.reduce((s, t) => s + t.response.usage.promptTokens, 0)
    const completion = timed.reduce((s, t) => s + t.response.usage.completionTokens, 0)
    const meanLatencyMs = timed.length === 0 ? 0 : timed.reduce((s, t) => s + t.ms, 0) / timed.length
    const throughput =
      "latencyMs" in options.throughput && options.throughput.latencyMs === 0
        ? { inFlight: options.throughput.inFlight, latencyMs: Math.max(1, meanLatencyMs) }
        : options.throughput
    return { ...extrapolate({ ...options, throughput }, sample.length, prompt, completion, "measured"), meanLatencyMs }
  })
