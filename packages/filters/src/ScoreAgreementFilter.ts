/**
 * The score gate of SSRA Stage 2: a generated query survives only when the score model's grade for
 * (query, document) equals the grade it was written for, optionally with a minimum probability for that grade
 * and a minimum margin between the two most probable grades. The judgment is recorded on the row (`judged`).
 *
 * @since 0.1.0
 */

import { Models } from "@ssra/core"
import { Effect } from "effect"
import * as Filter from "./Filter.js"
import { invalidOption } from "./FilterError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ScoreAgreementOptions {
  readonly grader: Models.Grader
  /** Minimum probability of the target grade (default 0: the grade alone decides). */
  readonly minProbability?: number | undefined
  /** Minimum gap between the top-2 grade probabilities (default 0). */
  readonly minMargin?: number | undefined
  /** Pairs per grader call (default 256). */
  readonly batchSize?: number | undefined
  /** Filter name in verdicts (default `score-agreement`). */
  readonly name?: string | undefined
}

const checkJudgment = (j: Models.GradeJudgment | undefined, scaleMax: number): string | undefined => {
  if (j === undefined) return "missing judgment"
  if (!Number.isInteger(j.grade) || j.grade < 0 || j.grade > scaleMax)
    return `grade ${String(j.grade)} off the scale 0..${scaleMax}`
  if (j.probabilities.length !== scaleMax + 1)
    return `${j.probabilities.length} probabilities for a 0..${scaleMax} scale`
  for (const p of j.probabilities) if (!Number.isFinite(p) || p < 0 || p > 1) return `probability ${p} is not in [0, 1]`
  if (!Number.isFinite(j.expected)) return `expected grade ${j.expected} is not finite`
  return undefined
}

/**
 * Builds the score-agreement filter. A grader failure fails the run (`ModelError`); a grader answer that is
 * off the scale, has the wrong number of probabilities or a non-finite number fails it with `invalid-output`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ScoreAgreementOptions): Filter.Filter<Models.ModelError> => {
  const name = options.name ?? "score-agreement"
  const minProbability = options.minProbability ?? 0
  const minMargin = options.minMargin ?? 0
  const batchSize = options.batchSize ?? 256
  const grader = options.grader
  const scaleMax = grader.scale.max
  if (!(minProbability >= 0 && minProbability <= 1))
    throw invalidOption(name, `minProbability must be in [0, 1], got ${minProbability}`)
  if (!(minMargin >= 0 && minMargin <= 1)) throw invalidOption(name, `minMargin must be in [0, 1], got ${minMargin}`)
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw invalidOption(name, `batchSize must be a positive integer, got ${batchSize}`)
  return {
    name,
    scope: "item",
    config: { grader: grader.id, minProbability, minMargin, scale: grader.scale },
    apply: (items) =>
      Effect.gen(function* () {
        const decisions: Array<Filter.Decision | undefined> = items.map((c) => Filter.validate(c, { scaleMax }))
        const valid: Array<number> = []
        for (let i = 0; i < items.length; i++) if (decisions[i] === undefined) valid.push(i)
        const rows = items.slice()
        let agreed = 0
        let gradeMatch = 0
        for (let start = 0; start < valid.length; start += batchSize) {
          const idx = valid.slice(start, start + batchSize)
          const judgments = yield* grader.grade(idx.map((i) => ({ query: items[i]!.query, doc: items[i]!.doc })))
          if (judgments.length !== idx.length) {
            return yield* new Models.ModelError({
              backend: grader.id,
              reason: "invalid-output",
              message: `grader returned ${judgments.length} judgments for ${idx.length} pairs`
            })
          }
          for (let k = 0; k < idx.length; k++) {
            const i = idx[k]!
            const j = judgments[k]!
            const problem = checkJudgment(j, scaleMax)
            if (problem !== undefined) {
              return yield* new Models.ModelError({
                backend: grader.id,
                reason: "invalid-output",
                message: `grader judgment for candidate ${items[i]!.id}: ${problem}`
              })
            }
            rows[i] = {
              ...items[i]!,
              judged: { grade: j.grade, probabilities: [...j.probabilities], expected: j.expected, scorer: grader.id }
            }
            const target = items[i]!.targetGrade
            const sorted = [...j.probabilities].sort((a, b) => b - a)
            const margin = sorted[0]! - (sorted[1] ?? 0)
            const p = j.probabilities[target]!
            if (j.grade === target) gradeMatch++
            if (j.grade !== target)
              decisions[i] = Filter.reject("grade-mismatch", `judged ${j.grade}, target ${target}`)
            else if (p < minProbability) {
              decisions[i] = Filter.reject("low-probability", `p(${target}) = ${p.toFixed(3)} < ${minProbability}`)
            } else if (margin < minMargin)
              decisions[i] = Filter.reject("low-margin", `top-2 margin ${margin.toFixed(3)} < ${minMargin}`)
            else {
              decisions[i] = Filter.keep(`judged ${j.grade}, p = ${p.toFixed(3)}`)
              agreed++
            }
          }
        }
        return Filter.collect(name, rows, decisions as Array<Filter.Decision>, {
          graded: valid.length,
          gradeAgreement: Filter.rate(gradeMatch, valid.length),
          keptRate: Filter.rate(agreed, valid.length)
        })
      })
  }
}
