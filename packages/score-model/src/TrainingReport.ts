/**
 * How well a grader agrees with human grades: accuracy, macro-F1, quadratic weighted kappa and the confusion
 * matrix (computed by `@ssra/evaluation`'s `Metrics`), plus calibration of its probabilities (NLL, Brier,
 * expected calibration error). Used for the embedded model's training report and for comparing it with
 * baselines on a test file.
 *
 * @since 0.1.0
 */
import { Grade, type Models } from "@ssra/core"
import { Metrics } from "@ssra/evaluation"
import { Effect } from "effect"

/**
 * Classifier agreement with human grades over the scale's grades.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassifierMetrics {
  readonly count: number
  readonly accuracy: number | null
  readonly macroF1: number | null
  readonly quadraticWeightedKappa: number | null
  /** Rows are human grades, columns predicted grades, in `classes` order. */
  readonly confusion: { readonly classes: ReadonlyArray<number>; readonly matrix: ReadonlyArray<ReadonlyArray<number>> }
}

/**
 * Calibration of predicted probabilities against human grades.
 *
 * @since 0.1.0
 * @category models
 */
export interface Calibration {
  /** Mean negative log-likelihood of the human grade. */
  readonly nll: number
  /** Mean multi-class Brier score. */
  readonly brier: number
  /** Expected calibration error of the top-grade confidence, 10 equal-width bins. */
  readonly ece: number
}

/**
 * One grader's evaluation on a labeled set.
 *
 * @since 0.1.0
 * @category models
 */
export interface Evaluation {
  readonly name: string
  readonly metrics: ClassifierMetrics
  readonly calibration?: Calibration | undefined
}

/**
 * Classifier metrics over the grades of `scale`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const classifierMetrics = (
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  scale: Grade.GradeScale
): ClassifierMetrics => {
  const classes = Grade.grades(scale)
  return {
    count: truth.length,
    accuracy: Metrics.accuracy(truth, predicted),
    macroF1: Metrics.macroF1(truth, predicted, classes),
    quadraticWeightedKappa: Metrics.quadraticWeightedKappa(truth, predicted, classes),
    confusion: Metrics.confusionMatrix(truth, predicted, classes)
  }
}

/**
 * Calibration of per-grade probabilities (each row sums to 1) against human grades.
 *
 * @since 0.1.0
 * @category metrics
 */
export const calibration = (
  truth: ArrayLike<number>,
  probabilities: ReadonlyArray<ReadonlyArray<number>>
): Calibration => {
  const n = truth.length
  if (n === 0) return { nll: 0, brier: 0, ece: 0 }
  const bins = 10
  const binCount = new Float64Array(bins)
  const binConfidence = new Float64Array(bins)
  const binCorrect = new Float64Array(bins)
  let nll = 0
  let brier = 0
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!
    const y = truth[i]!
    nll -= Math.log(Math.max(p[y] ?? 0, 1e-12))
    let top = 0
    for (let k = 0; k < p.length; k++) {
      const d = p[k]! - (k === y ? 1 : 0)
      brier += d * d
      if (p[k]! > p[top]!) top = k
    }
    const b = Math.min(bins - 1, Math.floor(p[top]! * bins))
    binCount[b]!++
    binConfidence[b]! += p[top]!
    binCorrect[b]! += top === y ? 1 : 0
  }
  let ece = 0
  for (let b = 0; b < bins; b++) if (binCount[b]! > 0) ece += Math.abs(binConfidence[b]! - binCorrect[b]!) / n
  return { nll: nll / n, brier: brier / n, ece }
}

/**
 * Grades labeled pairs with a grader and evaluates its grades and probabilities.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (
  grader: Models.Grader,
  pairs: ReadonlyArray<{ readonly query: string; readonly doc: string; readonly label: number }>,
  options: { readonly name?: string | undefined; readonly withCalibration?: boolean | undefined } = {}
): Effect.Effect<Evaluation, Models.ModelError> =>
  Effect.map(grader.grade(pairs), (judgments) => {
    const truth = pairs.map((p) => p.label)
    const predicted = judgments.map((j) => j.grade)
    return {
      name: options.name ?? grader.id,
      metrics: classifierMetrics(truth, predicted, grader.scale),
      ...(options.withCalibration === false
        ? {}
        : {
            calibration: calibration(
              truth,
              judgments.map((j) => j.probabilities)
            )
          })
    }
  })

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? "n/a" : v.toFixed(3))

/**
 * A Markdown table of evaluations (one row each), followed by each confusion matrix.
 *
 * @since 0.1.0
 * @category formatting
 */
export const markdown = (title: string, evaluations: ReadonlyArray<Evaluation>): string => {
  const lines = [
    `### ${title}`,
    "",
    "| grader | n | accuracy | macro-F1 | QWK | NLL | ECE |",
    "|---|---|---|---|---|---|---|"
  ]
  for (const e of evaluations) {
    lines.push(
      `| ${e.name} | ${e.metrics.count} | ${fmt(e.metrics.accuracy)} | ${fmt(e.metrics.macroF1)} | ${fmt(e.metrics.quadraticWeightedKappa)} | ${fmt(e.calibration?.nll)} | ${fmt(e.calibration?.ece)} |`
    )
  }
  for (const e of evaluations) {
    const cs = e.metrics.confusion.classes
    lines.push(
      "",
      `Confusion (${e.name}; rows = human grade, columns = predicted):`,
      "",
      `| | ${cs.map((c) => `→${c}`).join(" | ")} |`
    )
    lines.push(`|---|${cs.map(() => "---").join("|")}|`)
    e.metrics.confusion.matrix.forEach((row, i) => {
      lines.push(`| ${cs[i]} | ${row.join(" | ")} |`)
    })
  }
  return lines.join("\n")
}
