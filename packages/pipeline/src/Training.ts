/**
 * Stage "training": the embedding model's training set — labeled pairs plus the kept synthetic queries (graded
 * by the score model), optionally restricted to the binary grades {0, max} — turned into grade-weighted rows and
 * trained with `@ssra/embedding`'s EmbeddingTrainer. The checkpoint is the artifact (`model/`).
 *
 * With `training.lexical` (on by default) the dual encoder carries the fixed lexical channel (BM25 over hashed char
 * 1+2-grams and jieba words, appended to the learned dimensions): its corpus statistics are fitted on the distinct
 * documents of the training rows (no labels) before training, the learned part trains as a residual of it, and the
 * checkpoint (format 2) serves the full embedding, `cos = α·lexical + (1 − α)·learned`. With `weight: "auto"` (the
 * default) α is selected as `@ssra/embedding`'s quality script does (`LexicalWeight`): a seeded share of the
 * labeled queries with several graded candidates is held out, a model trained on the rest at α 0.5 is scored at
 * each α of `LexicalWeight.defaultGrid` on them, and the best α is applied to the model trained on all the rows.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { DatasetError, Hash, Jsonl, Models, type Pair, type SyntheticQuery, TrainingRow } from "@ssra/core"
import { CheckpointError, DualEncoder, EmbeddingTrainer, Lexical, LexicalWeight, TrainingSet } from "@ssra/embedding"
import { Effect, Result, Schema } from "effect"
import * as Artifact from "./Artifact.js"
import { type RunContext, record } from "./internal/context.js"
import * as PipelineConfig from "./PipelineConfig.js"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"

/**
 * What one system trains on.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrainingData {
  /** The system's name (the stage is `train:<name>`). */
  readonly system: string
  readonly labeled: ReadonlyArray<Pair.LabeledPair>
  readonly synthetic: ReadonlyArray<SyntheticQuery.SyntheticQuery>
  /** Keep only grades 0 and the scale's maximum (the paper's binary ablation). */
  readonly binary: boolean
  readonly scale: { readonly max: 1 | 2 | 3 }
}

/**
 * The synthetic queries as graded pairs: the score model's judged grade (the target grade when none).
 *
 * @since 0.1.0
 * @category constructors
 */
export const syntheticPairs = (synthetic: ReadonlyArray<SyntheticQuery.SyntheticQuery>): Array<Pair.LabeledPair> =>
  synthetic.map((s) => ({
    qid: `syn-${s.id}`,
    did: s.did,
    query: s.query,
    doc: s.doc,
    label: s.judged?.grade ?? s.targetGrade
  }))

/**
 * The training rows of a system, in a deterministic order (labeled first, then synthetic).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rowsOf = (ctx: RunContext, data: TrainingData): Array<TrainingRow.TrainingRow> => {
  const keep = (p: Pair.LabeledPair) => !data.binary || p.label === 0 || p.label === data.scale.max
  const scheme = ctx.config.training.weightScheme
  const labeled = TrainingSet.fromLabeledPairs(data.labeled.filter(keep), { scheme, scale: data.scale })
  const synthetic = TrainingSet.fromLabeledPairs(syntheticPairs(data.synthetic).filter(keep), {
    scheme,
    scale: data.scale,
    origin: "synthetic"
  })
  const rows = [...labeled, ...synthetic]
  const max = ctx.config.training.maxRows
  return max !== undefined && rows.length > max ? rows.slice(0, max) : rows
}

/**
 * The dual encoder's lexical channel config of `training.lexical` (its absent fields from
 * `PipelineConfig.lexicalDefaults`, the featurizer `Lexical.defaultConfig`'s), or null when the section is off.
 * With `weight: "auto"` this is the config the model trains with (α = `LexicalWeight.trainingWeight`); the
 * served α is selected afterwards (`lexicalSelection`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const lexicalConfig = (
  section: Partial<PipelineConfig.LexicalSection> | null | undefined
): Lexical.LexicalConfig | null => {
  if (section == null) return null
  const pick = <K extends keyof PipelineConfig.LexicalSection>(key: K) =>
    section[key] ?? PipelineConfig.lexicalDefaults[key]
  const weight = pick("weight")
  return {
    ...Lexical.defaultConfig,
    dimensions: pick("dimensions"),
    weight: weight === "auto" ? LexicalWeight.trainingWeight : weight,
    k1: pick("k1"),
    b: pick("b")
  }
}

/**
 * How α is selected for `training.lexical`'s `weight: "auto"`: the held-out share and the candidates a query
 * needs (absent fields from `PipelineConfig.lexicalDefaults`); null when the channel is off or α is fixed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lexicalSelection = (
  section: Partial<PipelineConfig.LexicalSection> | null | undefined
): { readonly fraction: number; readonly minCandidates: number } | null => {
  if (section == null || (section.weight ?? PipelineConfig.lexicalDefaults.weight) !== "auto") return null
  return {
    fraction: section.heldOutFraction ?? PipelineConfig.lexicalDefaults.heldOutFraction,
    minCandidates: section.heldOutMinCandidates ?? PipelineConfig.lexicalDefaults.heldOutMinCandidates
  }
}

/**
 * What the manifest records of an α selection (the `train:<system>` component's `lexicalWeight`): the settings,
 * the split's sizes, every α tried with its held-out nDCG@k, and the α served. `heldOutQueries` 0: no labeled
 * query qualified, α stayed at the training weight (`reason` says so).
 *
 * @since 0.1.0
 * @category models
 */
export interface LexicalWeightRecord {
  readonly weight: number
  readonly selection: "held-out"
  readonly seed: number
  readonly fraction: number
  readonly minCandidates: number
  readonly eligibleQueries: number
  readonly heldOutQueries: number
  readonly tuningRows: number
  readonly k: number
  readonly heldOutNdcg: number | null
  readonly heldOutNdcgByWeight: ReadonlyArray<{ readonly weight: number; readonly ndcg: number }>
  readonly reason?: string | undefined
}

/**
 * The documents the lexical channel's corpus statistics are fitted on: every distinct document text of the rows
 * (positives and listed negatives), in first-seen order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const documentsOf = (rows: ReadonlyArray<TrainingRow.TrainingRow>): Array<string> => {
  const seen = new Set<string>()
  for (const r of rows) {
    seen.add(r.positive)
    for (const n of r.negatives) seen.add(n)
  }
  return [...seen]
}

/**
 * Selects α on the held-out split: a model trained on the system's rows without the held-out queries is scored at
 * each α of the grid on them. No held-out query, or too few rows left to train on: α stays at the training
 * weight and the record says why.
 */
const selectWeight = <E, R>(
  ctx: RunContext,
  data: TrainingData,
  split: LexicalWeight.Split<Pair.LabeledPair>,
  selection: { readonly fraction: number; readonly minCandidates: number },
  trainModel: (
    rows: ReadonlyArray<TrainingRow.TrainingRow>,
    task: string
  ) => Effect.Effect<{ readonly result: EmbeddingTrainer.TrainResult }, E, R>
) =>
  Effect.gen(function* () {
    const stage = `train:${data.system}`
    const tuningRows = rowsOf(ctx, { ...data, labeled: split.train })
    const base = {
      selection: "held-out" as const,
      seed: ctx.config.seed,
      ...selection,
      eligibleQueries: split.eligibleQueries,
      heldOutQueries: split.heldOut.length,
      tuningRows: tuningRows.length,
      k: LexicalWeight.defaults.k
    }
    const keep = (reason: string) =>
      Effect.as(Progress.note(stage, `lexical α ${LexicalWeight.trainingWeight} (not selected: ${reason})`), {
        ...base,
        weight: LexicalWeight.trainingWeight,
        heldOutNdcg: null,
        heldOutNdcgByWeight: [],
        reason
      } satisfies LexicalWeightRecord)
    if (split.heldOut.length === 0)
      return yield* keep(
        `no labeled query has ${selection.minCandidates} judged candidates with two grades to hold out`
      )
    if (tuningRows.filter((r) => r.weight > 0).length < 2)
      return yield* keep("fewer than 2 weighted training rows are left beside the held-out queries")
    const { result } = yield* trainModel(tuningRows, "α selection steps")
    const chosen = yield* LexicalWeight.select(result.model, split.heldOut)
    yield* Progress.note(
      stage,
      `lexical α ${chosen.weight} selected on ${chosen.queries} held-out labeled queries (nDCG@${chosen.k} ${chosen.ndcg.toFixed(4)})`
    )
    return {
      ...base,
      weight: chosen.weight,
      heldOutNdcg: chosen.ndcg,
      heldOutNdcgByWeight: chosen.byWeight
    } satisfies LexicalWeightRecord
  })

/**
 * The checks before any training: at least two rows with a positive weight, and a valid lexical channel config (a
 * config decoded by `PipelineConfig.decodeResolved` is already valid; a programmatic one is checked here).
 */
const checkTrainable = (
  stage: string,
  weighted: number,
  lexical: Lexical.LexicalConfig | null
): Effect.Effect<void, PipelineError> =>
  Effect.gen(function* () {
    if (weighted < 2) {
      return yield* new PipelineError({
        reason: "input",
        stage,
        detail: `only ${weighted} training rows with a positive weight`,
        hint: "the training set needs graded pairs above grade 0: check the labeled file and the weight scheme"
      })
    }
    if (lexical === null) return
    const checked = Schema.decodeUnknownResult(Lexical.LexicalConfig, { errors: "all" })(lexical)
    if (Result.isFailure(checked)) {
      return yield* new PipelineError({
        reason: "input",
        stage,
        detail: `invalid training.lexical: ${checked.failure.message}`,
        hint: 'dimensions must be an integer in 1..65536, weight in [0, 1] or "auto", b in [0, 1], k1 ≥ 0'
      })
    }
  })

/** α selection's held-out labeled queries: the same for every system of the run (the run's seed); null without it. */
const heldOutSplit = (
  ctx: RunContext,
  data: TrainingData,
  stage: string,
  selection: { readonly fraction: number; readonly minCandidates: number } | null
) =>
  selection === null
    ? Effect.succeed(null)
    : LexicalWeight.split(data.labeled, { seed: ctx.config.seed, ...selection }).pipe(
        Effect.mapError(
          (e) =>
            new PipelineError({
              reason: "input",
              stage,
              detail: `invalid training.lexical: ${e.detail}`,
              hint: "heldOutFraction must be in (0, 1), heldOutMinCandidates an integer ≥ 2"
            })
        )
      )

/** The dual encoder's config and the trainer's arguments of `training` for a system's rows. */
const setupOf = (
  ctx: RunContext,
  data: TrainingData,
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  lexical: Lexical.LexicalConfig | null
) => {
  const t = ctx.config.training
  // without a lexical channel the config (and so the artifact key) is exactly what it was before the option
  const modelConfig = {
    dimensions: t.dimensions,
    featurizer: { ...DualEncoder.defaultConfig.featurizer, buckets: t.buckets },
    ...(lexical !== null ? { lexical } : {})
  }
  const args: Partial<EmbeddingTrainer.TrainingArgs> = {
    epochs: t.epochs,
    batchSize: Math.min(t.batchSize, rows.length),
    ...(t.learningRate !== undefined ? { learningRate: t.learningRate } : {}),
    gradeScaleMax: data.scale.max,
    seed: ctx.config.seed,
    hardNegatives:
      t.hardNegatives > 0
        ? {
            k: t.hardNegatives,
            margin: 0.05,
            source: "start",
            dimensions: Math.min(128, t.dimensions),
            guardMinGrade: 2
          }
        : null,
    ...(lexical !== null ? { lexicalResidual: true } : {})
  }
  return { modelConfig, args }
}

/** Everything a system's training is: its rows, the model and trainer settings, and α selection's settings. */
interface TrainingPlan {
  readonly stage: string
  readonly rows: ReadonlyArray<TrainingRow.TrainingRow>
  readonly weighted: number
  readonly lexical: Lexical.LexicalConfig | null
  readonly selection: { readonly fraction: number; readonly minCandidates: number } | null
  readonly split: LexicalWeight.Split<Pair.LabeledPair> | null
  readonly modelConfig: ReturnType<typeof setupOf>["modelConfig"]
  readonly args: Partial<EmbeddingTrainer.TrainingArgs>
}

/** The training artifact's key: the model and trainer settings, the rows, and α selection's settings and split. */
const specOf = (ctx: RunContext, data: TrainingData, plan: TrainingPlan): Artifact.Spec => {
  const { stage, rows, selection, split } = plan
  const t = ctx.config.training
  return {
    stage,
    config: {
      model: plan.modelConfig,
      args: plan.args,
      weightScheme: t.weightScheme,
      binary: data.binary,
      maxRows: t.maxRows ?? null,
      ...(selection !== null
        ? {
            lexicalWeight: {
              selection: "held-out",
              seed: ctx.config.seed,
              ...selection,
              grid: LexicalWeight.defaultGrid,
              k: LexicalWeight.defaults.k
            }
          }
        : {})
    },
    inputs: [
      { name: "rows", sha256: Hash.hashValue(rows) },
      ...(split !== null ? [{ name: "lexical-held-out", sha256: Hash.hashValue(split.heldOut) }] : [])
    ]
  }
}

/**
 * Trains a fresh model of the plan's config on `rows` (its lexical channel fitted on their documents first),
 * reporting its steps as `task`.
 */
const trainOn = (ctx: RunContext, plan: TrainingPlan) =>
  Effect.gen(function* () {
    const sink = yield* Progress.Progress
    return (trainRows: ReadonlyArray<TrainingRow.TrainingRow>, task: string) =>
      Effect.gen(function* () {
        const model = DualEncoder.make(plan.modelConfig, ctx.config.seed)
        // corpus statistics only (IDF, average length, norm cap): the training rows' documents, no labels
        const lexicalDocuments = plan.lexical !== null ? documentsOf(trainRows) : []
        if (plan.lexical !== null) DualEncoder.fitLexical(model, lexicalDocuments)
        const result = yield* EmbeddingTrainer.train({
          model,
          rows: trainRows,
          args: { ...plan.args, batchSize: Math.min(ctx.config.training.batchSize, trainRows.length) },
          onProgress: (e) =>
            sink.emit({ type: "progress", stage: plan.stage, task, done: e.step, total: e.totalSteps, unit: "steps" })
        })
        return { result, lexicalDocuments }
      })
  })

/** The training artifact's counts and info: the rows by origin and grade, the served model, α's selection. */
const summaryOf = (
  plan: TrainingPlan,
  result: EmbeddingTrainer.TrainResult,
  served: DualEncoder.DualEncoderModel,
  weightRecord: LexicalWeightRecord | null,
  lexicalDocuments: ReadonlyArray<string>
) => {
  const { rows, modelConfig, args } = plan
  const grades: Record<string, number> = {}
  for (const r of rows) grades[`grade${r.grade}`] = (grades[`grade${r.grade}`] ?? 0) + 1
  const last = result.history.at(-1)
  const servedConfig = served.config.lexical != null ? { ...modelConfig, lexical: served.config.lexical } : modelConfig
  return {
    counts: {
      rows: rows.length,
      labeledRows: rows.filter((r) => r.origin === "labeled").length,
      syntheticRows: rows.filter((r) => r.origin === "synthetic").length,
      weightedRows: plan.weighted,
      steps: result.steps,
      ...grades,
      ...(served.config.lexical != null ? { lexicalWeight: served.config.lexical.weight } : {}),
      ...(weightRecord !== null ? { lexicalHeldOutQueries: weightRecord.heldOutQueries } : {})
    },
    info: {
      components: [
        {
          name: "embedding",
          id: served.id,
          config: { model: servedConfig, args, ...(weightRecord !== null ? { lexicalWeight: weightRecord } : {}) }
        }
      ],
      finalLoss: last?.loss ?? null,
      ...(served.lexical !== null
        ? {
            lexical: {
              documents: lexicalDocuments.length,
              averageLength: served.lexical.stats.averageLength,
              normCap: served.lexical.stats.normCap,
              embeddingDimensions: served.dimensions
            }
          }
        : {})
    }
  }
}

/** Builds the training artifact in `dir`: selects α (when auto), trains on all the rows, saves the served model. */
const build = (ctx: RunContext, data: TrainingData, plan: TrainingPlan, dir: string) =>
  Effect.gen(function* () {
    const trainModel = yield* trainOn(ctx, plan)
    const { split, selection, rows } = plan
    const weightRecord =
      split === null || selection === null ? null : yield* selectWeight(ctx, data, split, selection, trainModel)
    const { result, lexicalDocuments } = yield* trainModel(rows, "steps")
    const served =
      weightRecord === null ? result.model : DualEncoder.withLexicalWeight(result.model, weightRecord.weight)
    yield* DualEncoder.save(served, path.join(dir, "model"))
    yield* Jsonl.writeAll(path.join(dir, "rows.jsonl"), rows, { schema: TrainingRow.TrainingRow })
    return summaryOf(plan, result, served, weightRecord, lexicalDocuments)
  }).pipe(
    Effect.mapError(
      (e) =>
        new PipelineError({
          reason:
            e instanceof CheckpointError.CheckpointError || e instanceof DatasetError.DatasetError
              ? "io"
              : e instanceof Models.ModelError
                ? "internal"
                : "input",
          stage: plan.stage,
          detail: e.message,
          hint: "see the named training error; finished stages are kept"
        })
    )
  )

/**
 * Trains (or reuses) the system's embedding model; the checkpoint is `<artifact>/model/`.
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (ctx: RunContext, data: TrainingData): Effect.Effect<Artifact.Artifact, PipelineError> =>
  Effect.gen(function* () {
    const t = ctx.config.training
    const rows = rowsOf(ctx, data)
    const weighted = rows.filter((r) => r.weight > 0).length
    const stage = `train:${data.system}`
    const lexical = lexicalConfig(t.lexical)
    yield* checkTrainable(stage, weighted, lexical)
    const selection = lexical !== null ? lexicalSelection(t.lexical) : null
    const split = yield* heldOutSplit(ctx, data, stage, selection)
    const plan: TrainingPlan = {
      stage,
      rows,
      weighted,
      lexical,
      selection,
      split,
      ...setupOf(ctx, data, rows, lexical)
    }
    const artifact = yield* Artifact.cached(ctx.runDir, specOf(ctx, data, plan), (dir) => build(ctx, data, plan, dir))
    yield* record(ctx, artifact)
    return artifact
  })

/**
 * Loads a training artifact's model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (artifact: Artifact.Artifact) =>
  DualEncoder.load(path.join(artifact.dir, "model")).pipe(
    Effect.mapError(
      (e) =>
        new PipelineError({
          reason: "io",
          stage: artifact.record.stage,
          detail: e.message,
          hint: "delete the artifact directory and rerun"
        })
    )
  )
