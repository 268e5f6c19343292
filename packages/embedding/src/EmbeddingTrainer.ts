/**
 * Trains a dual encoder on grade-weighted rows: seeded batches with no repeated query or document, the SSRA loss
 * (`Loss`), sparse row-wise Adagrad on the embedding tables, optional hard-negative mining, progress events,
 * evaluation every N steps with best-checkpoint keeping and early stopping, and checkpoints (weights, optimizer
 * state, trainer state) from which a run resumes exactly where it stopped.
 *
 * The runner: its arguments are `TrainingArgs` (a Schema), the dataset (interning, batches, the miner's hand-off),
 * one step (loss, gradients, update) and the checkpoints live in `internal/`; `train` wires them and runs the loop.
 *
 * @since 0.1.0
 */
import { Grade, Hash, type Models, type TrainingRow } from "@ssra/core"
import { Clock, Effect, Result } from "effect"
import type { CheckpointError } from "./CheckpointError.js"
import * as DualEncoder from "./DualEncoder.js"
import * as Checkpoint from "./internal/checkpoint.js"
import * as Dataset from "./internal/dataset.js"
import * as Step from "./internal/step.js"
import * as Args from "./TrainingArgs.js"
import { TrainingError } from "./TrainingError.js"

/**
 * Hard-negative mining settings (`TrainingArgs.HardNegativeArgs`).
 *
 * @since 0.1.0
 * @category models
 */
export type HardNegativeArgs = Args.HardNegativeArgs

/**
 * The trainer's arguments (`TrainingArgs.TrainingArgs`, a Schema with field-level validation).
 *
 * @since 0.1.0
 * @category models
 */
export type TrainingArgs = Args.TrainingArgs

/**
 * The measured-best settings: batch 128, Adagrad lr 0.05, τ = 0.05 fixed, margin masking 0.1, 3 epochs
 * (`TrainingArgs.defaults`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultArgs: TrainingArgs = Args.defaults

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
  /** Any subset of the arguments; the rest from `defaultArgs`. */
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

/** A run in progress: what it trains, where it stands, and the counters since the last progress event. */
interface Run<E, R> {
  readonly options: TrainOptions<E, R>
  readonly args: TrainingArgs
  readonly model: DualEncoder.DualEncoderModel
  readonly optimizer: Step.Optimizer
  readonly state: Checkpoint.TrainerState
  readonly resumed: boolean
  readonly data: Dataset.Dataset
  readonly ctx: Step.StepContext
  readonly grads: Step.Gradients
  readonly totalSteps: number
  readonly startTime: number
  readonly startStep: number
  /** The best model, kept in memory when there is no checkpoint directory. */
  bestModel: DualEncoder.DualEncoderModel | null
  pairsThisRun: number
  lossSum: number
  lossSteps: number
  maskedSum: number
  lastEvaluatedStep: number
  lastLoss: number
}

/** The args decoded over the defaults, then checked against the model and the rows. */
const checkedArgs = (
  options: Pick<TrainOptions, "args" | "model" | "rows">
): Effect.Effect<TrainingArgs, TrainingError> => {
  const decoded = Args.decode(options.args ?? {})
  if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
  const args = decoded.success
  const error = Args.checkModel(args, options.model) ?? validate(options.rows, args)
  return error === undefined ? Effect.succeed(args) : Effect.fail(error)
}

/** The run's model, optimizer and state: read back from `<checkpointDir>/last` with `resume`, else fresh. */
const start = (options: Pick<TrainOptions, "model" | "rows" | "checkpointDir">, args: TrainingArgs) =>
  Effect.gen(function* () {
    const rowsSha256 = Hash.hashValue(options.rows)
    const argsSha256 = Checkpoint.argsIdentity(args)
    const dir = options.checkpointDir
    const resumed = args.resume && dir !== undefined ? yield* Checkpoint.resume(dir, rowsSha256, argsSha256) : undefined
    if (resumed !== undefined) return { ...resumed, rowsSha256, resumed: true }
    const model = options.model
    model.logTemperature = Math.log(args.temperature)
    return {
      model,
      optimizer: Step.freshOptimizer(model),
      state: Checkpoint.freshState(rowsSha256, argsSha256),
      rowsSha256,
      resumed: false
    }
  })

/** Sets up a run: the checkpoint or a fresh start, the interned rows, mined negatives a resumed run had. */
const prepare = <E, R>(options: TrainOptions<E, R>, args: TrainingArgs) =>
  Effect.gen(function* () {
    const { model, optimizer, state, rowsSha256, resumed } = yield* start(options, args)
    const rows = options.rows
    model.provenance = { training: args, data: { rows: rows.length, rowsSha256, ...options.data } }
    const data = yield* Dataset.intern(model, rows)
    const ctx = Dataset.stepContext(model, args, data)
    if (state.mined !== null) yield* Dataset.applyMined(ctx, data, state.mined)
    const grads = Step.makeGradients(model)
    const stepsPerEpoch = Dataset.batchesOf(data, args, 0).length
    if (stepsPerEpoch === 0) {
      return yield* new TrainingError({
        reason: "batch-size",
        detail: "no batch of two rows with distinct queries and documents could be formed",
        hint: "add rows with other queries"
      })
    }
    const run: Run<E, R> = {
      options,
      args,
      model,
      optimizer,
      state,
      resumed,
      data,
      ctx,
      grads,
      totalSteps: Math.min(args.epochs * stepsPerEpoch, args.maxSteps ?? Number.POSITIVE_INFINITY),
      startTime: yield* Clock.currentTimeMillis,
      startStep: state.globalStep,
      bestModel: null,
      pairsThisRun: 0,
      lossSum: 0,
      lossSteps: 0,
      maskedSum: 0,
      lastEvaluatedStep: -1,
      lastLoss: Number.NaN
    }
    return run
  })

/** Evaluates the model (when the caller gave `evaluate`): history, best checkpoint, early stopping. */
const evaluateNow = <E, R>(run: Run<E, R>, epoch: number, loss: number) =>
  Effect.gen(function* () {
    const { options, state, model } = run
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
      if (options.checkpointDir !== undefined) yield* Checkpoint.saveBest(options.checkpointDir, model)
      else run.bestModel = DualEncoder.clone(model)
    } else state.sinceImprovement++
    if (run.args.earlyStoppingPatience !== null && state.sinceImprovement >= run.args.earlyStoppingPatience)
      state.stoppedEarly = true
  })

/** The progress event of the steps since the previous one (recorded in the history too). */
const report = <E, R>(run: Run<E, R>) =>
  Effect.gen(function* () {
    const { state } = run
    const now = yield* Clock.currentTimeMillis
    const seconds = Math.max(1e-3, (now - run.startTime) / 1000)
    const stepsPerSecond = (state.globalStep - run.startStep) / seconds
    const meanLoss = run.lossSum / run.lossSteps
    state.history.push({ step: state.globalStep, epoch: state.epoch, loss: meanLoss })
    run.options.onProgress?.({
      step: state.globalStep,
      totalSteps: run.totalSteps,
      epoch: state.epoch,
      loss: meanLoss,
      pairsPerSecond: run.pairsThisRun / seconds,
      etaSeconds: Math.max(0, run.totalSteps - state.globalStep) / stepsPerSecond,
      temperature: Math.exp(run.model.logTemperature),
      masked: run.maskedSum
    })
    run.lossSum = 0
    run.lossSteps = 0
    run.maskedSum = 0
  })

/** One step on `batch`, then whatever falls due at the new step: a progress event, an evaluation, a checkpoint. */
const step = <E, R>(run: Run<E, R>, batch: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const { args, state } = run
    const result = Step.trainStep(run.ctx, run.optimizer, run.grads, batch, state.globalStep)
    if (result instanceof TrainingError) return yield* result
    state.stepInEpoch++
    state.globalStep++
    run.pairsThisRun += batch.length
    run.lossSum += result.loss
    run.lossSteps++
    run.maskedSum += result.masked
    run.lastLoss = result.loss
    if (state.globalStep % args.progressEvery === 0 || state.globalStep === run.totalSteps) yield* report(run)
    if (args.evaluateEvery !== null && state.globalStep % args.evaluateEvery === 0) {
      yield* evaluateNow(run, state.epoch, run.lastLoss)
      run.lastEvaluatedStep = state.globalStep
    }
    const dir = run.options.checkpointDir
    if (dir !== undefined && args.checkpointEvery !== null && state.globalStep % args.checkpointEvery === 0)
      yield* Checkpoint.saveLast(dir, run.model, run.optimizer, state)
    yield* Effect.yieldNow
  })

/** The loop: epoch by epoch (mining first where due), step by step, until done, `maxSteps` or an early stop. */
const loop = <E, R>(run: Run<E, R>) =>
  Effect.gen(function* () {
    const { args, state } = run
    training: for (; state.epoch < args.epochs; state.epoch++, state.stepInEpoch = 0) {
      if (args.hardNegatives !== null && Dataset.minesAt(args.hardNegatives, state.minedEpoch, state.epoch)) {
        state.mined = yield* Dataset.mine(run.model, run.data.rows, args.hardNegatives, run.options.grader)
        yield* Dataset.applyMined(run.ctx, run.data, state.mined)
        state.minedEpoch = state.epoch
      }
      const batches = Dataset.batchesOf(run.data, args, state.epoch)
      while (state.stepInEpoch < batches.length) {
        if (state.stoppedEarly || (args.maxSteps !== null && state.globalStep >= args.maxSteps)) break training
        yield* step(run, batches[state.stepInEpoch]!)
      }
    }
  })

/** The final evaluation (unless the last step had one), the last checkpoint, and the model to return. */
const finish = <E, R>(run: Run<E, R>) =>
  Effect.gen(function* () {
    const { args, state, options } = run
    const dir = options.checkpointDir
    if (
      run.lastEvaluatedStep !== state.globalStep &&
      !state.stoppedEarly &&
      (!run.resumed || state.globalStep > run.startStep)
    ) {
      yield* evaluateNow(run, Math.min(state.epoch, args.epochs - 1), run.lastLoss)
    }
    if (dir !== undefined) yield* Checkpoint.saveLast(dir, run.model, run.optimizer, state)
    let model = run.model
    if (state.best !== null && options.evaluate !== undefined) {
      if (run.bestModel !== null) model = run.bestModel
      else if (dir !== undefined) model = (yield* Checkpoint.loadBest(dir)) ?? model
    }
    const result: TrainResult = {
      model,
      history: state.history,
      best: state.best,
      steps: state.globalStep,
      stoppedEarly: state.stoppedEarly
    }
    return result
  })

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
    const args = yield* checkedArgs(options)
    const run = yield* prepare(options, args)
    yield* loop(run)
    return yield* finish(run)
  })
