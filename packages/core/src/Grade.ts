/**
 * Relevance grades and grade scales. SSRA grades (query, document) pairs on 0–3, but real sets stop lower
 * (QBQTC is 0–2), so the scale is data carried with a dataset, never an assumption baked into code.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Failure from "./Failure.js"

/**
 * A relevance grade: an integer 0..3 (the widest scale SSRA uses).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Grade = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 }))

/**
 * @since 0.1.0
 * @category models
 */
export type Grade = 0 | 1 | 2 | 3

/**
 * The paper's grade definitions (SSRA §Labels).
 *
 * @since 0.1.0
 * @category constants
 */
export const definitions: Readonly<Record<Grade, string>> = {
  3: "fully and precisely satisfies the query's intent",
  2: "generally satisfies the intent; some non-key elements are missing or unmatched",
  1: "partially satisfies it: key entities or concepts match, but major aspects of the need do not",
  0: "neither satisfies the intent nor keeps any meaningful relevance"
}

/**
 * A grade scale: the grades a dataset uses, from 0 to `max`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GradeScale = Schema.Struct({
  max: Schema.Literals([1, 2, 3]),
  name: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface GradeScale {
  readonly max: 1 | 2 | 3
  readonly name?: string
}

/**
 * The four-grade SSRA scale.
 *
 * @since 0.1.0
 * @category constants
 */
export const ssraScale: GradeScale = { max: 3, name: "ssra-0-3" }

/**
 * Builds a scale that stops at `max`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scale = (max: 1 | 2 | 3, name?: string): GradeScale => (name === undefined ? { max } : { max, name })

/**
 * The grades of a scale, ascending.
 *
 * @since 0.1.0
 * @category combinators
 */
export const grades = (s: GradeScale): ReadonlyArray<Grade> => Array.from({ length: s.max + 1 }, (_, i) => i as Grade)

/**
 * Whether `value` is a grade on the scale.
 *
 * @since 0.1.0
 * @category guards
 */
export const isOnScale = (s: GradeScale, value: number): value is Grade =>
  Number.isInteger(value) && value >= 0 && value <= s.max

/**
 * A grade beyond 0..3, the widest scale SSRA uses: bad input.
 *
 * @since 0.1.0
 * @category errors
 */
export class GradeRangeError extends Schema.TaggedError<GradeRangeError>()("GradeRangeError", {
  grade: Schema.Number
}) {
  override get message(): string {
    return `grade ${this.grade} is outside 0..3`
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("input", { label: "invalid input", hint: "grades are integers 0..3: fix the labels" })
  }
}

/**
 * Infers the smallest scale that contains every observed grade (at least 0–1). Throws `GradeRangeError` for a
 * grade above 3.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inferScale = (observed: Iterable<number>): GradeScale => {
  let max = 1
  for (const g of observed) if (g > max) max = g
  if (max > 3) throw new GradeRangeError({ grade: max })
  return { max: max as 1 | 2 | 3 }
}

/**
 * The schema of a grade on a given scale: an integer 0..`max`, so a 3 in a set graded 0–2 fails naming the
 * scale.
 *
 * @since 0.1.0
 * @category schemas
 */
export const onScale = (s: GradeScale) =>
  Schema.Int.check(
    Schema.isBetween(
      { minimum: 0, maximum: s.max },
      { expected: `a grade on the 0..${s.max} scale${s.name !== undefined ? ` (${s.name})` : ""}` }
    )
  )
