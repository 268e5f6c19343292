/**
 * (query, document) pairs: human-graded, unlabeled click-log pairs, and D2Q groups (a document with many
 * queries at many grades). The field names follow the bundled data files (`qid`, `did`, `query`, `doc`,
 * `label`, `src`) so a JSONL line decodes as it is.
 *
 * @since 0.1.0
 */
import { Schema, SchemaGetter } from "effect"
import { Grade, type GradeScale, onScale } from "./Grade.js"

const NonBlank = Schema.String.check(Schema.isPattern(/\S/, { message: "Expected a non-empty text" }))

/**
 * A query or document id: a non-empty string, or an integer (as many IR tools write qids), read as its decimal
 * string. Always written back as a string.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Id = Schema.Union([Schema.String, Schema.Int]).pipe(
  Schema.decodeTo(Schema.NonEmptyString, {
    decode: SchemaGetter.transform((v: string | number) => String(v)),
    encode: SchemaGetter.transform((s: string) => s)
  })
)

/**
 * A human-graded pair.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LabeledPair = Schema.Struct({
  qid: Id,
  did: Id,
  query: NonBlank,
  doc: NonBlank,
  label: Grade,
  src: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type LabeledPair = typeof LabeledPair.Type

/**
 * A human-graded pair whose label must lie on `scale` (e.g. 0–2 for QBQTC): a label of 3 in such a set is an
 * error naming the `label` field and the scale.
 *
 * @since 0.1.0
 * @category schemas
 */
export const labeledPairOn = (scale: GradeScale) =>
  Schema.Struct({
    ...LabeledPair.fields,
    label: onScale(scale)
  })

/**
 * A pair from the click log: a real user query and the document it led to, no grade.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UnlabeledPair = Schema.Struct({
  qid: Id,
  did: Id,
  query: NonBlank,
  doc: NonBlank,
  src: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type UnlabeledPair = typeof UnlabeledPair.Type

/**
 * The minimal thing a scorer grades.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryDocument {
  readonly query: string
  readonly doc: string
}

/**
 * A query of a D2Q group, with where its grade came from.
 *
 * @since 0.1.0
 * @category schemas
 */
export const D2QQuery = Schema.Struct({
  query: NonBlank,
  grade: Grade,
  origin: Schema.Literals(["human", "score-model", "synthetic"]),
  probabilities: Schema.optionalKey(Schema.Array(Schema.Number))
})

/**
 * A document with many real queries at varied grades: Stage 1's training data for the query model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const D2QGroup = Schema.Struct({
  did: Schema.NonEmptyString,
  doc: NonBlank,
  queries: Schema.Array(D2QQuery)
})

/**
 * @since 0.1.0
 * @category models
 */
export type D2QGroup = typeof D2QGroup.Type
