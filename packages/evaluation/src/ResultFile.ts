/**
 * Result files in MTEB's layout (`results/<model>/<revision>/<Task>.json` with `task_name`, `scores.<split>[]`
 * holding `main_score`, `hf_subset` and `languages`), extended with an `ssra` block that keeps the evaluator's
 * configuration, counts, notes, confidence intervals and the per-query / per-pair values that `compare` needs.
 * Undefined metrics are written as `null` ("n/a"), never NaN.
 *
 * @since 0.1.0
 */

import { mkdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { AtomicFile } from "@ssra/core"
import { Effect, Schema } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import { Confusion, EvaluationResult, EvaluatorKind, PerUnit, ScoredPairs } from "./EvaluationResult.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const Interval = Schema.Tuple([Schema.Number, Schema.Number])

/**
 * @since 0.1.0
 * @category schemas
 */
export const TaskResult = Schema.Struct({
  dataset_revision: Schema.NullOr(Schema.String),
  task_name: Schema.String,
  mteb_version: Schema.NullOr(Schema.String),
  scores: Schema.Record(Schema.String, Schema.Array(Schema.Record(Schema.String, Schema.Unknown))),
  evaluation_time: Schema.NullOr(Schema.Number),
  kg_co2_emissions: Schema.NullOr(Schema.Number),
  ssra: Schema.Struct({
    version: Schema.String,
    model_name: Schema.String,
    dataset: Schema.String,
    evaluator: EvaluatorKind,
    primary_metric: Schema.String,
    metrics: Schema.Record(Schema.String, Schema.NullOr(Schema.Number)),
    config: Schema.Record(Schema.String, Schema.Unknown),
    counts: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number)),
    notes: Schema.optionalKey(Schema.Array(Schema.String)),
    intervals: Schema.optionalKey(Schema.Record(Schema.String, Schema.NullOr(Interval))),
    per_unit: Schema.optionalKey(PerUnit),
    pairs: Schema.optionalKey(ScoredPairs),
    confusion: Schema.optionalKey(Confusion)
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export type TaskResult = typeof TaskResult.Type

/**
 * A whole suite's results in one file (what `ssra-eval run` writes as `results.json`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SuiteResults = Schema.Struct({
  suite: Schema.String,
  created: Schema.String,
  systems: Schema.Array(Schema.String),
  datasets: Schema.Array(Schema.String),
  results: Schema.Array(TaskResult)
})

/**
 * @since 0.1.0
 * @category models
 */
export type SuiteResults = typeof SuiteResults.Type

/**
 * The package version written into result files.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

/**
 * Wraps an evaluation result in the MTEB task-result layout.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEvaluation = (
  result: EvaluationResult,
  options: {
    readonly modelName: string
    readonly dataset: string
    readonly datasetRevision?: string | undefined
    readonly evaluationTime?: number | undefined
    readonly split?: string | undefined
    readonly languages?: ReadonlyArray<string> | undefined
    readonly intervals?: Record<string, readonly [number, number] | null> | undefined
  }
): TaskResult => ({
  dataset_revision: options.datasetRevision ?? null,
  task_name: result.name,
  mteb_version: null,
  scores: {
    [options.split ?? "test"]: [
      {
        ...result.metrics,
        main_score: result.primary,
        hf_subset: "default",
        languages: [...(options.languages ?? ["cmn-Hans"])]
      }
    ]
  },
  evaluation_time: options.evaluationTime ?? null,
  kg_co2_emissions: null,
  ssra: {
    version,
    model_name: options.modelName,
    dataset: options.dataset,
    evaluator: result.evaluator,
    primary_metric: result.primaryMetric,
    metrics: result.metrics,
    config: result.config,
    ...(result.counts === undefined ? {} : { counts: result.counts }),
    ...(result.notes === undefined ? {} : { notes: result.notes }),
    ...(options.intervals === undefined ? {} : { intervals: options.intervals }),
    ...(result.perUnit === undefined ? {} : { per_unit: result.perUnit }),
    ...(result.pairs === undefined ? {} : { pairs: result.pairs }),
    ...(result.confusion === undefined ? {} : { confusion: result.confusion })
  }
})

/**
 * Back to an `EvaluationResult`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toEvaluation = (task: TaskResult): EvaluationResult => {
  const s = task.ssra
  const result: EvaluationResult = {
    name: task.task_name,
    evaluator: s.evaluator,
    primaryMetric: s.primary_metric,
    primary: s.metrics[s.primary_metric] ?? null,
    metrics: s.metrics,
    config: s.config,
    ...(s.counts === undefined ? {} : { counts: s.counts }),
    ...(s.notes === undefined ? {} : { notes: s.notes }),
    ...(s.per_unit === undefined ? {} : { perUnit: s.per_unit }),
    ...(s.pairs === undefined ? {} : { pairs: s.pairs }),
    ...(s.confusion === undefined ? {} : { confusion: s.confusion })
  }
  return Schema.decodeUnknownSync(EvaluationResult)(result)
}

const findNonFinite = (value: unknown, path: string): string | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findNonFinite(value[i], `${path}[${i}]`)
      if (p !== undefined) return p
    }
    return undefined
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const p = findNonFinite(v, `${path}.${k}`)
      if (p !== undefined) return p
    }
  }
  return undefined
}

/**
 * Writes JSON atomically, creating the directory, and refusing to write NaN or ±Infinity anywhere.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeJson = (file: string, value: unknown): Effect.Effect<void, EvaluationError> =>
  Effect.gen(function* () {
    const bad = findNonFinite(value, "$")
    if (bad !== undefined) {
      return yield* new EvaluationError({
        reason: "nan-score",
        file,
        id: bad,
        detail: "refusing to write a non-finite number",
        hint: "undefined metrics must be null"
      })
    }
    yield* Effect.try({
      try: () => mkdirSync(dirname(file), { recursive: true }),
      catch: (cause) =>
        new EvaluationError({ reason: "io", file, detail: `cannot create directory: ${(cause as Error).message}` })
    })
    yield* Effect.mapError(
      AtomicFile.writeJson(file, value),
      (e) => new EvaluationError({ reason: "io", file, detail: e.message })
    )
  })

const safeName = (name: string) => name.replace(/[^\w.-]+/g, "__")

/**
 * Writes task results in MTEB's directory layout under `dir`: `<dir>/<model>/no_revision_available/<task>.json`
 * plus a `model_meta.json` per model. Returns the files written.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeMtebLayout = (
  dir: string,
  results: ReadonlyArray<TaskResult>
): Effect.Effect<Array<string>, EvaluationError> =>
  Effect.gen(function* () {
    const files: Array<string> = []
    const models = new Set<string>()
    for (const r of results) {
      const base = join(dir, safeName(r.ssra.model_name), "no_revision_available")
      const file = join(base, `${safeName(r.task_name)}.json`)
      yield* writeJson(file, r)
      files.push(file)
      if (!models.has(r.ssra.model_name)) {
        models.add(r.ssra.model_name)
        const meta = join(base, "model_meta.json")
        yield* writeJson(meta, {
          name: r.ssra.model_name,
          revision: null,
          release_date: null,
          languages: ["cmn-Hans"],
          framework: ["ssra"]
        })
        files.push(meta)
      }
    }
    return files
  })

/**
 * Reads a result file: one MTEB task result, or a suite's `results.json` (all its task results).
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (file: string): Effect.Effect<Array<TaskResult>, EvaluationError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (cause) => new EvaluationError({ reason: "io", file, detail: `cannot read: ${(cause as Error).message}` })
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) =>
        new EvaluationError({ reason: "malformed", file, detail: `malformed JSON: ${(cause as Error).message}` })
    })
    const isSuite = json !== null && typeof json === "object" && "results" in json
    const decoded = yield* Effect.mapError(
      isSuite
        ? Effect.map(Schema.decodeUnknownEffect(SuiteResults)(json, { errors: "all" }), (s) => [...s.results])
        : Effect.map(Schema.decodeUnknownEffect(TaskResult)(json, { errors: "all" }), (t) => [t]),
      (e) =>
        new EvaluationError({
          reason: "malformed",
          file,
          detail: `not an ssra result file: ${e.message}`,
          hint: "pass a task result written by ssra-eval run (results/<model>/…/<task>.json) or its results.json"
        })
    )
    return decoded
  })
