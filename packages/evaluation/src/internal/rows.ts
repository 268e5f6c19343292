import type { Grade, Models } from "@ssra/core"
import { Effect } from "effect"
import { EvaluationError } from "../EvaluationError.js"
import type { PairScorer } from "../PairScorer.js"

/** A graded (query, document) row as the test files hold it. */
export interface GradedRow {
  readonly qid: string
  readonly did: string
  readonly query: string
  readonly doc: string
  readonly label: number
}

const where = (file: string | undefined) => (file === undefined ? {} : { file })

/** Rejects an empty set and grades off the scale, naming the row's ids. */
export const validateGrades = (
  rows: ReadonlyArray<{ readonly qid?: string; readonly did?: string; readonly label: number }>,
  scale: Grade.GradeScale,
  file: string | undefined,
  what: string
): Effect.Effect<void, EvaluationError> =>
  Effect.suspend(() => {
    if (rows.length === 0) {
      return Effect.fail(
        new EvaluationError({
          reason: "empty",
          ...where(file),
          detail: `the ${what} set has no rows`,
          hint: "check the dataset path and filters"
        })
      )
    }
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!
      if (!Number.isInteger(r.label) || r.label < 0 || r.label > scale.max) {
        return Effect.fail(
          new EvaluationError({
            reason: "grade-out-of-scale",
            ...where(file),
            line: i + 1,
            id: r.qid === undefined ? `row ${i + 1}` : `${r.qid}/${r.did ?? ""}`,
            detail: `label ${r.label} is outside the scale 0..${scale.max}`,
            hint: "declare the dataset's scale (grades) or fix the label"
          })
        )
      }
    }
    return Effect.void
  })

/** Runs a scorer and checks it returned one finite score per pair. */
export const scoreRows = (
  scorer: PairScorer,
  rows: ReadonlyArray<{ readonly qid?: string; readonly did?: string; readonly query: string; readonly doc: string }>,
  file: string | undefined
): Effect.Effect<Float64Array, EvaluationError> =>
  Effect.gen(function* () {
    const scores = yield* Effect.mapError(
      scorer(rows),
      (e: Models.ModelError) =>
        new EvaluationError({
          reason: "model",
          ...where(file),
          detail: `scorer failed (${e.backend}, ${e.reason}): ${e.message}`,
          cause: e
        })
    )
    if (scores.length !== rows.length) {
      return yield* new EvaluationError({
        reason: "mismatch",
        ...where(file),
        detail: `scorer returned ${scores.length} scores for ${rows.length} pairs`
      })
    }
    const out = new Float64Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const s = scores[i]!
      if (typeof s !== "number" || Number.isNaN(s)) {
        const r = rows[i]!
        return yield* new EvaluationError({
          reason: "nan-score",
          ...where(file),
          line: i + 1,
          id: r.qid === undefined ? `row ${i + 1}` : `${r.qid}/${r.did ?? ""}`,
          detail: "the scorer returned NaN",
          hint: "check the model output for this pair (empty text? zero vector?)"
        })
      }
      out[i] = s
    }
    return out
  })
