/**
 * Reference graders the embedded score model must beat: the majority class of the training labels, and a
 * BM25-threshold classifier (grade = how many fitted thresholds the pair's BM25 score reaches, thresholds fit
 * on the training pairs to maximize macro-F1). Both are real graders, so they are evaluated the same way.
 *
 * @since 0.1.0
 */
import { Grade, Models } from "@ssra/core"
import { Bm25 } from "@ssra/text"
import { Effect } from "effect"

const oneHot = (grade: number, classes: number): Array<number> =>
  Array.from({ length: classes }, (_, k) => (k === grade ? 1 : 0))

/**
 * Always the most frequent training grade (ties to the lower grade); probabilities are the training prior.
 *
 * @since 0.1.0
 * @category constructors
 */
export const majority = (labels: ReadonlyArray<number>, scale: Grade.GradeScale): Models.Grader => {
  const classes = scale.max + 1
  const counts = new Array<number>(classes).fill(0)
  for (const l of labels) if (Grade.isOnScale(scale, l)) counts[l]!++
  const total = counts.reduce((s, c) => s + c, 0)
  const prior = counts.map((c) => (total === 0 ? 1 / classes : c / total))
  const grade = Models.argmaxGrade(prior)
  const judgment: Models.GradeJudgment = { grade, probabilities: prior, expected: Models.expectedGrade(prior) }
  return { id: `majority:${grade}`, scale, grade: (pairs) => Effect.succeed(pairs.map(() => judgment)) }
}

/**
 * Thresholds `t_1 ≤ … ≤ t_max` on a score maximizing macro-F1 over the grades (exhaustive over up to
 * `candidates` quantiles of the scores); a score's grade is the number of thresholds it reaches.
 *
 * @since 0.1.0
 * @category fitting
 */
export const fitThresholds = (
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  candidates = 100
): Array<number> => {
  const n = scores.length
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!)
  const values: Array<number> = []
  for (let q = 1; q < candidates; q++) {
    const v = scores[order[Math.min(n - 1, Math.floor((q / candidates) * n))]!]!
    if (values.length === 0 || v > values[values.length - 1]!) values.push(v)
  }
  values.push(Number.POSITIVE_INFINITY)
  // below[c][i]: rows of class c with score < values[i]
  const below = Array.from({ length: classes }, () => new Int32Array(values.length))
  const total = new Int32Array(classes)
  for (let i = 0; i < n; i++) total[labels[i]!]!++
  let pointer = 0
  const running = new Int32Array(classes)
  for (let v = 0; v < values.length; v++) {
    while (pointer < n && scores[order[pointer]!]! < values[v]!) {
      running[labels[order[pointer]!]!]!++
      pointer++
    }
    for (let c = 0; c < classes; c++) below[c]![v] = running[c]!
  }
  const cut = new Int32Array(classes - 1)
  let best = -1
  let bestCut = Array.from(cut)
  const confusion = new Float64Array(classes * classes)
  const score = () => {
    for (let c = 0; c < classes; c++) {
      let previous = 0
      for (let j = 0; j < classes; j++) {
        const upTo = j < classes - 1 ? below[c]![cut[j]!]! : total[c]!
        confusion[c * classes + j] = upTo - previous
        previous = upTo
      }
    }
    let f1 = 0
    for (let c = 0; c < classes; c++) {
      let row = 0
      let col = 0
      for (let j = 0; j < classes; j++) {
        row += confusion[c * classes + j]!
        col += confusion[j * classes + c]!
      }
      f1 += row + col === 0 ? 0 : (2 * confusion[c * classes + c]!) / (row + col)
    }
    return f1 / classes
  }
  const search = (k: number, from: number) => {
    if (k === classes - 1) {
      const f = score()
      if (f > best) {
        best = f
        bestCut = Array.from(cut)
      }
      return
    }
    for (let i = from; i < values.length; i++) {
      cut[k] = i
      search(k + 1, i)
    }
  }
  search(0, 0)
  return bestCut.map((i) => values[i]!)
}

/**
 * A BM25-threshold grader: character 1+2-gram BM25 with IDF from the training documents, thresholds fit on the
 * training pairs for macro-F1. Probabilities are one-hot on the thresholded grade.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bm25Threshold = (
  pairs: ReadonlyArray<{ readonly query: string; readonly doc: string; readonly label: number }>,
  scale: Grade.GradeScale
): Models.Grader & { readonly thresholds: ReadonlyArray<number> } => {
  const index = Bm25.make([...new Set(pairs.map((p) => p.doc))], { tokenizer: "char-1-2" })
  const scores = pairs.map((p) => index.score(p.query, p.doc))
  const thresholds = fitThresholds(
    scores,
    pairs.map((p) => p.label),
    scale.max + 1
  )
  const gradeOf = (s: number) => {
    let g = 0
    for (const t of thresholds) if (s >= t) g++
    return g as Grade.Grade
  }
  return {
    id: `bm25-threshold:${thresholds.map((t) => t.toFixed(3)).join(",")}`,
    scale,
    thresholds,
    grade: (ps) =>
      Effect.sync(() =>
        ps.map((p) => {
          const grade = gradeOf(index.score(p.query, p.doc))
          return { grade, probabilities: oneHot(grade, scale.max + 1), expected: grade }
        })
      )
  }
}
