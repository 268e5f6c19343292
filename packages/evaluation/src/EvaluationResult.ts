/**
 * The one contract every evaluator returns: named metrics, a primary metric, the configuration that produced
 * them, counts (including what was dropped and why), and the per-unit values that paired statistics and
 * report plots need.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Per-query (or per-item) values of some metrics: `values[metric][i]` belongs to `ids[i]`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PerUnit = Schema.Struct({
  ids: Schema.Array(Schema.String),
  values: Schema.Record(Schema.String, Schema.Array(Schema.Number))
})

/**
 * @since 0.1.0
 * @category models
 */
export type PerUnit = typeof PerUnit.Type

/**
 * Graded pairs with the system's score for each (pair-classification results keep them so AP confidence
 * intervals, score histograms and paired comparisons can be computed later).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ScoredPairs = Schema.Struct({
  ids: Schema.Array(Schema.String),
  labels: Schema.Array(Schema.Int),
  scores: Schema.Array(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ScoredPairs = typeof ScoredPairs.Type

/**
 * A confusion matrix (rows: true class, columns: predicted class).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Confusion = Schema.Struct({
  title: Schema.String,
  classes: Schema.Array(Schema.Number),
  matrix: Schema.Array(Schema.Array(Schema.Number))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Confusion = typeof Confusion.Type

/**
 * What the evaluator was.
 *
 * @since 0.1.0
 * @category models
 */
export const EvaluatorKind = Schema.Literals([
  "retrieval",
  "pair-classification",
  "label-alignment",
  "diversity",
  "classifier"
])

/**
 * @since 0.1.0
 * @category schemas
 */
export const EvaluationResult = Schema.Struct({
  name: Schema.String,
  evaluator: EvaluatorKind,
  primaryMetric: Schema.String,
  primary: Schema.NullOr(Schema.Number),
  metrics: Schema.Record(Schema.String, Schema.NullOr(Schema.Number)),
  config: Schema.Record(Schema.String, Schema.Unknown),
  counts: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number)),
  notes: Schema.optionalKey(Schema.Array(Schema.String)),
  perUnit: Schema.optionalKey(PerUnit),
  pairs: Schema.optionalKey(ScoredPairs),
  confusion: Schema.optionalKey(Confusion)
})

/**
 * @since 0.1.0
 * @category models
 */
export type EvaluationResult = typeof EvaluationResult.Type

/**
 * Display label of a metric key (`ndcg_at_10` → `nDCG@10`, `ap_ge_2` → `AP@≥2`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const metricLabel = (key: string): string => {
  const m = /^(ndcg|map|recall|precision|mrr)_at_(\d+)$/.exec(key)
  if (m) {
    const names: Record<string, string> = { ndcg: "nDCG", map: "MAP", recall: "Recall", precision: "P", mrr: "MRR" }
    return `${names[m[1]!]}@${m[2]}`
  }
  const mean = /^(?:(\w+?)_)?ap_mean$/.exec(key)
  if (mean) return `${mean[1] === undefined ? "" : `${mean[1]} `}mean AP`
  const ap = /^(?:(\w+?)_)?ap_ge_(\d)$/.exec(key)
  if (ap) return `${ap[1] === undefined ? "" : `${ap[1]} `}AP@≥${ap[2]}`
  return key
}

/**
 * A metric value as printed: 4 decimals, `n/a` for undefined.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatValue = (value: number | null | undefined, digits = 4): string =>
  value === null || value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits)
