/**
 * Usage and cost accounting for any chat client, per call and per pipeline stage (`ChatRequest.stage`), from a
 * price table; plus a budget cap that refuses new calls cleanly (`budget-exceeded`, not retryable) once the money
 * spent plus the estimated cost of calls in flight would pass it. Cached answers count as calls that cost nothing.
 *
 * @since 0.1.0
 */
import { AtomicFile } from "@ssra/core"
import { Effect, Schema } from "effect"
import type { ChatClientShape, ChatRequest, ChatResponse } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"
import { approximateTokens } from "./internal/tokens.js"
import type * as Traffic from "./Traffic.js"

/**
 * Price per million tokens.
 *
 * @since 0.1.0
 * @category models
 */
export const Price = Schema.Struct({
  inputPer1M: Schema.Number,
  outputPer1M: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type Price = typeof Price.Type

/**
 * Prices by model name; `"*"` applies to models not listed (else they cost 0).
 *
 * @since 0.1.0
 * @category models
 */
export const PriceTable = Schema.Record(Schema.String, Price)

/**
 * @since 0.1.0
 * @category models
 */
export type PriceTable = typeof PriceTable.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface StageUsage {
  readonly calls: number
  readonly cachedCalls: number
  readonly failedCalls: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cost: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CostReport {
  readonly currency: string
  readonly budget: number | null
  readonly total: StageUsage
  readonly stages: Readonly<Record<string, StageUsage>>
  readonly refusedCalls: number
  /** Attempts, retries by cause, waits and set-aside calls, when the tracker was given a `Traffic`. */
  readonly traffic?: Traffic.TrafficReport | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CostTrackerOptions {
  readonly prices: PriceTable
  /** Stop new calls once this much would be spent (including `spentBefore`). */
  readonly budget?: number | undefined
  /** What earlier invocations already spent against `budget` (a resumed run); default 0. */
  readonly spentBefore?: number | undefined
  readonly currency?: string | undefined
  /** Completion tokens assumed for the budget estimate when a request sets no `maxTokens`. Default 256. */
  readonly assumedCompletionTokens?: number | undefined
  /** The traffic counters reported beside the usage. */
  readonly traffic?: Traffic.Traffic | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CostTracker {
  readonly costOf: (model: string, promptTokens: number, completionTokens: number) => number
  readonly spent: () => number
  readonly report: () => CostReport
  readonly writeReport: (file: string) => Effect.Effect<void, unknown>
  readonly wrap: (client: ChatClientShape) => ChatClientShape
}

const empty = (): { -readonly [K in keyof StageUsage]: StageUsage[K] } => ({
  calls: 0,
  cachedCalls: 0,
  failedCalls: 0,
  promptTokens: 0,
  completionTokens: 0,
  cost: 0
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: CostTrackerOptions): CostTracker => {
  const stages = new Map<string, ReturnType<typeof empty>>()
  const total = empty()
  let reserved = 0
  let refused = 0
  const priceOf = (model: string): Price | undefined => options.prices[model] ?? options.prices["*"]
  const costOf = (model: string, promptTokens: number, completionTokens: number) => {
    const price = priceOf(model)
    if (price === undefined) return 0
    return (promptTokens * price.inputPer1M + completionTokens * price.outputPer1M) / 1_000_000
  }
  const stageOf = (name: string) => {
    let s = stages.get(name)
    if (s === undefined) {
      s = empty()
      stages.set(name, s)
    }
    return s
  }
  const estimate = (model: string, request: ChatRequest) =>
    costOf(
      model,
      request.messages.reduce((s, m) => s + approximateTokens(m.content), 0) * Math.max(1, request.n ?? 1),
      (request.maxTokens ?? options.assumedCompletionTokens ?? 256) * Math.max(1, request.n ?? 1)
    )
  const record = (stage: string, model: string, response: ChatResponse) => {
    const cost = response.cached ? 0 : costOf(model, response.usage.promptTokens, response.usage.completionTokens)
    for (const s of [total, stageOf(stage)]) {
      s.calls++
      if (response.cached) s.cachedCalls++
      else {
        s.promptTokens += response.usage.promptTokens
        s.completionTokens += response.usage.completionTokens
      }
      s.cost += cost
    }
  }
  const report = (): CostReport => ({
    currency: options.currency ?? "USD",
    budget: options.budget ?? null,
    total: { ...total },
    stages: Object.fromEntries([...stages].map(([k, v]) => [k, { ...v }])),
    refusedCalls: refused,
    ...(options.traffic !== undefined ? { traffic: options.traffic.report() } : {})
  })
  const wrap = (client: ChatClientShape): ChatClientShape =>
    ChatClient.mapComplete(
      client,
      (complete) => (request) =>
        Effect.suspend(() => {
          const model = request.model ?? client.model
          const stage = request.stage ?? "default"
          const expected = options.budget === undefined ? 0 : estimate(model, request)
          const before = options.spentBefore ?? 0
          if (options.budget !== undefined && before + total.cost + reserved + expected > options.budget) {
            refused++
            return Effect.fail(
              new ChatClient.LlmError({
                reason: "budget-exceeded",
                endpoint: client.id,
                message: `budget of ${options.budget} ${options.currency ?? "USD"} reached (spent ${total.cost.toFixed(4)}${before > 0 ? ` now and ${before.toFixed(4)} before` : ""}, in flight ≈ ${reserved.toFixed(4)}); raise the budget to continue — cached answers are kept`,
                retryable: false
              })
            )
          }
          reserved += expected
          return complete(request).pipe(
            Effect.tap((response) => Effect.sync(() => record(stage, model, response))),
            Effect.tapError(() =>
              Effect.sync(() => {
                total.failedCalls++
                stageOf(stage).failedCalls++
              })
            ),
            Effect.ensuring(Effect.sync(() => void (reserved -= expected)))
          )
        })
    )
  return {
    costOf,
    spent: () => total.cost,
    report,
    writeReport: (file) => AtomicFile.writeJson(file, report()),
    wrap
  }
}

/**
 * A Markdown table of a report (one row per stage, then the total).
 *
 * @since 0.1.0
 * @category combinators
 */
export const formatReport = (report: CostReport): string => {
  const row = (name: string, s: StageUsage) =>
    `| ${name} | ${s.calls} | ${s.cachedCalls} | ${s.failedCalls} | ${s.promptTokens} | ${s.completionTokens} | ${s.cost.toFixed(4)} |`
  return [
    `| stage | calls | cached | failed | prompt tokens | completion tokens | cost (${report.currency}) |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...Object.entries(report.stages).map(([k, v]) => row(k, v)),
    row("**total**", report.total),
    report.budget === null ? "" : `\nbudget ${report.budget} ${report.currency}; refused calls: ${report.refusedCalls}`
  ].join("\n")
}
