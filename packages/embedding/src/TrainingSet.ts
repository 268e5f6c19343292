/**
 * Labeled pairs → embedding training rows under a weight scheme (core `TrainingRow.WeightScheme`): the paper's
 * raw grade, the grade normalized by the scale's maximum, or `negatives-kept`, where grade-0 pairs stop being
 * zero-weight rows and become explicit negatives of their query's positive rows.
 *
 * @since 0.1.0
 */
import { Grade, type Pair, TrainingRow } from "@ssra/core"
import { TrainingError } from "./TrainingError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface FromLabeledOptions {
  readonly scheme: TrainingRow.WeightScheme
  readonly scale: Grade.GradeScale
  readonly origin?: "labeled" | "synthetic" | undefined
  /**
   * Which other documents of the same query become explicit negatives of a row: `grade-0` (the default of
   * `negatives-kept`), `lower-grades` (every document graded below the row's grade: the query's own list
   * ranks), or `none` (the default of `raw` and `normalized`).
   */
  readonly listNegatives?: "none" | "grade-0" | "lower-grades" | undefined
}

/**
 * Builds training rows (in input order). Fails with `TrainingError` (reason `grade`, with the row index) for a
 * label outside the scale.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromLabeledPairs = (
  pairs: ReadonlyArray<Pair.LabeledPair>,
  options: FromLabeledOptions
): Array<TrainingRow.TrainingRow> => {
  const { scheme, scale } = options
  const origin = options.origin ?? "labeled"
  pairs.forEach((p, i) => {
    if (!Grade.isOnScale(scale, p.label)) {
      throw new TrainingError({
        reason: "grade",
        row: i,
        detail: `label ${p.label} of (${p.qid}, ${p.did}) is outside the scale 0..${scale.max}`,
        hint: "pass the dataset's scale (Grade.inferScale) or fix the label"
      })
    }
  })
  const listNegatives = options.listNegatives ?? (scheme === "negatives-kept" ? "grade-0" : "none")
  // per query: its documents with their best grade
  const lists = new Map<string, Map<string, number>>()
  if (listNegatives !== "none") {
    for (const p of pairs) {
      let docs = lists.get(p.query)
      if (docs === undefined) lists.set(p.query, (docs = new Map()))
      docs.set(p.doc, Math.max(p.label, docs.get(p.doc) ?? 0))
    }
  }
  const negativesOf = (p: Pair.LabeledPair): Array<string> => {
    const docs = lists.get(p.query)
    if (docs === undefined) return []
    const out: Array<string> = []
    for (const [doc, grade] of docs) {
      if (doc !== p.doc && (listNegatives === "grade-0" ? grade === 0 : grade < p.label)) out.push(doc)
    }
    return out
  }
  const rows: Array<TrainingRow.TrainingRow> = []
  for (const p of pairs) {
    if (scheme === "negatives-kept" && p.label === 0) continue
    rows.push({
      query: p.query,
      positive: p.doc,
      negatives: negativesOf(p),
      grade: p.label,
      weight: TrainingRow.weightOf(p.label, scheme, scale.max),
      origin,
      qid: p.qid,
      did: p.did
    })
  }
  return rows
}
