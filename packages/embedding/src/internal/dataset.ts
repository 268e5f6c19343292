/**
 * The trainer's dataset: rows interned as text ids with their features computed once, the known grades of
 * (query, document) pairs, the hand-off to the hard-negative miner (mined texts interned into the same table), and
 * each epoch's seeded batches with no repeated query or document.
 */
import { type Models, Sampling, type TrainingRow } from "@ssra/core"
import { Effect } from "effect"
import type * as DualEncoder from "../DualEncoder.js"
import * as HardNegativeMiner from "../HardNegativeMiner.js"
import type { HardNegativeArgs, TrainingArgs } from "../TrainingArgs.js"
import { TrainingError } from "../TrainingError.js"
import { makeBatches } from "./batching.js"
import { residualOffset } from "./residual.js"
import type { StepContext } from "./step.js"

/** Every distinct text once, in first-seen order, with its features. */
export interface TextTable {
  readonly texts: Array<string>
  readonly features: Array<Int32Array>
  /** The id of `text`, featurized on first sight; throws a `TrainingError` (reason `featurize`) naming the row. */
  readonly intern: (text: string, row: number, field: string) => number
}

const makeTextTable = (model: DualEncoder.DualEncoderModel): TextTable => {
  const ids = new Map<string, number>()
  const features: Array<Int32Array> = []
  const texts: Array<string> = []
  const intern = (text: string, row: number, field: string): number => {
    let id = ids.get(text)
    if (id !== undefined) return id
    try {
      features.push(model.featurizer.featurize(text))
    } catch (cause) {
      throw new TrainingError({
        reason: "featurize",
        row,
        detail: `${field}: ${(cause as Error).message}`,
        hint: "drop or fix rows with empty texts",
        cause
      })
    }
    id = features.length - 1
    texts.push(text)
    ids.set(text, id)
    return id
  }
  return { texts, features, intern }
}

const interning = (run: () => void) =>
  Effect.try({
    try: run,
    catch: (cause) =>
      cause instanceof TrainingError ? cause : new TrainingError({ reason: "featurize", detail: String(cause) })
  })

/** The rows as text ids: each row's query, positive, weight and explicit negatives. */
export interface Dataset {
  readonly rows: ReadonlyArray<TrainingRow.TrainingRow>
  readonly table: TextTable
  readonly queryOf: Int32Array
  readonly positiveOf: Int32Array
  readonly weightOf: Float64Array
  readonly explicitNegatives: ReadonlyArray<Int32Array>
}

/** Rows featurized between two yields. */
const FEATURIZE_SLICE = 500

/**
 * Interns every row's texts. Featurizing a full set takes seconds: in slices, yielding between them so an
 * interruption gets in (the same ids in the same order as one pass).
 */
export const intern = (
  model: DualEncoder.DualEncoderModel,
  rows: ReadonlyArray<TrainingRow.TrainingRow>
): Effect.Effect<Dataset, TrainingError> =>
  Effect.gen(function* () {
    const table = makeTextTable(model)
    const queryOf = new Int32Array(rows.length)
    const positiveOf = new Int32Array(rows.length)
    const weightOf = new Float64Array(rows.length)
    const explicitNegatives: Array<Int32Array> = []
    for (let from = 0; from < rows.length; from += FEATURIZE_SLICE) {
      const to = Math.min(rows.length, from + FEATURIZE_SLICE)
      yield* interning(() => {
        for (let i = from; i < to; i++) {
          const r = rows[i]!
          queryOf[i] = table.intern(r.query, i, "query")
          positiveOf[i] = table.intern(r.positive, i, "positive")
          weightOf[i] = r.weight
          explicitNegatives.push(Int32Array.from(r.negatives, (n, k) => table.intern(n, i, `negatives[${k}]`)))
        }
      })
      yield* Effect.yieldNow
    }
    return { rows, table, queryOf, positiveOf, weightOf, explicitNegatives }
  })

/** Text ids of mined negatives are added after the grade keys are made: the key space is sized generously. */
const TEXT_COUNT = 1 << 26

/** The step context of `model` on `data` (explicit negatives only until `applyMined`). */
export const stepContext = (model: DualEncoder.DualEncoderModel, args: TrainingArgs, data: Dataset): StepContext => {
  const knownGrade = new Map<number, number>()
  data.rows.forEach((r, i) => {
    if (r.grade < 1) return
    const key = data.queryOf[i]! * TEXT_COUNT + data.positiveOf[i]!
    knownGrade.set(key, Math.max(r.grade, knownGrade.get(key) ?? 0))
  })
  return {
    model,
    args,
    lossOptions: {
      dimensions: args.matryoshkaDimensions ?? model.config.matryoshkaDimensions,
      queryQuery: args.queryQuery,
      documentDocument: args.documentDocument,
      falseNegativeMargin: args.falseNegativeMargin
    },
    features: data.table.features,
    queryOf: data.queryOf,
    positiveOf: data.positiveOf,
    weightOf: data.weightOf,
    negativesOf: data.explicitNegatives,
    gradeOf: Int8Array.from(data.rows, (r) => r.grade),
    knownGrade,
    textCount: TEXT_COUNT,
    lexicalOffset: residualOffset(model, args, data.table.texts)
  }
}

/** Sets each row's negatives to its explicit ones followed by its mined texts (interned on first sight). */
export const applyMined = (
  ctx: StepContext,
  data: Dataset,
  mined: ReadonlyArray<ReadonlyArray<string>>
): Effect.Effect<void, TrainingError> =>
  interning(() => {
    ctx.negativesOf = data.explicitNegatives.map((ex, i) => {
      const extra = mined[i]!
      if (extra.length === 0) return ex
      const out = new Int32Array(ex.length + extra.length)
      out.set(ex)
      extra.forEach((t, k) => {
        out[ex.length + k] = data.table.intern(t, i, "mined negative")
      })
      return out
    })
  })

/** Whether the epoch about to start mines: once before the first, or at every epoch with `source: "current"`. */
export const minesAt = (hardNegatives: HardNegativeArgs | null, minedEpoch: number, epoch: number): boolean =>
  hardNegatives !== null && (minedEpoch < 0 || (hardNegatives.source === "current" && minedEpoch < epoch))

/** The miner's negatives per row with `model` as it is now (copies, for the trainer state). */
export const mine = (
  model: DualEncoder.DualEncoderModel,
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  hn: HardNegativeArgs,
  grader: Models.Grader | undefined
): Effect.Effect<Array<Array<string>>, TrainingError | Models.ModelError> =>
  HardNegativeMiner.mine({
    model,
    rows,
    k: hn.k,
    margin: hn.margin,
    dimensions: Math.min(hn.dimensions, model.config.dimensions),
    grader,
    guardMinGrade: hn.guardMinGrade
  }).pipe(Effect.map((result) => result.mined.map((m) => m.slice())))

/** The batches of `epoch`: the rows in a seeded order, cut with no repeated query or document. */
export const batchesOf = (data: Dataset, args: TrainingArgs, epoch: number): Array<Array<number>> =>
  makeBatches(
    Sampling.shuffle(
      Array.from(data.rows, (_, i) => i),
      Sampling.hashSeed(`${args.seed}/epoch/${epoch}`)
    ),
    data.queryOf,
    data.positiveOf,
    args.batchSize
  )
