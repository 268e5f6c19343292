/**
 * The trainer's arguments as a Schema: every field's accepted values, the measured-best `defaults`, and `decode`,
 * which fills absent keys from the defaults and fails with a `TrainingError` (reason `invalid-args`) naming each bad
 * field. `@ssra/pipeline`'s config reuses the field schemas (`TrainingArgs.fields`) for its `training` section.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import type * as DualEncoder from "./DualEncoder.js"
import { TrainingError } from "./TrainingError.js"

/** A number (NaN and ±Infinity included, so the predicate alone decides) that `valid` accepts. */
const numberThat = (expected: string, valid: (n: number) => boolean) =>
  Schema.Number.check(Schema.makeFilter(valid, { expected }))

const positiveInt = () => numberThat("a positive integer", (n) => Number.isInteger(n) && n >= 1)
const positiveFinite = () => numberThat("a number > 0", (n) => n > 0 && Number.isFinite(n))

/**
 * Hard-negative mining settings: mined with the start model once, or with the current model at every epoch.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HardNegativeArgs = Schema.Struct({
  /** Negatives mined per row. */
  k: positiveInt(),
  /** Relative margin below the positive's score, in [0, 1). */
  margin: numberThat("a number in [0, 1)", (n) => n >= 0 && n < 1),
  source: Schema.Literals(["start", "current"]),
  /** Embedding prefix mined with, 1..the model's dimensions. */
  dimensions: positiveInt(),
  /** With a grader: mined documents it grades at least this are dropped. */
  guardMinGrade: numberThat("a finite number", Number.isFinite)
})

/**
 * @since 0.1.0
 * @category models
 */
export type HardNegativeArgs = typeof HardNegativeArgs.Type

/**
 * Every field of the trainer's arguments (no defaults: `Input` adds them). Field order is the order the
 * arguments are recorded in a checkpoint's `config.json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrainingArgs = Schema.Struct({
  epochs: positiveInt(),
  batchSize: numberThat("an integer ≥ 2 (in-batch negatives need another row)", (n) => Number.isInteger(n) && n >= 2),
  learningRate: positiveFinite(),
  /** Initial (or fixed) softmax temperature. */
  temperature: positiveFinite(),
  learnTemperature: Schema.Boolean,
  temperatureLearningRate: positiveFinite(),
  /** Prefix sizes averaged in the loss (null: the model's Matryoshka dimensions); each ≤ the model's width. */
  matryoshkaDimensions: Schema.NullOr(
    Schema.Array(positiveInt()).check(Schema.isMinLength(1, { expected: "a non-empty list" }))
  ),
  queryQuery: Schema.Boolean,
  documentDocument: Schema.Boolean,
  /** Mask a negative whose cosine exceeds the positive's by more than this (null: no margin masking). */
  falseNegativeMargin: Schema.NullOr(numberThat("a number ≥ 0", (n) => n >= 0 && Number.isFinite(n))),
  /** Negatives (explicit + mined) drawn per row and step. */
  maxNegativesPerRow: numberThat("an integer ≥ 0", (n) => Number.isInteger(n) && n >= 0),
  hardNegatives: Schema.NullOr(HardNegativeArgs),
  /** Grades must be on 0..gradeScaleMax. */
  gradeScaleMax: Schema.Literals([1, 2, 3]),
  seed: numberThat("an integer", Number.isSafeInteger),
  evaluateEvery: Schema.NullOr(positiveInt()),
  /** Stop after this many evaluations without a better primary metric (null: never). */
  earlyStoppingPatience: Schema.NullOr(positiveInt()),
  checkpointEvery: Schema.NullOr(positiveInt()),
  /** Stop after this many steps in total (null: run all epochs). */
  maxSteps: Schema.NullOr(positiveInt()),
  /** Continue from `<checkpointDir>/last` when it exists. */
  resume: Schema.Boolean,
  progressEvery: positiveInt(),
  /**
   * With a model whose lexical weight α is in (0, 1): train the learned part as a residual of the fixed lexical
   * channel, each logit `(cos + α/(1−α)·lexical)/τ`, the cosine of the full embedding up to scale, so the learned
   * dimensions learn what lexical matching misses. No effect on a model without a lexical channel.
   */
  lexicalResidual: Schema.Boolean
})

/**
 * @since 0.1.0
 * @category models
 */
export type TrainingArgs = typeof TrainingArgs.Type

/**
 * The measured-best settings: batch 128, Adagrad lr 0.05, τ = 0.05 fixed, margin masking 0.1, 3 epochs.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: TrainingArgs = {
  epochs: 3,
  batchSize: 128,
  learningRate: 0.05,
  temperature: 0.05,
  learnTemperature: false,
  temperatureLearningRate: 0.01,
  matryoshkaDimensions: null,
  queryQuery: false,
  documentDocument: false,
  falseNegativeMargin: 0.1,
  maxNegativesPerRow: 3,
  hardNegatives: null,
  gradeScaleMax: 3,
  seed: 1,
  evaluateEvery: null,
  earlyStoppingPatience: null,
  checkpointEvery: null,
  maxSteps: null,
  resume: false,
  progressEvery: 20,
  lexicalResidual: true
}

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const f = TrainingArgs.fields
const d = defaults

/**
 * What a caller gives: any subset of the fields; an absent key takes its value from `defaults` (a key given as
 * `undefined` is an error, as is an unknown key when decoded with `decode`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Input = Schema.Struct({
  epochs: orDefault(f.epochs, d.epochs),
  batchSize: orDefault(f.batchSize, d.batchSize),
  learningRate: orDefault(f.learningRate, d.learningRate),
  temperature: orDefault(f.temperature, d.temperature),
  learnTemperature: orDefault(f.learnTemperature, d.learnTemperature),
  temperatureLearningRate: orDefault(f.temperatureLearningRate, d.temperatureLearningRate),
  matryoshkaDimensions: orDefault(f.matryoshkaDimensions, d.matryoshkaDimensions),
  queryQuery: orDefault(f.queryQuery, d.queryQuery),
  documentDocument: orDefault(f.documentDocument, d.documentDocument),
  falseNegativeMargin: orDefault(f.falseNegativeMargin, d.falseNegativeMargin),
  maxNegativesPerRow: orDefault(f.maxNegativesPerRow, d.maxNegativesPerRow),
  hardNegatives: orDefault(f.hardNegatives, d.hardNegatives),
  gradeScaleMax: orDefault(f.gradeScaleMax, d.gradeScaleMax),
  seed: orDefault(f.seed, d.seed),
  evaluateEvery: orDefault(f.evaluateEvery, d.evaluateEvery),
  earlyStoppingPatience: orDefault(f.earlyStoppingPatience, d.earlyStoppingPatience),
  checkpointEvery: orDefault(f.checkpointEvery, d.checkpointEvery),
  maxSteps: orDefault(f.maxSteps, d.maxSteps),
  resume: orDefault(f.resume, d.resume),
  progressEvery: orDefault(f.progressEvery, d.progressEvery),
  lexicalResidual: orDefault(f.lexicalResidual, d.lexicalResidual)
})

const decodeInput = Schema.decodeUnknownResult(Input, {
  errors: "all",
  onExcessProperty: "error",
  reportInput: true
})
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

const HARD_NEGATIVES_HINT =
  'give every field of hardNegatives: { k: 3, margin: 0.05, source: "start", dimensions: 64, guardMinGrade: 2 }'

/**
 * Fills absent keys from `defaults` and checks every field; fails with a `TrainingError` (reason `invalid-args`)
 * whose detail names each bad field (`learningRate: expected a number > 0, got NaN`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown): Result.Result<TrainingArgs, TrainingError> => {
  const decoded = decodeInput(input)
  if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
  const issues = formatIssue(decoded.failure.issue).issues
  const named = issues.map((issue) => {
    const field = (issue.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".")
    const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1)
    return field === "" ? `args: ${message}` : `${field}: ${message}`
  })
  const hardNegatives = issues.some((issue) => {
    const first = issue.path?.[0]
    return (typeof first === "object" ? first.key : first) === "hardNegatives"
  })
  return Result.fail(
    new TrainingError({
      reason: "invalid-args",
      detail: named.join("; "),
      ...(hardNegatives ? { hint: HARD_NEGATIVES_HINT } : {})
    })
  )
}

/**
 * The checks that need the model: mined and loss prefixes within its width. A `TrainingError` (reason
 * `invalid-args`) or undefined.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkModel = (args: TrainingArgs, model: DualEncoder.DualEncoderModel): TrainingError | undefined => {
  const width = model.config.dimensions
  const hn = args.hardNegatives
  if (hn !== null && hn.dimensions > width)
    return new TrainingError({
      reason: "invalid-args",
      detail: `hardNegatives.dimensions must be an integer in 1..${width}, got ${hn.dimensions}`,
      hint: HARD_NEGATIVES_HINT
    })
  const dims = args.matryoshkaDimensions ?? model.config.matryoshkaDimensions
  if (dims.length === 0 || dims.some((m) => !Number.isInteger(m) || m < 1 || m > width))
    return new TrainingError({
      reason: "invalid-args",
      detail: `matryoshkaDimensions [${dims}] must be integers in 1..${width}`
    })
  return undefined
}
