/**
 * The SSRA loop and the paper's baselines on one set of artifacts: prepare → base model (labeled only) → score
 * model → Stage 1 (re-annotation, query model v1) → Stage 2 (generation, score and pairwise gates, query model
 * v2) → grade-planned synthesis → embedding training → evaluation → report. Every stage is a content-addressed
 * artifact, so systems that share a step share its output, and a rerun after a crash resumes where it stopped.
 * Which systems run, on which query model's queries and with which training variant, is data (`Systems`); this
 * module is the runner that executes that plan phase by phase.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import {
  AtomicFile,
  type DatasetError,
  type Document,
  Failure,
  type Models,
  type Pair,
  type SyntheticQuery
} from "@ssra/core"
import { PairScorer } from "@ssra/evaluation"
import { PairwiseJudge } from "@ssra/filters"
import { PromptQueryModel } from "@ssra/query-model"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import type { HttpClient } from "effect/http"
import * as Artifact from "./Artifact.js"
import * as Backends from "./Backends.js"
import * as Evaluate from "./Evaluate.js"
import * as External from "./External.js"
import type { RunContext } from "./internal/context.js"
import * as Strings from "./internal/strings.js"
import type { Config, LlmBackend } from "./PipelineConfig.js"
import { PipelineError } from "./PipelineError.js"
import * as Plan from "./Plan.js"
import * as Prepare from "./Prepare.js"
import * as Progress from "./Progress.js"
import * as QueryModelStage from "./QueryModelStage.js"
import * as Report from "./Report.js"
import * as RunManifest from "./RunManifest.js"
import * as ScoreStage from "./ScoreStage.js"
import * as Stage1 from "./Stage1.js"
import * as Stage2 from "./Stage2.js"
import * as Synthesis from "./Synthesis.js"
import * as Systems from "./Systems.js"
import * as Training from "./Training.js"
import * as WorkUnits from "./WorkUnits.js"

/**
 * The systems of the paper's comparison (`Systems.specs` says what each trains on).
 *
 * @since 0.1.0
 * @category constants
 */
export const systems: typeof Systems.names = Systems.names

/**
 * @since 0.1.0
 * @category models
 */
export type SystemName = Systems.SystemName

/**
 * How each system is labeled in the tables.
 *
 * @since 0.1.0
 * @category constants
 */
export const labels: Readonly<Record<SystemName, string>> = Systems.labels

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly config: Config
  readonly systems: ReadonlyArray<SystemName>
  readonly shard?: WorkUnits.Shard | undefined
  /** Also evaluate the lexical reference scorers (BM25, character n-gram cosine). */
  readonly references?: boolean | undefined
  readonly title?: string | undefined
  /** Stop after this stage (earlier stages are reused or run); the result then has no report. */
  readonly until?: "prepare" | "score-model" | "stage1" | "stage2" | "synthesis" | "train" | "evaluate" | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  readonly runDir: string
  readonly rows: ReadonlyArray<Report.SystemRow>
  readonly reportMarkdown: string
  readonly reportFiles: ReadonlyArray<string>
  readonly manifestFile: string
  /** This invocation's time up to the report (the report's "this one"). */
  readonly durationMs: number
  /** Every invocation on the run directory, this one included. */
  readonly timeSpent?: { readonly durationMs: number; readonly invocations: number } | undefined
}

/**
 * Runs the loop for the chosen systems and writes the report. Requires an `HttpClient` for the model endpoints a
 * config may name (LLM, served fine-tuned models): the application provides it (`NodeHttpClient.layerUndici` in the
 * `ssra` CLI); a run on embedded models sends nothing through it.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  options: RunOptions
): Effect.Effect<
  RunResult,
  PipelineError | DatasetError.DatasetError | WorkUnits.ShardPending,
  HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const { config } = options
    const runDir = path.resolve(config.runDir)
    const started = performance.now()
    const recorder = yield* RunManifest.start(runDir, config, config.seed)
    // what a killed earlier run left half-copied (model/, score-model/, … swaps) goes before anything is reused
    AtomicFile.sweepStale(runDir)
    const ctx: RunContext = { config, runDir, shard: options.shard, recorder, strings: Strings.pool() }
    return yield* Effect.scoped(body(ctx, options, started)).pipe(
      Effect.onExit((exit) => recordOutcome(recorder, exit))
    )
  })

/**
 * What the manifest says when the run ends, and the `run-end` progress event (closes a progress bar). Runs on
 * every exit, an interruption (Ctrl-C, SIGTERM) included. Recording an outcome other than success is best
 * effort: when the run failed because the disk is full, recording that fails too, and the error that names the
 * failing stage and file must be the one the user sees (the manifest then still says "running").
 */
const recordOutcome = (
  recorder: RunManifest.Recorder,
  exit: Exit.Exit<unknown, unknown>
): Effect.Effect<void, PipelineError> => {
  if (Exit.isSuccess(exit))
    return Effect.andThen(recorder.finish("complete"), Progress.emit({ type: "run-end", outcome: "complete" }))
  const found = Cause.findErrorOption(exit.cause)
  const failure = Option.isSome(found) ? found.value : undefined
  const status: Exclude<RunManifest.RunManifest["status"], "running"> =
    failure === undefined
      ? Cause.hasInterruptsOnly(exit.cause)
        ? "interrupted"
        : "failed"
      : failure instanceof WorkUnits.ShardPending
        ? "shard-done"
        : Failure.classify(failure).class === "awaiting-training"
          ? "awaiting-training"
          : "failed"
  const detail =
    failure !== undefined
      ? failure instanceof Error
        ? failure.message
        : String(failure)
      : status === "interrupted"
        ? "interrupted (Ctrl-C or SIGTERM): finished stages are kept, rerun the same command to resume"
        : "defect"
  return Effect.andThen(
    Effect.ignore(recorder.finish(status, detail)),
    Progress.emit({ type: "run-end", outcome: status })
  )
}

/** Every served model endpoint the run will use, checked for reachability before any work (not stage by stage). */
const preflightExternal = (ctx: RunContext, plan: Systems.SystemPlan) =>
  Effect.gen(function* () {
    const { backends, stage1, stage2 } = ctx.config
    const used: Array<External.Which> = []
    if (backends.scoreModel === "fine-tuned") used.push("scoreModel")
    if (backends.queryModel === "fine-tuned") {
      if (plan.systems.some((s) => s.spec.queries === "vanilla") || !stage1.enabled) used.push("vanilla")
      if (stage1.enabled) used.push("queryModelV1")
      if (stage1.enabled && stage2.enabled) used.push("queryModelV2")
    }
    // an endpoint not given yet is a hand-off (the run writes the SFT kit), not an error
    for (const which of used) {
      const endpoint = External.endpointOf(ctx, which)
      if (endpoint !== undefined) yield* External.reachable(which, endpoint)
    }
  })

/** The set-up checks (`Plan.check`) on the prepared data: warnings are noted, an error stops before training. */
const checkSetup = (ctx: RunContext, options: RunOptions, prepared: Prepare.Prepared) =>
  Effect.gen(function* () {
    const early = ["score-model", "stage1", "stage2"] as const
    if (early.some((s) => s === options.until)) return
    const files = yield* Prepare.dataFiles(ctx.config)
    const problems = Plan.check(ctx.config, { ...prepared, files }, options.systems)
    for (const p of problems.filter((p) => p.level === "warning"))
      yield* Progress.note("prepare", `warning: ${p.message}`)
    const error = problems.find((p) => p.level === "error")
    if (error !== undefined)
      return yield* new PipelineError({
        reason: "input",
        stage: "prepare",
        detail: error.message,
        ...(error.hint !== undefined ? { hint: `${error.hint}; nothing was trained yet` } : {})
      })
  })

/** The run's LLM client after the preflight, with the endpoint's logprobs answer (recorded in the manifest). */
const llmOf = (ctx: RunContext, config: LlmBackend) =>
  Effect.gen(function* () {
    yield* Backends.preflight(config)
    return yield* Backends.llm(config, ctx.runDir, "the run", ctx.recorder.previousLlm.costUsd)
  })

/**
 * Only the LLM score model's grading strategy depends on logprobs: with it, the endpoint's answer (config, preset
 * or one probe request, counted in the run's traffic) after the set-up checks; other LLM uses send no probe.
 */
const withLogprobs = (ctx: RunContext, llm: Backends.Llm | undefined) =>
  Effect.gen(function* () {
    const config = ctx.config.backends.llm
    if (llm === undefined || config === undefined || ctx.config.backends.scoreModel !== "llm") return llm
    const logprobs = yield* Backends.logprobsOf(config, llm.traffic.onAttempt)
    ctx.recorder.setLlmLogprobs(logprobs)
    return { ...llm, logprobs } satisfies Backends.Llm
  })

const body = (ctx: RunContext, options: RunOptions, started: number) =>
  Effect.gen(function* () {
    const { config } = ctx
    const partial = (): RunResult => ({
      runDir: ctx.runDir,
      rows: [],
      reportMarkdown: "",
      reportFiles: [],
      manifestFile: ctx.recorder.file,
      durationMs: performance.now() - started
    })
    // One LLM client for the whole run (judge, pairwise judge, prompt-only), checked before any work.
    // with a fine-tuned score model and no backends.llm, the pairwise judge is the served score model
    const judgeOnScoreModel = config.backends.llm === undefined && config.backends.scoreModel === "fine-tuned"
    const llmRequired =
      config.backends.scoreModel === "llm" ||
      (config.stage2.judge === "llm" && config.stage2.enabled && !judgeOnScoreModel) ||
      config.documents.rewrite === "llm"
    if (config.backends.llm === undefined && llmRequired) {
      return yield* new PipelineError({
        reason: "backend-missing",
        detail: `${config.backends.scoreModel === "llm" ? 'backends.scoreModel is "llm"' : config.documents.rewrite === "llm" ? 'documents.rewrite is "llm"' : 'stage2.judge is "llm"'} but no LLM backend is configured: it ${Backends.needsLlm}`,
        hint: 'configure backends.llm (preset, baseUrl, model, apiKeyEnv), or use the embedded models ("embedded" / "score-model")'
      })
    }
    const plan = Systems.plan(config, options.systems)
    const usesLlm = llmRequired || plan.needsLlm
    const llm = usesLlm && config.backends.llm !== undefined ? yield* llmOf(ctx, config.backends.llm) : undefined
    // what this invocation spends is recorded even when it fails or is interrupted
    if (llm !== undefined) ctx.recorder.trackLlm(() => llm.cost.report())
    yield* preflightExternal(ctx, plan)
    return yield* stages(ctx, options, plan, llm, partial, started).pipe(
      Effect.provideService(WorkUnits.SetAside, {
        maxFailedFraction: config.backends.llm?.maxFailedFraction ?? Backends.setAsideDefaults.maxFailedFraction,
        coolDownMs: config.backends.llm?.coolDownMs ?? Backends.setAsideDefaults.coolDownMs,
        onExcluded: (stage, items, error) => llm?.traffic.onExcluded(stage, items, error)
      })
    )
  })

/** What the runner's phases read, and the report's rows, filter counts and alignment they add to. */
interface RunState {
  readonly ctx: RunContext
  readonly options: RunOptions
  readonly plan: Systems.SystemPlan
  readonly llm: Backends.Llm | undefined
  readonly prepared: Prepare.Prepared
  readonly dataset: string
  readonly documents: ReadonlyMap<string, Document.Document>
  readonly test: Evaluate.TestData
  readonly rows: Array<Report.SystemRow>
  readonly filters: Array<Report.ReportInput["filters"][number]>
  readonly alignment: Array<Report.ReportInput["alignment"][number]>
}

/** The base model (labeled pairs only) and the score model every later stage grades with. */
interface Foundation {
  readonly base: Artifact.Artifact
  readonly baseModel: Models.TextEmbedder
  readonly score: ScoreStage.ScoreStageResult
  readonly graderInput: Artifact.Input
  /** The score model, an LLM judge booking its calls under the stage that makes them. */
  readonly graderAt: (stage: string) => Models.Grader
}

type Writers = Map<Systems.QueryModel, QueryModelStage.QueryModelResult>

/**
 * The runner: the phases in order, each reusing what an earlier run of the same artifacts left, with the `until`
 * exits between them.
 */
const stages = (
  ctx: RunContext,
  options: RunOptions,
  plan: Systems.SystemPlan,
  client: Backends.Llm | undefined,
  partial: () => RunResult,
  started: number
) =>
  Effect.gen(function* () {
    const prepared = yield* Prepare.run(ctx, client)
    if (options.until === "prepare") return partial()
    yield* checkSetup(ctx, options, prepared)
    const llm = yield* withLogprobs(ctx, client)
    const state = stateOf(ctx, options, plan, llm, prepared)
    const foundation = yield* baseAndScoreModel(state)
    if (options.until === "score-model") return partial()
    const { writers, stage1, pool } = yield* stage1QueryModels(state, foundation)
    if (options.until === "stage1") return partial()
    if (stage1 !== undefined) yield* stage2QueryModel(state, foundation, { writers, stage1, pool })
    if (options.until === "stage2") return partial()
    const synthetic = yield* synthesize(state, foundation, writers)
    if (options.until === "synthesis") return partial()
    const published = yield* trainAndEvaluateSystems(state, foundation, synthetic)
    if (options.until === "train") return partial()
    if (options.references !== false) yield* evaluateReferences(state)
    yield* publishCheckpoints(state, published, foundation.score, writers)
    return yield* report(state, foundation.score, synthetic.sets, started)
  })

const stateOf = (
  ctx: RunContext,
  options: RunOptions,
  plan: Systems.SystemPlan,
  llm: Backends.Llm | undefined,
  prepared: Prepare.Prepared
): RunState => {
  const { data } = ctx.config
  const dataset =
    data.dir !== undefined
      ? path.basename(path.resolve(data.dir))
      : path.basename(path.dirname(path.resolve(data.labeled ?? ".")))
  return {
    ctx,
    options,
    plan,
    llm,
    prepared,
    dataset,
    documents: new Map(prepared.documents.map((d) => [d.id, d] as const)),
    test: { dataset, retrievalTest: prepared.retrievalTest, pairTest: prepared.pairTest, scale: prepared.scale },
    rows: [],
    filters: [],
    alignment: []
  }
}

const FilterCountsList = Schema.Array(RunManifest.FilterCounts)

/** The filter counts a gated stage recorded in its artifact (none when it recorded none). */
const filtersOf = (artifact: Artifact.Artifact): ReadonlyArray<typeof RunManifest.FilterCounts.Type> => {
  const info = artifact.record.info
  const filters = typeof info === "object" && info !== null && "filters" in info ? info.filters : undefined
  return Schema.is(FilterCountsList)(filters) ? filters : []
}

/** The base model: labeled pairs only. Its similarity is also the score model's strongest feature. */
const baseAndScoreModel = (state: RunState) =>
  Effect.gen(function* () {
    const { ctx, prepared } = state
    const base = yield* Training.run(ctx, {
      system: "base",
      labeled: prepared.labeled,
      synthetic: [],
      binary: false,
      scale: prepared.scale
    })
    const baseModel = yield* Training.load(base)
    const score = yield* ScoreStage.run(
      ctx,
      prepared.labeled,
      prepared.scale,
      baseModel,
      Artifact.asInput("embedder", base),
      state.llm
    )
    const grader: Models.Grader = score.grader
    return {
      base,
      baseModel,
      score,
      graderInput: Artifact.asInput("score-model", score.artifact),
      graderAt: (stage: string): Models.Grader => score.forStage?.(stage) ?? grader
    } satisfies Foundation
  })

/** The query models before Stage 2: vanilla (labeled-only D2Q) and, after Stage 1's re-annotation, v1. */
const stage1QueryModels = (state: RunState, f: Foundation) =>
  Effect.gen(function* () {
    const { ctx, prepared, plan } = state
    const pool = Stage1.queryPool(prepared.labeled, prepared.unlabeled)
    const writers: Writers = new Map()
    const train = (name: Systems.QueryModel, d2q: ReadonlyArray<Pair.D2QGroup>) =>
      QueryModelStage.run(ctx, name, d2q, pool, f.graderAt(`query-model:${name}`), f.graderInput)
    if (plan.queryModels.includes("vanilla"))
      writers.set("vanilla", yield* train("vanilla", Stage1.labeledD2Q(prepared.labeled)))
    let stage1: Stage1.Stage1Result | undefined
    if (plan.stage1) {
      stage1 = yield* Stage1.run(ctx, prepared.labeled, prepared.unlabeled, f.graderAt("stage1"), f.graderInput)
      writers.set("v1", yield* train("v1", stage1.d2q))
    }
    return { writers, stage1, pool }
  })

/** Stage 2 (v1 generates, the score and pairwise gates filter) and query model v2 trained on what it kept. */
const stage2QueryModel = (
  state: RunState,
  f: Foundation,
  { writers, stage1, pool }: { writers: Writers; stage1: Stage1.Stage1Result; pool: ReadonlyArray<string> }
) =>
  Effect.gen(function* () {
    const { ctx, prepared, llm } = state
    const v1 = writers.get("v1")
    if (!state.plan.stage2 || v1 === undefined) return
    const judge =
      ctx.config.stage2.judge !== "llm"
        ? undefined
        : llm !== undefined
          ? PairwiseJudge.fromChat(llm.client, { stage: "stage2-pairwise" })
          : f.score.chat !== undefined
            ? PairwiseJudge.fromChat(f.score.chat.client, { model: f.score.chat.model, stage: "stage2-pairwise" })
            : undefined
    const stage2 = yield* Stage2.run(ctx, {
      writer: v1.writer,
      writerInput: Artifact.asInput("query-model", v1.artifact),
      grader: f.graderAt("stage2"),
      graderInput: f.graderInput,
      unlabeled: prepared.unlabeled,
      documents: state.documents,
      stage1D2Q: stage1.d2q,
      judge
    })
    state.filters.push({ stage: "stage2", filters: filtersOf(stage2.artifact) })
    state.alignment.push({
      model: "query model v1 on stage-2 documents (before filtering)",
      counts: stage2.artifact.record.counts
    })
    writers.set(
      "v2",
      yield* QueryModelStage.run(ctx, "v2", stage2.d2q, pool, f.graderAt("query-model:v2"), f.graderInput)
    )
  })

/** The kept synthetic queries of each writer, and why prompt-only has none when it needs an LLM the run lacks. */
interface SyntheticSets {
  readonly sets: ReadonlyMap<string, ReadonlyArray<SyntheticQuery.SyntheticQuery>>
  readonly promptOnlyNote: string | undefined
}

/**
 * Synthesis: the same documents and gates for every query model, then prompt-only synthesis when chosen; without
 * an LLM its row says so instead of silently degrading.
 */
const synthesize = (state: RunState, f: Foundation, writers: Writers) =>
  Effect.gen(function* () {
    const { ctx, prepared, llm } = state
    const { config } = ctx
    const documents = Synthesis.documentsFor(prepared, state.documents, config.synthesis.documents, config.seed)
    const testQueries = [...prepared.retrievalTest, ...prepared.pairTest].map((p) => p.query)
    const han = Synthesis.isHanDomain(prepared.labeled)
    const sets = new Map<string, ReadonlyArray<SyntheticQuery.SyntheticQuery>>()
    const run = (
      name: string,
      stage: SyntheticQuery.SyntheticQuery["stage"],
      writer: Models.QueryWriter,
      writerInput: Artifact.Input,
      label: string
    ) =>
      Effect.gen(function* () {
        const result = yield* Synthesis.run(ctx, {
          system: name,
          stage,
          writer,
          writerInput,
          grader: f.graderAt(`synthesis:${name}`),
          graderInput: f.graderInput,
          documents,
          testQueries,
          han
        })
        state.filters.push({ stage: `synthesis:${name}`, filters: filtersOf(result.artifact) })
        state.alignment.push({ model: label, counts: result.artifact.record.counts })
        sets.set(name, result.kept)
      })
    if (config.synthesis.documents > 0) {
      for (const name of Systems.queryModelOrder) {
        const w = writers.get(name)
        const spec = Systems.queryModels[name]
        if (w !== undefined)
          yield* run(name, spec.stage, w.writer, Artifact.asInput("query-model", w.artifact), spec.label)
      }
    }
    let promptOnlyNote: string | undefined
    if (state.plan.needsLlm) {
      if (llm === undefined) promptOnlyNote = `${Backends.needsLlm} (set backends.llm)`
      else {
        const writer = PromptQueryModel.make({ client: llm.client, scale: prepared.scale })
        yield* run(
          "prompt-only",
          "prompt-only",
          writer,
          { name: "query-model", sha256: `llm:${writer.id}:${PromptQueryModel.promptVersion}` },
          `prompt-only (${writer.id})`
        )
      }
    }
    return { sets, promptOnlyNote } satisfies SyntheticSets
  })

/** Trains and evaluates one system; with `until: "train"` only trains. */
const trainAndEvaluate = (state: RunState, f: Foundation, synthetic: SyntheticSets, system: Systems.PlannedSystem) =>
  Effect.gen(function* () {
    const { ctx, prepared, plan } = state
    const { trainAs } = system
    const trained =
      trainAs === "base"
        ? f.base
        : yield* Training.run(ctx, {
            system: trainAs,
            labeled: prepared.labeled,
            synthetic: system.synthetic !== undefined ? (synthetic.sets.get(system.synthetic) ?? []) : [],
            binary: system.binary,
            scale: prepared.scale
          })
    if (state.options.until === "train") return trained
    const model = trainAs === "base" ? f.baseModel : yield* Training.load(trained)
    const results = yield* Evaluate.run(
      ctx,
      trainAs,
      { _tag: "embedder", embedder: model },
      Artifact.asInput("model", trained),
      state.test
    )
    // a system that shares another's artifacts is still reported under its own name
    const named = (r: typeof results.retrieval) =>
      r === undefined || trainAs === system.name ? r : { ...r, ssra: { ...r.ssra, model_name: system.name } }
    state.rows.push({
      system: system.name,
      label: system.spec.label,
      status: "ok",
      note: system.spec.note?.({ ssraModel: plan.ssraModel, scaleMax: prepared.scale.max }),
      retrieval: named(results.retrieval),
      pairs: named(results.pairs),
      trainingRows: trained.record.counts
    })
    return trained
  })

/** Every chosen system in order; returns the model the run publishes (SSRA's, else the base model). */
const trainAndEvaluateSystems = (state: RunState, f: Foundation, synthetic: SyntheticSets) =>
  Effect.gen(function* () {
    let published: Artifact.Artifact = f.base
    for (const system of state.plan.systems) {
      if (system.synthetic === "prompt-only" && synthetic.promptOnlyNote !== undefined) {
        state.rows.push({
          system: system.name,
          label: system.spec.label,
          status: "needs-llm",
          note: synthetic.promptOnlyNote
        })
        continue
      }
      const trained = yield* trainAndEvaluate(state, f, synthetic, system)
      if (system.spec.published === true) published = trained
    }
    return published
  })

/** The lexical reference scorers (no training). */
const evaluateReferences = (state: RunState) =>
  Effect.gen(function* () {
    for (const [name, label, scorer] of [
      ["reference:bm25", "BM25, char 1+2-grams (reference, no training)", PairScorer.bm25()],
      ["reference:char-ngram", "char 1+2-gram cosine (reference, no training)", PairScorer.charNgram()]
    ] as const) {
      const results = yield* Evaluate.run(
        state.ctx,
        name,
        { _tag: "scorer", scorer },
        { name: "scorer", sha256: name },
        state.test
      )
      state.rows.push({ system: name, label, status: "reference", retrieval: results.retrieval, pairs: results.pairs })
    }
  })

/**
 * Checkpoints at the agreed places for `ssra serve`, the eval runner and users (`<run>/model`, `score-model`,
 * `query-model`), each published atomically (`AtomicFile.copyDirectorySync`).
 */
const publishCheckpoints = (
  state: RunState,
  published: Artifact.Artifact,
  score: ScoreStage.ScoreStageResult,
  writers: Writers
) =>
  Effect.try({
    try: () => {
      const { runDir } = state.ctx
      AtomicFile.copyDirectorySync(path.join(published.dir, "model"), path.join(runDir, "model"))
      // an LLM judge has no checkpoint: its id and prompt are in the manifest
      if (fs.existsSync(path.join(score.artifact.dir, "score-model")))
        AtomicFile.copyDirectorySync(path.join(score.artifact.dir, "score-model"), path.join(runDir, "score-model"))
      const qm = writers.get(state.plan.ssraModel) ?? writers.get("v1") ?? writers.get("vanilla")
      if (qm !== undefined)
        AtomicFile.copyDirectorySync(path.join(qm.artifact.dir, "query-model"), path.join(runDir, "query-model"))
    },
    catch: (cause) =>
      new PipelineError({
        reason: "io",
        stage: "checkpoints",
        detail: `cannot copy checkpoints into ${state.ctx.runDir}: ${(cause as Error).message}`,
        hint: "check the disk has space"
      })
  })

/** Rows per grade of the labeled training pairs and of each kept synthetic set, with the grade training uses. */
const gradeMix = (
  labeled: ReadonlyArray<{ readonly label: number }>,
  synthetic: ReadonlyMap<string, ReadonlyArray<SyntheticQuery.SyntheticQuery>>
): Report.ReportInput["gradeMix"] => {
  const count = (grades: ReadonlyArray<number>) => {
    const out: Record<string, number> = {}
    for (const g of grades) out[String(g)] = (out[String(g)] ?? 0) + 1
    return out
  }
  return [
    { source: "labeled", grades: count(labeled.map((p) => p.label)) },
    ...[...synthetic].map(([name, kept]) => ({
      source: `synthetic: ${name}`,
      grades: count(Training.syntheticPairs(kept).map((p) => p.label))
    }))
  ]
}

/** The LLM usage file and the report (`Report.write`, in the paper's table layout). */
const report = (
  state: RunState,
  score: ScoreStage.ScoreStageResult,
  synthetic: ReadonlyMap<string, ReadonlyArray<SyntheticQuery.SyntheticQuery>>,
  started: number
) =>
  Effect.gen(function* () {
    const { ctx, llm, prepared } = state
    const { config } = ctx
    if (llm !== undefined) {
      const usage = llm.cost.report()
      ctx.recorder.setLlmUsage(usage)
      yield* AtomicFile.writeJson(path.join(ctx.runDir, "llm-usage.json"), usage).pipe(
        Effect.mapError((e) => new PipelineError({ reason: "io", stage: "report", detail: e.message }))
      )
    }
    const reportInput: Report.ReportInput = {
      title: state.options.title ?? `SSRA run — ${state.dataset}`,
      dataset: state.dataset,
      scaleMax: prepared.scale.max,
      rows: state.rows,
      tables: Report.paperTables(prepared.scale.max),
      alignment: state.alignment,
      scoreModel: score.report,
      filters: state.filters,
      resamples: config.evaluation.bootstrapSamples,
      minCandidates: config.evaluation.minCandidates,
      seed: config.seed,
      runDir: ctx.runDir,
      durationMs: performance.now() - started,
      gradeMix: gradeMix(prepared.labeled, synthetic),
      ...(llm !== undefined ? { llmTraffic: llm.traffic.report() } : {})
    }
    const written = yield* Report.write(path.join(ctx.runDir, "report"), reportInput, () => ({
      durationMs: performance.now() - started,
      timeSpent: ctx.recorder.timeSoFar()
    }))
    yield* Progress.note("report", `wrote ${written.files[0]}`)
    return {
      runDir: ctx.runDir,
      rows: state.rows,
      reportMarkdown: written.markdown,
      reportFiles: written.files,
      manifestFile: ctx.recorder.file,
      // the number the report shows, so the CLI prints one time
      durationMs: written.durationMs,
      timeSpent: ctx.recorder.timeSoFar()
    } satisfies RunResult
  })
