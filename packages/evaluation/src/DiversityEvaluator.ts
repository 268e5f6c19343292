/**
 * Diversity of generated queries: exact and normalized duplicate rates (a duplicate is any query after the
 * first with the same text, or the same `Text.dedupKey`) and distinct-n (distinct character n-grams over all
 * n-grams).
 *
 * @since 0.1.0
 */
import { Text } from "@ssra/core"
import { Tokenize } from "@ssra/text"
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import type { EvaluationResult } from "./EvaluationResult.js"

/**
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (options: {
  readonly name: string
  readonly queries: ReadonlyArray<string>
  readonly n?: ReadonlyArray<number> | undefined
}): Effect.Effect<EvaluationResult, EvaluationError> =>
  Effect.gen(function* () {
    const { queries } = options
    if (queries.length === 0) return yield* new EvaluationError({ reason: "empty", detail: "no queries to measure" })
    const exact = new Set(queries).size
    const normalized = new Set(queries.map(Text.dedupKey)).size
    const metrics: Record<string, number | null> = {
      exact_duplicate_rate: (queries.length - exact) / queries.length,
      normalized_duplicate_rate: (queries.length - normalized) / queries.length
    }
    for (const n of options.n ?? [1, 2]) {
      const all = queries.flatMap((q) => Tokenize.charNgrams(q, n))
      metrics[`distinct_${n}`] = all.length === 0 ? null : new Set(all).size / all.length
    }
    return {
      name: options.name,
      evaluator: "diversity",
      primaryMetric: "normalized_duplicate_rate",
      primary: metrics.normalized_duplicate_rate ?? null,
      metrics,
      config: { n: [...(options.n ?? [1, 2])] },
      counts: { queries: queries.length, distinctExact: exact, distinctNormalized: normalized }
    } satisfies EvaluationResult
  })
