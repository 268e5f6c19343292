/**
 * Score-model evaluation on graded pairs: accuracy, macro-F1, quadratic weighted kappa and the confusion
 * matrix of predicted against true grades (scikit-learn semantics), plus the mean absolute error of the
 * expected grade when probabilities are given.
 *
 * @since 0.1.0
 */
import { Grade, type Models, type Pair } from "@ssra/core"
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import type { EvaluationResult } from "./EvaluationResult.js"
import { validateGrades } from "./internal/rows.js"
import * as Metrics from "./Metrics.js"

/**
 * Classifier metrics from true and predicted grades over a scale.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const fromPredictions = (options: {
  readonly name: string
  readonly truth: ReadonlyArray<number>
  readonly predicted: ReadonlyArray<number>
  readonly expected?: ReadonlyArray<number> | undefined
  readonly scale: Grade.GradeScale
  readonly file?: string | undefined
}): Effect.Effect<EvaluationResult, EvaluationError> =>
  Effect.gen(function* () {
    const { truth, predicted, scale } = options
    if (truth.length !== predicted.length) {
      return yield* new EvaluationError({
        reason: "mismatch",
        detail: `${truth.length} labels but ${predicted.length} predictions`
      })
    }
    yield* validateGrades(
      truth.map((label) => ({ label })),
      scale,
      options.file,
      "classifier"
    )
    yield* validateGrades(
      predicted.map((label) => ({ label })),
      scale,
      options.file,
      "predicted-grade"
    )
    const classes = Grade.grades(scale) as ReadonlyArray<number>
    const metrics: Record<string, number | null> = {
      accuracy: Metrics.accuracy(truth, predicted),
      macro_f1: Metrics.macroF1(truth, predicted, classes),
      qwk: Metrics.quadraticWeightedKappa(truth, predicted, classes)
    }
    if (options.expected !== undefined) {
      let s = 0
      for (let i = 0; i < truth.length; i++) s += Math.abs(options.expected[i]! - truth[i]!)
      metrics.expected_grade_mae = s / truth.length
    }
    const counts: Record<string, number> = { pairs: truth.length }
    for (const g of classes) counts[`grade_${g}`] = truth.filter((t) => t === g).length
    return {
      name: options.name,
      evaluator: "classifier",
      primaryMetric: "qwk",
      primary: metrics.qwk ?? null,
      metrics,
      config: { scale: scale.max },
      counts,
      confusion: {
        title: "true (rows) vs predicted (columns) grade",
        classes: [...classes],
        matrix: Metrics.confusionMatrix(truth, predicted, classes).matrix.map((r) => [...r])
      }
    } satisfies EvaluationResult
  })

/**
 * Grades labeled pairs with a score model and evaluates its predictions.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (options: {
  readonly name: string
  readonly grader: Models.Grader
  readonly rows: ReadonlyArray<Pair.QueryDocument & { readonly label: number }>
  readonly scale?: Grade.GradeScale | undefined
  readonly file?: string | undefined
}): Effect.Effect<EvaluationResult, EvaluationError> =>
  Effect.gen(function* () {
    const scale = options.scale ?? options.grader.scale
    yield* validateGrades(options.rows, scale, options.file, "classifier")
    const judgments = yield* Effect.mapError(
      options.grader.grade(options.rows),
      (e) =>
        new EvaluationError({ reason: "model", detail: `grader ${options.grader.id} failed: ${e.message}`, cause: e })
    )
    const result = yield* fromPredictions({
      name: options.name,
      truth: options.rows.map((r) => r.label),
      predicted: judgments.map((j) => j.grade),
      expected: judgments.map((j) => j.expected),
      scale,
      file: options.file
    })
    return { ...result, config: { ...result.config, grader: options.grader.id } }
  })
