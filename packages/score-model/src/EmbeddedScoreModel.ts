/**
 * The default score model, no LLM needed: pair features (`Features`) standardized and fed to a small
 * classifier — a one-hidden-layer softmax network, or an ordinal cumulative-logit (proportional odds) head —
 * trained with class weights for the rare grades, early-stopped and temperature-calibrated on a held-out split
 * of queries. Works on any scale (0–1, 0–2, 0–3); saves to JSON weights + config and loads back bit-identical.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Grade, Hash, Models, type Pair, Sampling } from "@ssra/core"
import { Effect, Schema } from "effect"
import { bm25Threshold, majority } from "./Baselines.js"
import * as Features from "./Features.js"
import * as network from "./internal/network.js"
import { ScoreCheckpointError, ScoreTrainingError } from "./ScoreModelError.js"
import * as TrainingReport from "./TrainingReport.js"

/**
 * A labeled pair as training reads it (`qid` groups the held-out split; the query text is used without it).
 *
 * @since 0.1.0
 * @category models
 */
export interface TrainingPair extends Pair.QueryDocument {
  readonly label: number
  readonly qid?: string | undefined
}

/**
 * Classifier options.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassifierOptions {
  /** `softmax` (default): one probability per grade; `cumulative`: proportional-odds ordinal head. */
  readonly head?: "softmax" | "cumulative" | undefined
  /** Hidden tanh units; 0 gives a linear model (with `cumulative`: classic ordinal logistic regression). Default 32. */
  readonly hidden?: number | undefined
  /** Most epochs (default 40); training stops earlier after `patience` epochs (default 8) without a lower held-out loss. */
  readonly epochs?: number | undefined
  /** Default 128. */
  readonly batchSize?: number | undefined
  /** Adam step size (default 0.001 with a hidden layer, 0.01 for a linear model). */
  readonly learningRate?: number | undefined
  /** L2 penalty on weight matrices (default 1e-4). */
  readonly l2?: number | undefined
  readonly patience?: number | undefined
}

/**
 * Training options.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrainOptions {
  readonly pairs: ReadonlyArray<TrainingPair>
  /** The grade scale; inferred from the labels when absent. */
  readonly scale?: Grade.GradeScale | undefined
  /** Adds the embedder's query–document cosine as a feature (e.g. the trained `DualEncoder`). */
  readonly embedder?: Models.TextEmbedder | undefined
  readonly seed: number
  readonly classifier?: ClassifierOptions | undefined
  /**
   * Class weights against grade imbalance: `sqrt` (default) the square root of `balanced` (n / (k · n_c)),
   * a compromise that lifts rare grades' recall while keeping accuracy and calibration; `none`: all 1.
   */
  readonly classWeights?: "balanced" | "sqrt" | "none" | undefined
  /** Share of queries held out for early stopping, calibration and the report (default 0.1). */
  readonly heldOutFraction?: number | undefined
  /** Documents kept (seeded sample) for BM25/word IDF; saved with the model (default 5000). */
  readonly corpusSize?: number | undefined
  /** Called after each training epoch (early stopping may end the fit before `total`). */
  readonly onProgress?: ((event: TrainProgress) => void) | undefined
}

/**
 * A training progress event: `done` of at most `total` epochs of the classifier fit.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrainProgress {
  readonly task: "fit"
  readonly done: number
  readonly total: number
  readonly unit: "epochs"
}

/**
 * What `config.json` holds: everything needed to rebuild the model besides the weights and the IDF corpus.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Config = Schema.Struct({
  format: Schema.Literal("ssra/embedded-score-model"),
  version: Schema.Literal(1),
  id: Schema.String,
  scale: Grade.GradeScale,
  featureNames: Schema.Array(Schema.String),
  embedder: Schema.NullOr(Schema.Struct({ id: Schema.String, dimensions: Schema.Number })),
  network: Schema.Struct({
    inputs: Schema.Int,
    hidden: Schema.Int,
    classes: Schema.Int,
    head: Schema.Literals(["softmax", "cumulative"])
  }),
  temperature: Schema.Finite,
  standardizer: Schema.Struct({ mean: Schema.Array(Schema.Finite), std: Schema.Array(Schema.Finite) }),
  classWeights: Schema.Array(Schema.Finite),
  training: Schema.Struct({
    seed: Schema.Int,
    pairs: Schema.Int,
    trainRows: Schema.Int,
    heldOutRows: Schema.Int,
    epochs: Schema.Int,
    bestEpoch: Schema.Int,
    classWeights: Schema.Literals(["balanced", "sqrt", "none"]),
    heldOutFraction: Schema.Finite,
    options: Schema.Struct({
      epochs: Schema.Int,
      batchSize: Schema.Int,
      learningRate: Schema.Finite,
      l2: Schema.Finite,
      patience: Schema.Int
    })
  }),
  report: Schema.Unknown,
  files: Schema.Struct({ weights: Schema.String, corpus: Schema.String })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Config = typeof Config.Type

/**
 * The held-out report written at training time.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeldOutReport {
  /** The model on the held-out split (after calibration). */
  readonly model: TrainingReport.Evaluation
  /** Calibration before temperature scaling, for comparison. */
  readonly uncalibrated: TrainingReport.Calibration
  readonly majority: TrainingReport.Evaluation
  readonly bm25Threshold: TrainingReport.Evaluation
  readonly history: ReadonlyArray<{ readonly epoch: number; readonly trainLoss: number; readonly validLoss: number }>
}

/**
 * A trained embedded score model: a core `Grader` plus its configuration and feature access.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbeddedScoreModel extends Models.Grader {
  readonly kind: "embedded"
  readonly config: Config
  readonly embedder: Models.TextEmbedder | undefined
  /** The raw (unstandardized) features the model sees for these pairs. */
  readonly features: (
    pairs: ReadonlyArray<Pair.QueryDocument>
  ) => Effect.Effect<Features.FeatureMatrix, Models.ModelError>
}

interface State {
  readonly config: Config
  readonly params: Float64Array
  readonly corpus: ReadonlyArray<string>
  readonly resources: Features.LexicalResources
  readonly embedder: Models.TextEmbedder | undefined
}

const shapeOf = (c: Config): network.NetworkShape => c.network

const build = (state: State): EmbeddedScoreModel => {
  const { config, params, resources, embedder } = state
  const shape = shapeOf(config)
  const features = (pairs: ReadonlyArray<Pair.QueryDocument>) => Features.extract(resources, pairs, embedder)
  const grade = (pairs: ReadonlyArray<Pair.QueryDocument>) =>
    Effect.gen(function* () {
      if (pairs.length === 0) return []
      yield* Features.requireText(config.id, pairs)
      const m = yield* features(pairs)
      const x = Features.standardize(m, config.standardizer)
      const probs = network.probabilities(
        shape,
        network.forwardRaw(shape, params, x, m.rows),
        m.rows,
        config.temperature
      )
      const K = shape.classes
      const out: Array<Models.GradeJudgment> = new Array(m.rows)
      for (let r = 0; r < m.rows; r++) {
        const p = Array.from(probs.subarray(r * K, (r + 1) * K))
        out[r] = { grade: Models.argmaxGrade(p), probabilities: p, expected: Models.expectedGrade(p) }
      }
      return out as ReadonlyArray<Models.GradeJudgment>
    })
  return { id: config.id, kind: "embedded", scale: config.scale, config, embedder, features, grade }
}

const internals = new WeakMap<EmbeddedScoreModel, State>()

const register = (state: State): EmbeddedScoreModel => {
  const model = build(state)
  internals.set(model, state)
  return model
}

const classWeightsOf = (counts: ReadonlyArray<number>, mode: "balanced" | "sqrt" | "none"): Array<number> => {
  const total = counts.reduce((s, c) => s + c, 0)
  const K = counts.length
  const raw = counts.map((c) => (mode === "none" || c === 0 ? 1 : (total / (K * c)) ** (mode === "sqrt" ? 0.5 : 1)))
  // normalize so the mean weight per training row is 1 (keeps the learning rate meaningful)
  let mean = 0
  for (let k = 0; k < K; k++) mean += (raw[k]! * counts[k]!) / Math.max(1, total)
  return raw.map((w) => w / (mean > 0 ? mean : 1))
}

/** Most milliseconds of fitting between two yields, so an interruption stops the fit promptly. */
const YIELD_EVERY_MS = 50

/**
 * Runs a stepwise fit, yielding to the runtime after every epoch and at least every `YIELD_EVERY_MS` within one
 * (an interruption ends it between two minibatches). Yielding only lets other fibers run: the weights are the
 * same as one synchronous `network.fit` call.
 */
const runFitter = (
  fitter: network.Fitter,
  epochs: number,
  onProgress: ((event: TrainProgress) => void) | undefined
): Effect.Effect<network.FitResult> =>
  Effect.gen(function* () {
    let since = performance.now()
    for (;;) {
      const step = fitter.step()
      if (step !== "batch") onProgress?.({ task: "fit", done: fitter.epoch(), total: epochs, unit: "epochs" })
      if (step === "done") return fitter.result()
      if (step === "epoch" || performance.now() - since >= YIELD_EVERY_MS) {
        yield* Effect.yieldNow
        since = performance.now()
      }
    }
  })

/** Checks the labeled pairs — some, all with text, labels integers 0..3 within the scale — and returns the scale. */
const checkPairs = (pairs: ReadonlyArray<TrainingPair>, given: Grade.GradeScale | undefined) =>
  Effect.gen(function* () {
    if (pairs.length === 0) {
      return yield* new ScoreTrainingError({
        reason: "no-pairs",
        detail: "no labeled pairs to train on",
        hint: "pass the labeled set, e.g. data/<set>/labeled.jsonl"
      })
    }
    const empty = Features.firstEmpty(pairs)
    if (empty !== undefined) {
      return yield* new ScoreTrainingError({
        reason: "empty-text",
        detail: `pair ${empty.index} has an empty ${empty.field === "doc" ? "document" : "query"}`,
        hint: "drop pairs without text before training"
      })
    }
    for (let i = 0; i < pairs.length; i++) {
      const l = pairs[i]!.label
      if (!Number.isInteger(l) || l < 0 || l > 3) {
        return yield* new ScoreTrainingError({
          reason: "label-off-scale",
          detail: `pair ${i} (query ${JSON.stringify(pairs[i]!.query)}) has label ${l}`,
          hint: "labels are integers 0..3"
        })
      }
    }
    const scale = given ?? Grade.inferScale(pairs.map((p) => p.label))
    const bad = pairs.findIndex((p) => p.label > scale.max)
    if (bad >= 0) {
      return yield* new ScoreTrainingError({
        reason: "label-off-scale",
        detail: `pair ${bad} has label ${pairs[bad]!.label} but the scale stops at ${scale.max}`,
        hint: "pass the dataset's scale or fix the label"
      })
    }
    return scale
  })

/** The classifier's settings with their defaults, checked: head, hidden width, fit options, held-out share. */
const classifierSettings = (options: TrainOptions) =>
  Effect.gen(function* () {
    const c = options.classifier ?? {}
    const head = c.head ?? "softmax"
    const hidden = c.hidden ?? 32
    const fit = {
      epochs: c.epochs ?? 40,
      batchSize: c.batchSize ?? 128,
      learningRate: c.learningRate ?? (hidden > 0 ? 0.001 : 0.01),
      l2: c.l2 ?? 1e-4,
      patience: c.patience ?? 8
    }
    const heldOutFraction = options.heldOutFraction ?? 0.1
    if (
      !(heldOutFraction >= 0 && heldOutFraction < 1) ||
      !(hidden >= 0 && Number.isInteger(hidden)) ||
      !(fit.epochs >= 1 && Number.isInteger(fit.epochs)) ||
      !(fit.batchSize >= 1 && Number.isInteger(fit.batchSize)) ||
      !(fit.patience >= 1 && Number.isInteger(fit.patience)) ||
      !(fit.learningRate > 0 && Number.isFinite(fit.learningRate)) ||
      !(fit.l2 >= 0 && Number.isFinite(fit.l2))
    ) {
      return yield* new ScoreTrainingError({
        reason: "invalid-option",
        detail: `invalid options: heldOutFraction=${heldOutFraction} hidden=${hidden} epochs=${fit.epochs} batchSize=${fit.batchSize} patience=${fit.patience} learningRate=${fit.learningRate} l2=${fit.l2}`,
        hint: "heldOutFraction in [0,1), hidden an integer ≥ 0, epochs, batchSize and patience integers ≥ 1, learningRate > 0, l2 ≥ 0"
      })
    }
    return { head, hidden, fit, heldOutFraction }
  })

/**
 * The features of every pair, split into training and held-out rows and standardized with the training rows'
 * statistics, with their labels.
 */
const splitFeatures = (
  pairs: ReadonlyArray<TrainingPair>,
  resources: Features.LexicalResources,
  embedder: Models.TextEmbedder | undefined,
  trainIdx: ReadonlyArray<number>,
  validIdx: ReadonlyArray<number>
) =>
  Effect.gen(function* () {
    const all = yield* Features.extract(resources, pairs, embedder)
    const width = all.names.length
    const select = (idx: ReadonlyArray<number>): Features.FeatureMatrix => {
      const values = new Float64Array(idx.length * width)
      for (let r = 0; r < idx.length; r++)
        values.set(all.values.subarray(idx[r]! * width, (idx[r]! + 1) * width), r * width)
      return { names: all.names, rows: idx.length, values }
    }
    const trainM = select(trainIdx)
    const validM = select(validIdx)
    const standardizer = Features.fitStandardizer(trainM)
    const trainX = Features.standardize(trainM, standardizer)
    const validX = Features.standardize(validM, standardizer)
    const trainY = Int32Array.from(trainIdx.map((i) => pairs[i]!.label))
    const validY = Int32Array.from(validIdx.map((i) => pairs[i]!.label))
    return { names: all.names, width, standardizer, trainX, validX, trainY, validY }
  })

/**
 * Refuses a fit that diverged. Early stopping keeps the starting weights when every epoch is worse: when that is
 * because the loss blew up, the "trained" model is an untrained one — say so instead of returning it.
 */
const checkConverged = (result: network.FitResult, learningRate: number) =>
  Effect.gen(function* () {
    // blew up: a non-finite loss, or a held-out loss far above the starting weights' — not merely no gain
    const blewUp = result.history.some(
      (h) =>
        !Number.isFinite(h.trainLoss) ||
        !Number.isFinite(h.validLoss) ||
        (Number.isFinite(result.initialValidLoss) && h.validLoss > 2 * result.initialValidLoss)
    )
    if (!result.params.every(Number.isFinite) || (blewUp && result.bestEpoch === 0)) {
      return yield* new ScoreTrainingError({
        reason: "diverged",
        detail: result.params.every(Number.isFinite)
          ? `the loss became non-finite and no epoch improved on the starting weights (learningRate ${learningRate})`
          : "training produced non-finite weights",
        hint: "lower classifier.learningRate"
      })
    }
  })

/**
 * Calibrates the temperature on the held-out rows and reports the model there — calibrated and not — against the
 * majority and BM25-threshold baselines fit on the training pairs.
 */
const evaluateHeldOut = (
  shape: network.NetworkShape,
  result: network.FitResult,
  held: { readonly x: Float64Array; readonly y: Int32Array },
  scale: Grade.GradeScale,
  trainPairs: ReadonlyArray<TrainingPair>,
  validPairs: ReadonlyArray<TrainingPair>
) =>
  Effect.gen(function* () {
    const K = shape.classes
    const validY = held.y
    const validRaw = network.forwardRaw(shape, result.params, held.x, validY.length)
    const temperature = network.fitTemperature(shape, validRaw, validY)

    const toRows = (probs: Float64Array, rows: number) =>
      Array.from({ length: rows }, (_, r) => Array.from(probs.subarray(r * K, (r + 1) * K)))
    const validProbs = toRows(network.probabilities(shape, validRaw, validY.length, temperature), validY.length)
    const validPred = validProbs.map((p) => Models.argmaxGrade(p))
    const uncalibrated = TrainingReport.calibration(
      validY,
      toRows(network.probabilities(shape, validRaw, validY.length, 1), validY.length)
    )

    const majorityEval = yield* TrainingReport.evaluate(
      majority(
        trainPairs.map((p) => p.label),
        scale
      ),
      validPairs,
      { name: "majority" }
    )
    const bm25Eval = yield* TrainingReport.evaluate(bm25Threshold(trainPairs, scale), validPairs, {
      name: "bm25-threshold",
      withCalibration: false
    })
    const report: HeldOutReport = {
      model: {
        name: "embedded",
        metrics: TrainingReport.classifierMetrics(validY, validPred, scale),
        calibration: TrainingReport.calibration(validY, validProbs)
      },
      uncalibrated,
      majority: majorityEval,
      bm25Threshold: bm25Eval,
      history: result.history
    }
    return { temperature, report }
  })

/**
 * Trains an embedded score model. The held-out split (by `qid`, else by query text) serves early stopping and
 * temperature calibration, and the returned model's `config.report` evaluates it there against the majority
 * and BM25-threshold baselines fit on the training split.
 *
 * @since 0.1.0
 * @category constructors
 */
export const train = (
  options: TrainOptions
): Effect.Effect<EmbeddedScoreModel, ScoreTrainingError | Models.ModelError> =>
  Effect.gen(function* () {
    const pairs = options.pairs
    const scale = yield* checkPairs(pairs, options.scale)
    const { head, hidden, fit, heldOutFraction } = yield* classifierSettings(options)
    const weightsMode = options.classWeights ?? "sqrt"
    const rng = new Sampling.SeededRandom(options.seed)

    // Corpus for IDF: a seeded sample of distinct documents, saved with the model.
    const distinctDocs = [...new Set(pairs.map((p) => p.doc))].sort()
    const corpus = Sampling.sample(distinctDocs, options.corpusSize ?? 5000, rng.fork("corpus"))
    const resources = Features.resources(corpus)

    const indices = pairs.map((_, i) => i)
    const split = Sampling.splitByGroup(
      indices,
      (i) => pairs[i]!.qid ?? pairs[i]!.query,
      heldOutFraction,
      Sampling.hashSeed(`${options.seed}/held-out`)
    )
    const trainIdx = split.first
    const validIdx = split.second

    const { names, width, standardizer, trainX, validX, trainY, validY } = yield* splitFeatures(
      pairs,
      resources,
      options.embedder,
      trainIdx,
      validIdx
    )
    const K = scale.max + 1
    const counts = new Array<number>(K).fill(0)
    for (const y of trainY) counts[y]!++
    const prior = counts.map((n) => (n + 1) / (trainY.length + K))
    const classWeights = classWeightsOf(counts, weightsMode)
    const shape: network.NetworkShape = { inputs: width, hidden, classes: K, head }

    const fitter = network.fitter(
      shape,
      network.initialize(shape, prior, rng.fork("init")),
      { x: trainX, y: trainY },
      { x: validX, y: validY },
      classWeights,
      fit,
      rng.fork("fit")
    )
    const result = yield* runFitter(fitter, fit.epochs, options.onProgress)
    yield* checkConverged(result, fit.learningRate)
    const { temperature, report } = yield* evaluateHeldOut(
      shape,
      result,
      { x: validX, y: validY },
      scale,
      trainIdx.map((i) => pairs[i]!),
      validIdx.map((i) => pairs[i]!)
    )
    const weightsHash = Hash.sha256(JSON.stringify(Array.from(result.params)))
    const corpusHash = Hash.sha256(JSON.stringify(corpus))
    const config: Config = {
      format: "ssra/embedded-score-model",
      version: 1,
      id: `embedded-score-model:${head}-h${hidden}${options.embedder ? `+${options.embedder.id}` : ""}:${weightsHash.slice(0, 12)}`,
      scale,
      featureNames: names,
      embedder: options.embedder ? { id: options.embedder.id, dimensions: options.embedder.dimensions } : null,
      network: shape,
      temperature,
      standardizer,
      classWeights,
      training: {
        seed: options.seed,
        pairs: pairs.length,
        trainRows: trainY.length,
        heldOutRows: validY.length,
        epochs: result.epochs,
        bestEpoch: result.bestEpoch,
        classWeights: weightsMode,
        heldOutFraction,
        options: fit
      },
      report,
      files: { weights: weightsHash, corpus: corpusHash }
    }
    return register({ config, params: result.params, corpus, resources, embedder: options.embedder })
  })

/**
 * The held-out report of a trained (or loaded) model.
 *
 * @since 0.1.0
 * @category accessors
 */
export const heldOutReport = (model: EmbeddedScoreModel): HeldOutReport => model.config.report as HeldOutReport

const CONFIG = "config.json"
const WEIGHTS = "weights.json"
const CORPUS = "corpus.json"

/**
 * Saves a model to `dir`: `weights.json` (parameters) and `corpus.json` (the IDF corpus) first, then
 * `config.json` (with their SHA-256), each written atomically, so a directory with a config is complete.
 *
 * @since 0.1.0
 * @category persistence
 */
export const save = (model: EmbeddedScoreModel, dir: string): Effect.Effect<void, ScoreCheckpointError> =>
  Effect.gen(function* () {
    const state = internals.get(model)
    if (state === undefined) {
      return yield* new ScoreCheckpointError({
        dir,
        file: CONFIG,
        reason: "incompatible",
        detail: "this object was not made by EmbeddedScoreModel.train or load",
        hint: "save the model returned by train/load"
      })
    }
    const io = (file: string) => (e: { readonly message: string }) =>
      new ScoreCheckpointError({
        dir,
        file,
        reason: "io",
        detail: e.message,
        hint: "check the directory is writable and the disk has space"
      })
    yield* Effect.try({ try: () => fs.mkdirSync(dir, { recursive: true }), catch: (e) => io(CONFIG)(e as Error) })
    yield* AtomicFile.writeFile(path.join(dir, WEIGHTS), JSON.stringify(Array.from(state.params))).pipe(
      Effect.mapError(io(WEIGHTS))
    )
    yield* AtomicFile.writeFile(path.join(dir, CORPUS), JSON.stringify(state.corpus)).pipe(Effect.mapError(io(CORPUS)))
    yield* AtomicFile.writeJson(path.join(dir, CONFIG), state.config).pipe(Effect.mapError(io(CONFIG)))
  })

const readJson = (
  dir: string,
  file: string
): Effect.Effect<{ readonly text: string; readonly value: unknown }, ScoreCheckpointError> =>
  Effect.try({
    try: () => {
      const full = path.join(dir, file)
      if (!fs.existsSync(full))
        throw new ScoreCheckpointError({
          dir,
          file,
          reason: "not-found",
          detail: "file is missing",
          hint: "point at a directory written by EmbeddedScoreModel.save"
        })
      const text = fs.readFileSync(full, "utf8")
      try {
        return { text, value: JSON.parse(text) as unknown }
      } catch (e) {
        throw new ScoreCheckpointError({
          dir,
          file,
          reason: "malformed",
          detail: `malformed JSON: ${(e as Error).message}`,
          hint: "the file is damaged; save the model again"
        })
      }
    },
    catch: (e) =>
      e instanceof ScoreCheckpointError
        ? e
        : new ScoreCheckpointError({ dir, file, reason: "io", detail: String((e as Error)?.message ?? e) })
  })

/**
 * Loads a model saved by `save`. A model trained with an embedder needs the same embedder (same `id`) passed
 * in `embedder`; the weight and corpus files are checked against the hashes in `config.json`.
 *
 * @since 0.1.0
 * @category persistence
 */
export const load = (
  dir: string,
  options: { readonly embedder?: Models.TextEmbedder | undefined } = {}
): Effect.Effect<EmbeddedScoreModel, ScoreCheckpointError> =>
  Effect.gen(function* () {
    const raw = yield* readJson(dir, CONFIG)
    const config = yield* Schema.decodeUnknownEffect(Config)(raw.value).pipe(
      Effect.mapError(
        (e) =>
          new ScoreCheckpointError({
            dir,
            file: CONFIG,
            reason: "incompatible",
            detail: `not an embedded score model config: ${e.message}`,
            hint: "was it written by EmbeddedScoreModel.save (format ssra/embedded-score-model, version 1)?"
          })
      )
    )
    const weights = yield* readJson(dir, WEIGHTS)
    const corpus = yield* readJson(dir, CORPUS)
    if (Hash.sha256(weights.text) !== config.files.weights) {
      return yield* new ScoreCheckpointError({
        dir,
        file: WEIGHTS,
        reason: "corrupt",
        detail: "SHA-256 does not match config.json",
        hint: "the weights were changed or truncated; save the model again"
      })
    }
    if (Hash.sha256(corpus.text) !== config.files.corpus) {
      return yield* new ScoreCheckpointError({
        dir,
        file: CORPUS,
        reason: "corrupt",
        detail: "SHA-256 does not match config.json",
        hint: "the IDF corpus was changed or truncated; save the model again"
      })
    }
    const shape = shapeOf(config)
    const params = Float64Array.from(weights.value as ReadonlyArray<number>)
    if (params.length !== network.layout(shape).total || config.featureNames.length !== shape.inputs) {
      return yield* new ScoreCheckpointError({
        dir,
        file: WEIGHTS,
        reason: "incompatible",
        detail: `expected ${network.layout(shape).total} parameters for the configured network, found ${params.length}`
      })
    }
    if (config.embedder !== null) {
      if (options.embedder === undefined) {
        return yield* new ScoreCheckpointError({
          dir,
          file: CONFIG,
          reason: "embedder-missing",
          detail: `the model was trained with embedder ${config.embedder.id}`,
          hint: "load that embedder (e.g. DualEncoder.load) and pass it as { embedder }"
        })
      }
      if (options.embedder.id !== config.embedder.id) {
        return yield* new ScoreCheckpointError({
          dir,
          file: CONFIG,
          reason: "embedder-mismatch",
          detail: `the model was trained with embedder ${config.embedder.id}, got ${options.embedder.id}`,
          hint: "pass the embedder the score model was trained with"
        })
      }
    }
    const corpusTexts = corpus.value as ReadonlyArray<string>
    return register({
      config,
      params,
      corpus: corpusTexts,
      resources: Features.resources(corpusTexts),
      embedder: config.embedder === null ? undefined : options.embedder
    })
  })
