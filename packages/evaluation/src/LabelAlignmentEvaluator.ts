/**
 * Label alignment for query generators (the paper's Table 6): for queries written at an intended grade, how
 * often the judge's grade agrees — overall, per intended grade, and as a confusion matrix.
 *
 * @since 0.1.0
 */
import type { Grade } from "@ssra/core"
import { Effect } from "effect"
import * as ClassifierEvaluator from "./ClassifierEvaluator.js"
import type { EvaluationError } from "./EvaluationError.js"
import type { EvaluationResult } from "./EvaluationResult.js"

/**
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (options: {
  readonly name: string
  readonly items: ReadonlyArray<{ readonly intended: number; readonly judged: number }>
  readonly scale: Grade.GradeScale
}): Effect.Effect<EvaluationResult, EvaluationError> =>
  Effect.gen(function* () {
    const intended = options.items.map((i) => i.intended)
    const judged = options.items.map((i) => i.judged)
    const base = yield* ClassifierEvaluator.fromPredictions({
      name: options.name,
      truth: intended,
      predicted: judged,
      scale: options.scale
    })
    const metrics: Record<string, number | null> = {
      match_rate: base.metrics.accuracy ?? null,
      macro_f1: base.metrics.macro_f1 ?? null,
      qwk: base.metrics.qwk ?? null
    }
    const counts: Record<string, number> = { items: options.items.length }
    for (let g = 0; g <= options.scale.max; g++) {
      const total = intended.filter((x) => x === g).length
      const matched = options.items.filter((i) => i.intended === g && i.judged === g).length
      counts[`intended_${g}`] = total
      counts[`matched_${g}`] = matched
      metrics[`match_rate_${g}`] = total === 0 ? null : matched / total
    }
    return {
      ...base,
      evaluator: "label-alignment",
      primaryMetric: "match_rate",
      primary: metrics.match_rate ?? null,
      metrics,
      counts,
      ...(base.confusion === undefined
        ? {}
        : { confusion: { ...base.confusion, title: "intended (rows) vs judged (columns) grade" } })
    } satisfies EvaluationResult
  })
