/**
 * Graded pair classification (the SSRA protocol): score each (query, document) pair and report average
 * precision at grade thresholds ≥1, ≥2, ≥3 and their mean. Thresholds above the set's scale are "n/a"
 * (null), never 0. With an embedder, every MTEB similarity is tried and the best AP is reported as `max_*`.
 *
 * @since 0.1.0
 */
import { Grade, type Models, Sampling } from "@ssra/core"
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import type { EvaluationResult } from "./EvaluationResult.js"
import type { GradedRow } from "./internal/rows.js"
import { scoreRows, validateGrades } from "./internal/rows.js"
import * as Metrics from "./Metrics.js"
import * as PairScorer from "./PairScorer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface PairClassificationOptions {
  readonly name: string
  readonly rows: ReadonlyArray<GradedRow>
  /** A scorer, or an embedder (then all similarities are computed and `max_ap_*` reported). */
  readonly scorer?: PairScorer.PairScorer | undefined
  readonly embedder?: Models.TextEmbedder | undefined
  /** Matryoshka truncation for an embedder (the SSRA preset: 128 when the model has ≥ 128 dimensions). */
  readonly dimensions?: number | undefined
  readonly scale?: Grade.GradeScale | undefined
  readonly file?: string | undefined
  readonly thresholds?: ReadonlyArray<number> | undefined
  /** Balanced subset: at most `perGrade` rows per grade, drawn with `seed` (SSRA: 60, seed 52). */
  readonly balanced?: { readonly perGrade: number; readonly seed: number } | undefined
  readonly instructions?: { readonly query?: string | undefined; readonly document?: string | undefined } | undefined
}

/**
 * The SSRA pair-classification preset values.
 *
 * @since 0.1.0
 * @category presets
 */
export const ssraPreset = { dimensions: 128, balanced: { perGrade: 60, seed: 52 }, thresholds: [1, 2, 3] } as const

const apMetrics = (prefix: string, labels: Int32Array, scores: Float64Array, thresholds: ReadonlyArray<number>) => {
  const values = Metrics.averagePrecisionAtThresholds(labels, scores, thresholds)
  const out: Record<string, number | null> = {}
  thresholds.forEach((t, j) => {
    out[`${prefix}ap_ge_${t}`] = values[j]!
  })
  out[`${prefix}ap_mean`] = Metrics.meanDefined(values)
  return out
}

/**
 * The grade each pair gets when pairs are ranked by score and cut at the true grade proportions (the highest
 * scores get the highest grades): a calibration-free view of how well a score separates grades, shown as a
 * confusion matrix.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const quantileGrades = (
  labels: ArrayLike<number>,
  scores: Float64Array,
  scale: Grade.GradeScale
): Int32Array => {
  const n = labels.length
  const counts = new Array<number>(scale.max + 1).fill(0)
  for (let i = 0; i < n; i++) counts[labels[i]!]!++
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => scores[a]! - scores[b]! || a - b)
  const predicted = new Int32Array(n)
  let grade = 0
  let used = 0
  for (let r = 0; r < n; r++) {
    while (grade < scale.max && used >= counts[grade]!) {
      grade++
      used = 0
    }
    predicted[order[r]!] = grade
    used++
  }
  return predicted
}

/**
 * Evaluates graded pairs. Rows with NaN scores, labels off the scale, or an empty set fail with the row's ids.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (options: PairClassificationOptions): Effect.Effect<EvaluationResult, EvaluationError> =>
  Effect.gen(function* () {
    const { file } = options
    const scale = options.scale ?? Grade.inferScale(options.rows.map((r) => Math.max(0, Math.min(3, r.label))))
    yield* validateGrades(options.rows, scale, file, "pair-classification")
    const rows =
      options.balanced === undefined
        ? options.rows
        : Sampling.balanced(options.rows, (r) => r.label, options.balanced.perGrade, options.balanced.seed)
    const thresholds = options.thresholds ?? [1, 2, 3]
    const labels = Int32Array.from(rows, (r) => r.label)
    const instructions = options.instructions ?? {}
    const metrics: Record<string, number | null> = {}
    let scores: Float64Array
    let dimensions: number | undefined
    if (options.embedder !== undefined) {
      const embedder = options.embedder
      dimensions =
        options.dimensions !== undefined && options.dimensions < embedder.dimensions ? options.dimensions : undefined
      const texts = rows.map((r) => ({
        query: instructions.query === undefined ? r.query : fill(instructions.query, r.query),
        doc: instructions.document === undefined ? r.doc : fill(instructions.document, r.doc)
      }))
      const { queries, documents } = yield* Effect.mapError(
        PairScorer.embedPairs(embedder, texts, { dimensions }),
        (e) =>
          new EvaluationError({
            reason: "model",
            ...(file === undefined ? {} : { file }),
            detail: `embedder ${embedder.id} failed: ${e.message}`,
            cause: e
          })
      )
      let cosine: Float64Array = new Float64Array(0)
      const perSimilarity: Array<Record<string, number | null>> = []
      for (const sim of PairScorer.similarities) {
        const s = yield* scoreRows(
          (pairs) => Effect.succeed(pairs.map((_, i) => PairScorer.similarity(sim, queries[i]!, documents[i]!))),
          rows,
          file
        )
        if (sim === "cosine") cosine = s
        const m = apMetrics(`${sim}_`, labels, s, thresholds)
        perSimilarity.push(m)
        Object.assign(metrics, m)
      }
      for (const key of [...thresholds.map((t) => `ap_ge_${t}`), "ap_mean"]) {
        const defined = perSimilarity
          .map((m) => m[Object.keys(m).find((k) => k.endsWith(`_${key}`))!])
          .filter((v): v is number => v !== null && v !== undefined)
        metrics[`max_${key}`] = defined.length === 0 ? null : Math.max(...defined)
      }
      scores = cosine
    } else if (options.scorer !== undefined) {
      scores = yield* scoreRows(PairScorer.withInstructions(options.scorer, instructions), rows, file)
    } else {
      return yield* new EvaluationError({
        reason: "malformed",
        detail: "pair classification needs a scorer or an embedder"
      })
    }
    Object.assign(metrics, apMetrics("", labels, scores, thresholds))
    const predicted = quantileGrades(labels, scores, scale)
    const classes = Grade.grades(scale) as ReadonlyArray<number>
    metrics.quantile_accuracy = Metrics.accuracy(labels, predicted)
    metrics.quantile_qwk = Metrics.quadraticWeightedKappa(labels, predicted, classes)
    const histogram: Record<string, number> = {}
    for (const g of classes) histogram[`grade_${g}`] = 0
    for (const l of labels) histogram[`grade_${l}`]!++
    const notes: Array<string> = []
    for (const t of thresholds)
      if (metrics[`ap_ge_${t}`] === null) notes.push(`AP@≥${t} is n/a: the threshold leaves only one class`)
    return {
      name: options.name,
      evaluator: "pair-classification",
      primaryMetric: "ap_mean",
      primary: metrics.ap_mean ?? null,
      metrics,
      config: {
        thresholds: [...thresholds],
        scale: scale.max,
        similarity: options.embedder === undefined ? "scorer" : "cosine",
        ...(dimensions === undefined ? {} : { dimensions }),
        ...(options.balanced === undefined ? {} : { balanced: options.balanced }),
        ...(options.instructions === undefined ? {} : { instructions: options.instructions })
      },
      counts: { pairs: rows.length, available: options.rows.length, ...histogram },
      notes,
      pairs: {
        ids: rows.map((r) => `${r.qid}/${r.did}`),
        labels: Array.from(labels),
        scores: Array.from(scores)
      },
      confusion: {
        title: "grades by score quantile",
        classes: [...classes],
        matrix: Metrics.confusionMatrix(labels, predicted, classes).matrix.map((r) => [...r])
      }
    } satisfies EvaluationResult
  })

const fill = (template: string, text: string) =>
  template.includes("{text}") ? template.replaceAll("{text}", text) : template + text
