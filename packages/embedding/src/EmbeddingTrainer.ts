/**
 * Trains a dual encoder on grade-weighted rows: seeded batches with no repeated query or document, the SSRA loss
 * (`Loss`), sparse row-wise Adagrad on the embedding tables, optional hard-negative mining, progress events,
 * evaluation every N steps with best-checkpoint keeping and early stopping, and checkpoints (weights, optimizer
 * state, trainer state) from which a run resumes exactly where it stopped.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Grade, Hash, type Models, Sampling, type TrainingRow } from "@ssra/core"
import { Clock, Effect } from "effect"
import { CheckpointError } from "./CheckpointError.js"
import * as DualEncoder from "./DualEncoder.js"
import * as HardNegativeMiner from "./HardNegativeMiner.js"
import { makeBatches } from "./internal/batching.js"
import { adagradRows, SparseRows } from "./internal/sparse.js"
import * as Lexical from "./Lexical.js"
import * as Loss from "./Loss.js"
import * as Safetensors from "./Safetensors.js"
import { TrainingError } from "./TrainingError.js"

/**
 * Hard-negative mining settings: mined with the start model once, or with the current model at every epoch.
 *
 * @since 0.1.0
 * @category models
 */
export interface HardNegativeArgs {
  readonly k: number
  readonly margin: number
  readonly source: "start" | "current"
  readonly dimensions: number
  readonly guardMinGrade: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrainingArgs {
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  /** Initial (or fixed) softmax temperature. */
  readonly temperature: number
  readonly learnTemperature: boolean
  readonly temperatureLearningRate: number
  /** Prefix sizes averaged in the loss (null: the model's Matryoshka dimensions). */
  readonly matryoshkaDimensions: ReadonlyArray<number> | null
  readonly queryQuery: boolean
  readonly documentDocument: boolean
  readonly falseNegativeMargin: number | null
  /** Negatives (explicit + mined) drawn per row and step. */
  readonly maxNegativesPerRow: number
  readonly hardNegatives: HardNegativeArgs | null
  /** Grades must be on 0..gradeScaleMax. */
  readonly gradeScaleMax: 1 | 2 | 3
  readonly seed: number
  readonly evaluateEvery: number | null
  /** Stop after this many evaluations without a better primary metric (null: never). */
  readonly earlyStoppingPatience: number | null
  readonly checkpointEvery: number | null
  /** Stop after this many steps in total (null: run all epochs). */
  readonly maxSteps: number | null
  /** Continue from `<checkpointDir>/last` when it exists. */
  readonly resume: boolean
  readonly progressEvery: number
  /**
   * With a model whose lexical weight α is in (0, 1): train the learned part as a residual of the fixed lexical
   * channel, each logit `(cos + α/(1−α)·lexical)/τ`, the cosine of the full embedding up to scale, so the learned
   * dimensions learn what lexical matching misses. No effect on a model without a lexical channel.
   */
  readonly lexicalResidual: boolean
}

/**
 * The measured-best settings: batch 128, Adagrad lr 0.05, τ = 0.05 fixed, margin masking 0.1, 3 epochs.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultArgs: TrainingArgs = {
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

/**
 * @since 0.1.0
 * @category models
 */
export interface ProgressEvent {
  readonly step: number
  readonly totalSteps: number
  readonly epoch: number
  /** Mean loss over the steps since the previous event. */
  readonly loss: number
  readonly pairsPerSecond: number
  readonly etaSeconds: number
  readonly temperature: number
  readonly masked: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Evaluation {
  readonly primary: number
  readonly metrics: Readonly<Record<string, number | null>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HistoryEntry {
  readonly step: number
  readonly epoch: number
  readonly loss: number
  readonly evaluation?: Evaluation | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrainOptions<E = never, R = never> {
  readonly model: DualEncoder.DualEncoderModel
  readonly rows: ReadonlyArray<TrainingRow.TrainingRow>
  readonly args?: Partial<TrainingArgs> | undefined
  /** Called every `evaluateEvery` steps and at the end; higher `primary` is better. */
  readonly evaluate?: ((model: DualEncoder.DualEncoderModel) => Effect.Effect<Evaluation, E, R>) | undefined
  /** `<dir>/last` (resumable) and `<dir>/best` checkpoints are written here. */
  readonly checkpointDir?: string | undefined
  readonly onProgress?: ((event: ProgressEvent) => void) | undefined
  /** False-negative guard for mined negatives. */
  readonly grader?: Models.Grader | undefined
  /** Data provenance recorded in the checkpoint (e.g. manifest hashes of the input files). */
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrainResult {
  /** The best model by the dev metric when `evaluate` was given, else the final one. */
  readonly model: DualEncoder.DualEncoderModel
  readonly history: ReadonlyArray<HistoryEntry>
  readonly best: { readonly step: number; readonly evaluation: Evaluation } | null
  readonly steps: number
  readonly stoppedEarly: boolean
}

const STATE_VERSION = 1

interface TrainerState {
  formatVersion: number
  epoch: number
  stepInEpoch: number
  globalStep: number
  rowsSha256: string
  argsSha256: string
  best: { step: number; evaluation: Evaluation } | null
  sinceImprovement: number
  history: Array<HistoryEntry>
  mined: Array<Array<string>> | null
  minedEpoch: number
  stoppedEarly: boolean
  /** The temperature's Adagrad sum exactly (the optimizer file keeps it as F32, too coarse for a bitwise resume). */
  temperatureAccumulator?: number
}

/** The args that change what a run computes (resuming with others would mix two runs). */
const argsIdentity = (args: TrainingArgs) => {
  const {
    epochs: _e,
    maxSteps: _m,
    resume: _r,
    progressEvery: _p,
    evaluateEvery: _v,
    checkpointEvery: _c,
    earlyStoppingPatience: _s,
    ...rest
  } = args
  return Hash.hashValue(rest)
}

const invalid = (detail: string, hint?: string) =>
  new TrainingError({ reason: "invalid-args", detail, ...(hint === undefined ? {} : { hint }) })

const validateArgs = (args: TrainingArgs, model: DualEncoder.DualEncoderModel): TrainingError | undefined => {
  const positiveInt = (name: string, v: number) =>
    Number.isInteger(v) && v >= 1 ? undefined : invalid(`${name} must be a positive integer, got ${v}`)
  const bad =
    positiveInt("epochs", args.epochs) ??
    positiveInt("batchSize", args.batchSize) ??
    positiveInt("progressEvery", args.progressEvery) ??
    (args.maxNegativesPerRow >= 0 && Number.isInteger(args.maxNegativesPerRow)
      ? undefined
      : invalid(`maxNegativesPerRow must be an integer ≥ 0`)) ??
    (args.learningRate > 0 && Number.isFinite(args.learningRate)
      ? undefined
      : invalid(`learningRate must be > 0, got ${args.learningRate}`)) ??
    (args.temperature > 0 && Number.isFinite(args.temperature)
      ? undefined
      : invalid(`temperature must be > 0, got ${args.temperature}`)) ??
    (args.evaluateEvery === null ? undefined : positiveInt("evaluateEvery", args.evaluateEvery)) ??
    (args.checkpointEvery === null ? undefined : positiveInt("checkpointEvery", args.checkpointEvery)) ??
    (args.maxSteps === null ? undefined : positiveInt("maxSteps", args.maxSteps))
  if (bad !== undefined) return bad
  // every number that reaches the loss is checked: a NaN would silently switch a term off or poison the weights
  if (!(args.temperatureLearningRate > 0 && Number.isFinite(args.temperatureLearningRate)))
    return invalid(`temperatureLearningRate must be > 0, got ${args.temperatureLearningRate}`)
  if (
    args.falseNegativeMargin !== null &&
    !(args.falseNegativeMargin >= 0 && Number.isFinite(args.falseNegativeMargin))
  )
    return invalid(
      `falseNegativeMargin must be a number >= 0 or null (no margin masking), got ${args.falseNegativeMargin}`
    )
  if (args.gradeScaleMax !== 1 && args.gradeScaleMax !== 2 && args.gradeScaleMax !== 3)
    return invalid(`gradeScaleMax must be 1, 2 or 3, got ${args.gradeScaleMax}`)
  if (!Number.isSafeInteger(args.seed)) return invalid(`seed must be an integer, got ${args.seed}`)
  if (args.earlyStoppingPatience !== null) {
    const p = positiveInt("earlyStoppingPatience", args.earlyStoppingPatience)
    if (p !== undefined) return p
  }
  const hn = args.hardNegatives
  if (hn !== null) {
    const problem =
      positiveInt("hardNegatives.k", hn.k) ??
      (hn.margin >= 0 && hn.margin < 1
        ? undefined
        : invalid(`hardNegatives.margin must be in [0, 1), got ${hn.margin}`)) ??
      (hn.source === "start" || hn.source === "current"
        ? undefined
        : invalid(`hardNegatives.source must be "start" or "current", got ${String(hn.source)}`)) ??
      (Number.isInteger(hn.dimensions) && hn.dimensions >= 1 && hn.dimensions <= model.config.dimensions
        ? undefined
        : invalid(
            `hardNegatives.dimensions must be an integer in 1..${model.config.dimensions}, got ${hn.dimensions}`
          )) ??
      (Number.isFinite(hn.guardMinGrade)
        ? undefined
        : invalid(`hardNegatives.guardMinGrade must be a number, got ${hn.guardMinGrade}`))
    if (problem !== undefined)
      return new TrainingError({
        ...problem,
        hint: 'give every field of hardNegatives: { k: 3, margin: 0.05, source: "start", dimensions: 64, guardMinGrade: 2 }'
      })
  }
  if (args.batchSize < 2) return invalid("batchSize must be at least 2 (in-batch negatives need another row)")
  const dims = args.matryoshkaDimensions ?? model.config.matryoshkaDimensions
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > model.config.dimensions)) {
    return invalid(`matryoshkaDimensions [${dims}] must be integers in 1..${model.config.dimensions}`)
  }
  return undefined
}

/**
 * Everything one step needs, precomputed (text ids, features, weights, negatives). Exposed for gradient checks.
 *
 * @since 0.1.0
 * @category internals
 */
export interface StepContext {
  readonly model: DualEncoder.DualEncoderModel
  readonly args: TrainingArgs
  readonly lossOptions: Loss.LossOptions
  readonly features: ReadonlyArray<Int32Array>
  readonly queryOf: Int32Array
  readonly positiveOf: Int32Array
  readonly weightOf: Float64Array
  negativesOf: ReadonlyArray<Int32Array>
  /** Each row's grade. */
  readonly gradeOf: Int8Array
  /**
   * The best grade ≥ 1 a (query text, document text) pair has among the rows, keyed `query * textCount + doc`: a
   * document is no negative of a row whose grade it reaches (a lower-graded document of the same query is).
   */
  readonly knownGrade: Map<number, number>
  readonly textCount: number
  /** The residual offset of query text q and document text d (`lexicalResidual`), or undefined for none. */
  readonly lexicalOffset?: ((queryText: number, documentText: number) => number) | undefined
}

/**
 * Pools a batch, then computes the loss and its gradients (no update). Exposed for gradient checks.
 *
 * @since 0.1.0
 * @category internals
 */
export const batchLoss = (ctx: StepContext, rows: ReadonlyArray<number>, rng: Sampling.SeededRandom) => {
  const { model } = ctx
  const D = model.config.dimensions
  const pooling = model.config.pooling
  const B = rows.length
  const negIds: Array<number> = []
  for (const r of rows) {
    const negs = ctx.negativesOf[r]!
    if (negs.length <= ctx.args.maxNegativesPerRow) for (const n of negs) negIds.push(n)
    else for (const n of Sampling.sample(Array.from(negs), ctx.args.maxNegativesPerRow, rng)) negIds.push(n)
  }
  const M = negIds.length
  const queries = new Float32Array(B * D)
  const positives = new Float32Array(B * D)
  const negatives = new Float32Array(M * D)
  const weights = new Float64Array(B)
  rows.forEach((r, i) => {
    DualEncoder.poolInto(
      model.queryTable,
      D,
      ctx.features[ctx.queryOf[r]!]!,
      pooling,
      queries,
      i * D,
      model.featureWeights
    )
    DualEncoder.poolInto(
      model.documentTable,
      D,
      ctx.features[ctx.positiveOf[r]!]!,
      pooling,
      positives,
      i * D,
      model.featureWeights
    )
    weights[i] = ctx.weightOf[r]!
  })
  negIds.forEach((n, l) => {
    DualEncoder.poolInto(model.documentTable, D, ctx.features[n]!, pooling, negatives, l * D, model.featureWeights)
  })
  const excludePositive = new Uint8Array(B * B)
  const excludeNegative = new Uint8Array(B * M)
  const T = ctx.textCount
  rows.forEach((ri, i) => {
    const q = ctx.queryOf[ri]!
    const p = ctx.positiveOf[ri]!
    // graded contrast: a document of this query graded below this row's grade stays a negative (the explicit
    // lower-grade negatives are exactly those); one graded as high or higher is masked
    const floor = Math.max(1, ctx.gradeOf[ri]!)
    const masked = (d: number) => d === p || (ctx.knownGrade.get(q * T + d) ?? -1) >= floor
    rows.forEach((rj, j) => {
      if (j !== i && masked(ctx.positiveOf[rj]!)) excludePositive[i * B + j] = 1
    })
    negIds.forEach((n, l) => {
      if (masked(n)) excludeNegative[i * M + l] = 1
    })
  })
  let positiveOffsets: Float64Array | undefined
  let negativeOffsets: Float64Array | undefined
  const offset = ctx.lexicalOffset
  if (offset !== undefined) {
    positiveOffsets = new Float64Array(B * B)
    negativeOffsets = new Float64Array(B * M)
    for (let i = 0; i < B; i++) {
      const q = ctx.queryOf[rows[i]!]!
      for (let j = 0; j < B; j++) positiveOffsets[i * B + j] = offset(q, ctx.positiveOf[rows[j]!]!)
      for (let l = 0; l < M; l++) negativeOffsets[i * M + l] = offset(q, negIds[l]!)
    }
  }
  const result = Loss.compute(
    {
      size: B,
      width: D,
      queries,
      positives,
      negatives,
      negativeCount: M,
      weights,
      excludePositive,
      excludeNegative,
      positiveOffsets,
      negativeOffsets,
      logTemperature: model.logTemperature
    },
    ctx.lossOptions
  )
  return { result, negIds }
}

interface SparseVector {
  readonly index: Int32Array
  readonly value: Float64Array
}

/** α/(1−α) × the lexical channel's q·d, with each text's sparse lexical vector computed once. */
const residualOffset = (
  model: DualEncoder.DualEncoderModel,
  args: TrainingArgs,
  texts: ReadonlyArray<string>
): ((q: number, d: number) => number) | undefined => {
  const lexical = model.lexical
  if (lexical === null || !args.lexicalResidual) return undefined
  const alpha = lexical.config.weight
  if (!(alpha > 0 && alpha < 1)) return undefined
  const scale = alpha / (1 - alpha)
  const cache = { query: new Map<number, SparseVector>(), document: new Map<number, SparseVector>() }
  const vectorOf = (id: number, kind: "query" | "document"): SparseVector => {
    let v = cache[kind].get(id)
    if (v === undefined) {
      const dense = Lexical.encode(lexical, texts[id]!, kind).vector
      const index: Array<number> = []
      for (let j = 0; j < dense.length; j++) if (dense[j] !== 0) index.push(j)
      v = { index: Int32Array.from(index), value: Float64Array.from(index, (j) => dense[j]!) }
      cache[kind].set(id, v)
    }
    return v
  }
  return (q, d) => {
    const a = vectorOf(q, "query")
    const b = vectorOf(d, "document")
    let s = 0
    for (let x = 0, y = 0; x < a.index.length && y < b.index.length; ) {
      const ia = a.index[x]!
      const ib = b.index[y]!
      if (ia === ib) s += a.value[x++]! * b.value[y++]!
      else if (ia < ib) x++
      else y++
    }
    return scale * s
  }
}

/**
 * Scatters pooled-vector gradients to the table rows of each text's features (pooling's chain rule).
 *
 * @since 0.1.0
 * @category internals
 */
export const scatter = (
  ctx: StepContext,
  rows: ReadonlyArray<number>,
  negIds: ReadonlyArray<number>,
  result: Loss.LossResult,
  queryGrads: SparseRows,
  documentGrads: SparseRows
): void => {
  const D = ctx.model.config.dimensions
  const pooling = ctx.model.config.pooling
  const weights = ctx.model.featureWeights
  rows.forEach((r, i) => {
    const qf = ctx.features[ctx.queryOf[r]!]!
    queryGrads.add(qf, result.gradQueries, i * D, DualEncoder.poolingScale(qf.length, pooling), weights)
    const pf = ctx.features[ctx.positiveOf[r]!]!
    documentGrads.add(pf, result.gradPositives, i * D, DualEncoder.poolingScale(pf.length, pooling), weights)
  })
  negIds.forEach((n, l) => {
    const nf = ctx.features[n]!
    documentGrads.add(nf, result.gradNegatives, l * D, DualEncoder.poolingScale(nf.length, pooling), weights)
  })
}

interface Optimizer {
  readonly query: Float32Array
  readonly document: Float32Array
  temperature: number
}

const OPTIMIZER_FILE = "optimizer.safetensors"
const STATE_FILE = "trainer-state.json"
const MIN_LOG_TAU = Math.log(0.005)

const saveLast = (dir: string, model: DualEncoder.DualEncoderModel, optimizer: Optimizer, state: TrainerState) =>
  Effect.try({
    try: () =>
      AtomicFile.writeDirectorySync(path.join(dir, "last"), (temp) => {
        DualEncoder.writeFilesSync(model, temp)
        const tensors: Record<string, Safetensors.Tensor> = {
          "query.accumulator": { shape: [optimizer.query.length], data: optimizer.query },
          "temperature.accumulator": { shape: [1], data: Float32Array.of(optimizer.temperature) }
        }
        if (model.config.towers === "separate")
          tensors["document.accumulator"] = { shape: [optimizer.document.length], data: optimizer.document }
        Safetensors.writeSync(path.join(temp, OPTIMIZER_FILE), { tensors, metadata: { format: "ssra-row-adagrad" } })
        fs.writeFileSync(
          path.join(temp, STATE_FILE),
          JSON.stringify({ ...state, temperatureAccumulator: optimizer.temperature }) + "\n"
        )
      }),
    catch: (cause) =>
      cause instanceof CheckpointError
        ? cause
        : new CheckpointError({
            path: path.join(dir, "last"),
            reason: "io",
            detail: String((cause as Error)?.message ?? cause)
          })
  })

const loadLast = (dir: string) =>
  Effect.try({
    try: () => {
      const last = path.join(dir, "last")
      const model = DualEncoder.loadSync(last)
      const opt = Safetensors.readSync(path.join(last, OPTIMIZER_FILE))
      const state = JSON.parse(fs.readFileSync(path.join(last, STATE_FILE), "utf8")) as TrainerState
      if (state.formatVersion !== STATE_VERSION) {
        throw new CheckpointError({
          path: path.join(last, STATE_FILE),
          reason: "version",
          detail: `trainer state version ${state.formatVersion} is not ${STATE_VERSION}`
        })
      }
      const q = opt.tensors["query.accumulator"]?.data
      const d = model.config.towers === "separate" ? opt.tensors["document.accumulator"]?.data : q
      if (q === undefined || d === undefined || q.length !== model.config.featurizer.buckets) {
        throw new CheckpointError({
          path: path.join(last, OPTIMIZER_FILE),
          reason: "corrupt",
          detail: "optimizer accumulators missing or of the wrong size"
        })
      }
      const optimizer: Optimizer = {
        query: q,
        document: d,
        temperature:
          typeof state.temperatureAccumulator === "number" && Number.isFinite(state.temperatureAccumulator)
            ? state.temperatureAccumulator
            : (opt.tensors["temperature.accumulator"]?.data[0] ?? 0)
      }
      return { model, optimizer, state }
    },
    catch: (cause) =>
      cause instanceof CheckpointError
        ? cause
        : new CheckpointError({
            path: path.join(dir, "last"),
            reason: "corrupt",
            detail: String((cause as Error)?.message ?? cause)
          })
  })

/**
 * Checks rows and args before any work: an empty set, a batch larger than the data, a grade outside the scale,
 * a negative or non-finite weight, an empty text — each a `TrainingError` naming the row.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  args: TrainingArgs
): TrainingError | undefined => {
  if (rows.length === 0)
    return new TrainingError({
      reason: "empty",
      detail: "the training set has no rows",
      hint: "check the input file and the weight scheme's filters"
    })
  if (args.batchSize > rows.length) {
    return new TrainingError({
      reason: "batch-size",
      detail: `batch size ${args.batchSize} is larger than the ${rows.length} training rows`,
      hint: `use batchSize ≤ ${rows.length}`
    })
  }
  const scale = Grade.scale(args.gradeScaleMax)
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    if (!Grade.isOnScale(scale, r.grade)) {
      return new TrainingError({
        reason: "grade",
        row: i,
        detail: `grade ${r.grade} is outside the scale 0..${scale.max}`,
        hint: "set args.gradeScaleMax to the dataset's scale or fix the row"
      })
    }
    if (!Number.isFinite(r.weight) || r.weight < 0)
      return new TrainingError({ reason: "weight", row: i, detail: `weight ${r.weight} must be finite and ≥ 0` })
  }
  if (!rows.some((r) => r.weight > 0))
    return new TrainingError({
      reason: "weight",
      detail: "every row has weight 0: nothing to learn",
      hint: "with the raw scheme grade-0 rows weigh 0; add graded positives"
    })
  return undefined
}

/** Rows featurized between two yields of `train`. */
const FEATURIZE_SLICE = 500

/**
 * Trains `options.model` in place and returns it (or the best checkpoint) with the history.
 *
 * @since 0.1.0
 * @category training
 */
export const train = <E = never, R = never>(
  options: TrainOptions<E, R>
): Effect.Effect<TrainResult, TrainingError | CheckpointError | Models.ModelError | E, R> =>
  Effect.gen(function* () {
    const args: TrainingArgs = { ...defaultArgs, ...options.args }
    const rows = options.rows
    const argError = validateArgs(args, options.model) ?? validate(rows, args)
    if (argError !== undefined) return yield* argError
    const checkpointDir = options.checkpointDir
    const rowsSha256 = Hash.hashValue(rows)
    const argsSha256 = argsIdentity(args)
    let model = options.model
    let optimizer: Optimizer = {
      query: new Float32Array(model.config.featurizer.buckets),
      document:
        model.config.towers === "shared" ? new Float32Array(0) : new Float32Array(model.config.featurizer.buckets),
      temperature: 0
    }
    if (model.config.towers === "shared") (optimizer as { document: Float32Array }).document = optimizer.query
    let state: TrainerState = {
      formatVersion: STATE_VERSION,
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      rowsSha256,
      argsSha256,
      best: null,
      sinceImprovement: 0,
      history: [],
      mined: null,
      minedEpoch: -1,
      stoppedEarly: false
    }
    let resumed = false
    // a kill in the middle of replacing last/ leaves the new copy beside it: put it in place before looking
    if (args.resume && checkpointDir !== undefined) AtomicFile.recoverDirectorySync(path.join(checkpointDir, "last"))
    if (args.resume && checkpointDir !== undefined && fs.existsSync(path.join(checkpointDir, "last", STATE_FILE))) {
      const last = yield* loadLast(checkpointDir)
      if (last.state.rowsSha256 !== rowsSha256 || last.state.argsSha256 !== argsSha256) {
        return yield* new TrainingError({
          reason: "resume",
          detail: `${path.join(checkpointDir, "last")} was trained on other ${last.state.rowsSha256 !== rowsSha256 ? "rows" : "arguments"}`,
          hint: "resume with the same rows and args, or use a fresh checkpoint directory"
        })
      }
      model = last.model
      optimizer = last.optimizer
      state = last.state
      resumed = true
    } else {
      model.logTemperature = Math.log(args.temperature)
    }
    model.provenance = { training: args, data: { rows: rows.length, rowsSha256, ...options.data } }

    // text ids and features, once
    const textIds = new Map<string, number>()
    const features: Array<Int32Array> = []
    const texts: Array<string> = []
    const idOf = (text: string, row: number, field: string): number => {
      let id = textIds.get(text)
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
      textIds.set(text, id)
      return id
    }
    const queryOf = new Int32Array(rows.length)
    const positiveOf = new Int32Array(rows.length)
    const weightOf = new Float64Array(rows.length)
    const explicitNegatives: Array<Int32Array> = []
    // featurizing every text takes seconds on a full set: in slices, yielding between them so an interruption
    // gets in (the same ids in the same order as one pass)
    for (let from = 0; from < rows.length; from += FEATURIZE_SLICE) {
      const to = Math.min(rows.length, from + FEATURIZE_SLICE)
      yield* Effect.try({
        try: () => {
          for (let i = from; i < to; i++) {
            const r = rows[i]!
            queryOf[i] = idOf(r.query, i, "query")
            positiveOf[i] = idOf(r.positive, i, "positive")
            weightOf[i] = r.weight
            explicitNegatives.push(Int32Array.from(r.negatives, (n, k) => idOf(n, i, `negatives[${k}]`)))
          }
        },
        catch: (cause) =>
          cause instanceof TrainingError ? cause : new TrainingError({ reason: "featurize", detail: String(cause) })
      })
      yield* Effect.yieldNow
    }
    const knownGrade = new Map<number, number>()
    const ctx: StepContext = {
      model,
      args,
      lossOptions: {
        dimensions: args.matryoshkaDimensions ?? model.config.matryoshkaDimensions,
        queryQuery: args.queryQuery,
        documentDocument: args.documentDocument,
        falseNegativeMargin: args.falseNegativeMargin
      },
      features,
      queryOf,
      positiveOf,
      weightOf,
      negativesOf: explicitNegatives,
      gradeOf: Int8Array.from(rows, (r) => r.grade),
      knownGrade,
      // text ids of mined negatives are added later; size the key space generously
      textCount: 1 << 26,
      lexicalOffset: residualOffset(model, args, texts)
    }
    rows.forEach((r, i) => {
      if (r.grade < 1) return
      const key = queryOf[i]! * ctx.textCount + positiveOf[i]!
      knownGrade.set(key, Math.max(r.grade, knownGrade.get(key) ?? 0))
    })
    const applyMined = (mined: ReadonlyArray<ReadonlyArray<string>>) =>
      Effect.try({
        try: () => {
          ctx.negativesOf = explicitNegatives.map((ex, i) => {
            const extra = mined[i]!
            if (extra.length === 0) return ex
            const out = new Int32Array(ex.length + extra.length)
            out.set(ex)
            extra.forEach((t, k) => {
              out[ex.length + k] = idOf(t, i, "mined negative")
            })
            return out
          })
        },
        catch: (cause) =>
          cause instanceof TrainingError ? cause : new TrainingError({ reason: "featurize", detail: String(cause) })
      })
    const mineNow = Effect.gen(function* () {
      const hn = args.hardNegatives!
      const result = yield* HardNegativeMiner.mine({
        model,
        rows,
        k: hn.k,
        margin: hn.margin,
        dimensions: Math.min(hn.dimensions, model.config.dimensions),
        grader: options.grader,
        guardMinGrade: hn.guardMinGrade
      })
      state.mined = result.mined.map((m) => m.slice())
      yield* applyMined(result.mined)
    })
    if (state.mined !== null) yield* applyMined(state.mined)

    const D = model.config.dimensions
    const queryGrads = new SparseRows(model.config.featurizer.buckets, D)
    const documentGrads =
      model.config.towers === "shared" ? queryGrads : new SparseRows(model.config.featurizer.buckets, D)
    const rowIndices = Array.from(rows, (_, i) => i)
    const batchesOf = (epoch: number) =>
      makeBatches(
        Sampling.shuffle(rowIndices, Sampling.hashSeed(`${args.seed}/epoch/${epoch}`)),
        queryOf,
        positiveOf,
        args.batchSize
      )
    const stepsPerEpoch = batchesOf(0).length
    if (stepsPerEpoch === 0) {
      return yield* new TrainingError({
        reason: "batch-size",
        detail: "no batch of two rows with distinct queries and documents could be formed",
        hint: "add rows with other queries"
      })
    }
    const totalSteps = Math.min(args.epochs * stepsPerEpoch, args.maxSteps ?? Number.POSITIVE_INFINITY)
    let bestModel: DualEncoder.DualEncoderModel | null = null
    const startTime = yield* Clock.currentTimeMillis
    const startStep = state.globalStep
    let pairsThisRun = 0
    let lossSum = 0
    let lossSteps = 0
    let maskedSum = 0

    const evaluateNow = (epoch: number, loss: number) =>
      Effect.gen(function* () {
        if (options.evaluate === undefined) return
        const evaluation = yield* options.evaluate(model)
        if (!Number.isFinite(evaluation.primary)) {
          return yield* new TrainingError({
            reason: "non-finite",
            step: state.globalStep,
            detail: `evaluation's primary metric is ${evaluation.primary}`
          })
        }
        state.history.push({ step: state.globalStep, epoch, loss, evaluation })
        if (state.best === null || evaluation.primary > state.best.evaluation.primary) {
          state.best = { step: state.globalStep, evaluation }
          state.sinceImprovement = 0
          if (checkpointDir !== undefined) yield* DualEncoder.save(model, path.join(checkpointDir, "best"))
          else bestModel = DualEncoder.clone(model)
        } else state.sinceImprovement++
        if (args.earlyStoppingPatience !== null && state.sinceImprovement >= args.earlyStoppingPatience)
          state.stoppedEarly = true
      })

    let lastEvaluatedStep = -1
    let lastLoss = Number.NaN
    training: for (; state.epoch < args.epochs; state.epoch++, state.stepInEpoch = 0) {
      if (
        args.hardNegatives !== null &&
        (state.minedEpoch < 0 || (args.hardNegatives.source === "current" && state.minedEpoch < state.epoch))
      ) {
        yield* mineNow
        state.minedEpoch = state.epoch
      }
      const batches = batchesOf(state.epoch)
      for (; state.stepInEpoch < batches.length; ) {
        if (state.stoppedEarly || (args.maxSteps !== null && state.globalStep >= args.maxSteps)) break training
        const batch = batches[state.stepInEpoch]!
        const rng = new Sampling.SeededRandom(Sampling.hashSeed(`${args.seed}/step/${state.globalStep}`))
        const { result, negIds } = batchLoss(ctx, batch, rng)
        if (!Number.isFinite(result.loss)) {
          return yield* new TrainingError({
            reason: "non-finite",
            step: state.globalStep,
            detail: `loss is ${result.loss}`,
            hint: "lower the learning rate or raise the temperature"
          })
        }
        queryGrads.clear()
        documentGrads.clear()
        scatter(ctx, batch, negIds, result, queryGrads, documentGrads)
        if (
          queryGrads.firstNonFinite() >= 0 ||
          documentGrads.firstNonFinite() >= 0 ||
          !Number.isFinite(result.gradLogTemperature)
        ) {
          return yield* new TrainingError({
            reason: "non-finite",
            step: state.globalStep,
            detail: "a gradient is NaN or infinite; weights left unchanged"
          })
        }
        adagradRows(model.queryTable, optimizer.query, queryGrads, args.learningRate)
        if (documentGrads !== queryGrads)
          adagradRows(model.documentTable, optimizer.document, documentGrads, args.learningRate)
        if (args.learnTemperature) {
          const g = result.gradLogTemperature
          optimizer.temperature += g * g
          model.logTemperature -= (args.temperatureLearningRate * g) / (Math.sqrt(optimizer.temperature) + 1e-10)
          model.logTemperature = Math.min(0, Math.max(MIN_LOG_TAU, model.logTemperature))
        }
        state.stepInEpoch++
        state.globalStep++
        pairsThisRun += batch.length
        lossSum += result.loss
        lossSteps++
        maskedSum += result.masked
        lastLoss = result.loss
        if (state.globalStep % args.progressEvery === 0 || state.globalStep === totalSteps) {
          const now = yield* Clock.currentTimeMillis
          const seconds = Math.max(1e-3, (now - startTime) / 1000)
          const rate = pairsThisRun / seconds
          const stepsPerSecond = (state.globalStep - startStep) / seconds
          const meanLoss = lossSum / lossSteps
          state.history.push({ step: state.globalStep, epoch: state.epoch, loss: meanLoss })
          options.onProgress?.({
            step: state.globalStep,
            totalSteps,
            epoch: state.epoch,
            loss: meanLoss,
            pairsPerSecond: rate,
            etaSeconds: Math.max(0, totalSteps - state.globalStep) / stepsPerSecond,
            temperature: Math.exp(model.logTemperature),
            masked: maskedSum
          })
          lossSum = 0
          lossSteps = 0
          maskedSum = 0
        }
        if (args.evaluateEvery !== null && state.globalStep % args.evaluateEvery === 0) {
          yield* evaluateNow(state.epoch, lastLoss)
          lastEvaluatedStep = state.globalStep
        }
        if (
          checkpointDir !== undefined &&
          args.checkpointEvery !== null &&
          state.globalStep % args.checkpointEvery === 0
        ) {
          yield* saveLast(checkpointDir, model, optimizer, state)
        }
        yield* Effect.yieldNow
      }
    }
    if (lastEvaluatedStep !== state.globalStep && !state.stoppedEarly && (!resumed || state.globalStep > startStep)) {
      yield* evaluateNow(Math.min(state.epoch, args.epochs - 1), lastLoss)
    }
    if (checkpointDir !== undefined) yield* saveLast(checkpointDir, model, optimizer, state)
    let finalModel = model
    if (state.best !== null && options.evaluate !== undefined) {
      if (bestModel !== null) finalModel = bestModel
      else if (checkpointDir !== undefined && fs.existsSync(path.join(checkpointDir, "best")))
        finalModel = yield* DualEncoder.load(path.join(checkpointDir, "best"))
    }
    return {
      model: finalModel,
      history: state.history,
      best: state.best,
      steps: state.globalStep,
      stoppedEarly: state.stoppedEarly
    }
  })
