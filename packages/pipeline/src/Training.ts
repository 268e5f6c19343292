/**
 * Stage "training": the embedding model's training set — labeled pairs plus the kept synthetic queries (graded
 * by the score model), optionally restricted to the binary grades {0, max} — turned into grade-weighted rows and
 * trained with `@ssra/embedding`'s EmbeddingTrainer. The checkpoint is the artifact (`model/`).
 *
 * With `training.lexical` the dual encoder carries the fixed lexical channel (BM25 over hashed char 1+2-grams and
 * jieba words, appended to the learned dimensions): its corpus statistics are fitted on the distinct documents of
 * the training rows (no labels) before training, the learned part trains as a residual of it, and the checkpoint
 * (format 2) serves the full embedding, `cos = α·lexical + (1 − α)·learned`.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { DatasetError, Hash, Jsonl, Models, type Pair, type SyntheticQuery, TrainingRow } from "@ssra/core"
import { CheckpointError, DualEncoder, EmbeddingTrainer, Lexical, TrainingSet } from "@ssra/embedding"
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
  return {
    ...Lexical.defaultConfig,
    dimensions: pick("dimensions"),
    weight: pick("weight"),
    k1: pick("k1"),
    b: pick("b")
  }
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
    if (weighted < 2) {
      return yield* new PipelineError({
        reason: "input",
        stage,
        detail: `only ${weighted} training rows with a positive weight`,
        hint: "the training set needs graded pairs above grade 0: check the labeled file and the weight scheme"
      })
    }
    const lexical = lexicalConfig(t.lexical)
    if (lexical !== null) {
      // a config decoded by `PipelineConfig.decodeResolved` is already valid; a programmatic one is checked here
      const checked = Schema.decodeUnknownResult(Lexical.LexicalConfig, { errors: "all" })(lexical)
      if (Result.isFailure(checked)) {
        return yield* new PipelineError({
          reason: "input",
          stage,
          detail: `invalid training.lexical: ${checked.failure.message}`,
          hint: "dimensions must be an integer in 1..65536, weight and b in [0, 1], k1 ≥ 0"
        })
      }
    }
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
    const spec: Artifact.Spec = {
      stage,
      config: {
        model: modelConfig,
        args,
        weightScheme: t.weightScheme,
        binary: data.binary,
        maxRows: t.maxRows ?? null
      },
      inputs: [{ name: "rows", sha256: Hash.hashValue(rows) }]
    }
    const grades: Record<string, number> = {}
    for (const r of rows) grades[`grade${r.grade}`] = (grades[`grade${r.grade}`] ?? 0) + 1
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        const model = DualEncoder.make(modelConfig, ctx.config.seed)
        // corpus statistics only (IDF, average length, norm cap): the training rows' documents, no labels
        const lexicalDocuments = lexical !== null ? documentsOf(rows) : []
        if (lexical !== null) DualEncoder.fitLexical(model, lexicalDocuments)
        const sink = yield* Progress.Progress
        const result = yield* EmbeddingTrainer.train({
          model,
          rows,
          args,
          onProgress: (e) =>
            sink.emit({ type: "progress", stage, task: "steps", done: e.step, total: e.totalSteps, unit: "steps" })
        })
        yield* DualEncoder.save(result.model, path.join(dir, "model"))
        yield* Jsonl.writeAll(path.join(dir, "rows.jsonl"), rows, { schema: TrainingRow.TrainingRow })
        const last = result.history.at(-1)
        return {
          counts: {
            rows: rows.length,
            labeledRows: rows.filter((r) => r.origin === "labeled").length,
            syntheticRows: rows.filter((r) => r.origin === "synthetic").length,
            weightedRows: weighted,
            steps: result.steps,
            ...grades
          },
          info: {
            components: [{ name: "embedding", id: result.model.id, config: { model: modelConfig, args } }],
            finalLoss: last?.loss ?? null,
            ...(result.model.lexical !== null
              ? {
                  lexical: {
                    documents: lexicalDocuments.length,
                    averageLength: result.model.lexical.stats.averageLength,
                    normCap: result.model.lexical.stats.normCap,
                    embeddingDimensions: result.model.dimensions
                  }
                }
              : {})
          }
        }
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
              stage,
              detail: e.message,
              hint: "see the named training error; finished stages are kept"
            })
        )
      )
    )
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
