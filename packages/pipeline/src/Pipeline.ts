/**
 * The SSRA loop and the paper's baselines on one set of artifacts: prepare → base model (labeled only) → score
 * model → Stage 1 (re-annotation, query model v1) → Stage 2 (generation, score and pairwise gates, query model
 * v2) → grade-planned synthesis → embedding training → evaluation → report. Every stage is a content-addressed
 * artifact, so systems that share a step share its output, and a rerun after a crash resumes where it stopped.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, type DatasetError, type Models, type SyntheticQuery } from "@ssra/core"
import { PairScorer } from "@ssra/evaluation"
import { PairwiseJudge } from "@ssra/filters"
import { PromptQueryModel } from "@ssra/query-model"
import { Cause, Effect, Exit } from "effect"
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
import * as Training from "./Training.js"
import * as WorkUnits from "./WorkUnits.js"

/**
 * The systems of the paper's comparison.
 *
 * @since 0.1.0
 * @category constants
 */
export const systems = [
  "base",
  "prompt-only",
  "vanilla-sft",
  "ssra",
  "ssra-no-stage2",
  "ssra-no-stage1-2",
  "ssra-binary"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type SystemName = (typeof systems)[number]

/**
 * How each system is labeled in the tables.
 *
 * @since 0.1.0
 * @category constants
 */
export const labels: Readonly<Record<SystemName, string>> = {
  base: "base (labeled only)",
  "prompt-only": "prompt-only synthesis (LLM)",
  "vanilla-sft": "vanilla SFT query model (embedded, labeled-only D2Q)",
  ssra: "SSRA",
  "ssra-no-stage2": "SSRA w/o stage 2",
  "ssra-no-stage1-2": "SSRA w/o stages 1 and 2",
  "ssra-binary": "SSRA, binary training data {0, max}"
}

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

/** Copies a directory into place through a temporary sibling; a failed copy (e.g. a full disk) leaves no part. */
const copyDir = (from: string, to: string) => {
  const temp = `${AtomicFile.tempDirPrefixFor(to)}copy`
  fs.rmSync(temp, { recursive: true, force: true })
  try {
    fs.cpSync(from, temp, { recursive: true })
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true })
    throw error
  }
  fs.rmSync(to, { recursive: true, force: true })
  fs.renameSync(temp, to)
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
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  const failure =
    error && "error" in error ? (error.error as { _tag?: string; reason?: string; message?: string }) : undefined
  const status: Exclude<RunManifest.RunManifest["status"], "running"> =
    failure === undefined
      ? Cause.hasInterruptsOnly(exit.cause)
        ? "interrupted"
        : "failed"
      : failure._tag === "ShardPending"
        ? "shard-done"
        : failure._tag === "PipelineError" && failure.reason === "awaiting-training"
          ? "awaiting-training"
          : "failed"
  const detail =
    failure !== undefined
      ? String(failure.message)
      : status === "interrupted"
        ? "interrupted (Ctrl-C or SIGTERM): finished stages are kept, rerun the same command to resume"
        : "defect"
  return Effect.andThen(
    Effect.ignore(recorder.finish(status, detail)),
    Progress.emit({ type: "run-end", outcome: status })
  )
}

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

const want = (options: RunOptions, ...names: ReadonlyArray<SystemName>) =>
  names.some((n) => options.systems.includes(n))

/** Every served model endpoint the run will use, checked for reachability before any work (not stage by stage). */
const preflightExternal = (ctx: RunContext, options: RunOptions) =>
  Effect.gen(function* () {
    const { backends, stage1, stage2 } = ctx.config
    const used: Array<External.Which> = []
    if (backends.scoreModel === "fine-tuned") used.push("scoreModel")
    if (backends.queryModel === "fine-tuned") {
      if (want(options, "vanilla-sft", "ssra-no-stage1-2") || !stage1.enabled) used.push("vanilla")
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
    const usesLlm = llmRequired || want(options, "prompt-only")
    const llm = usesLlm && config.backends.llm !== undefined ? yield* llmOf(ctx, config.backends.llm) : undefined
    // what this invocation spends is recorded even when it fails or is interrupted
    if (llm !== undefined) ctx.recorder.trackLlm(() => llm.cost.report())
    yield* preflightExternal(ctx, options)
    return yield* stages(ctx, options, llm, partial, started).pipe(
      Effect.provideService(WorkUnits.SetAside, {
        maxFailedFraction: config.backends.llm?.maxFailedFraction ?? Backends.setAsideDefaults.maxFailedFraction,
        coolDownMs: config.backends.llm?.coolDownMs ?? Backends.setAsideDefaults.coolDownMs,
        onExcluded: (stage, items, error) => llm?.traffic.onExcluded(stage, items, error)
      })
    )
  })

const stages = (
  ctx: RunContext,
  options: RunOptions,
  client: Backends.Llm | undefined,
  partial: () => RunResult,
  started: number
) =>
  Effect.gen(function* () {
    const { config } = ctx
    const prepared = yield* Prepare.run(ctx, client)
    if (options.until === "prepare") return partial()
    yield* checkSetup(ctx, options, prepared)
    const llm = yield* withLogprobs(ctx, client)
    const scale = prepared.scale
    const dataset =
      config.data.dir !== undefined
        ? path.basename(path.resolve(config.data.dir))
        : path.basename(path.dirname(path.resolve(config.data.labeled ?? ".")))
    const test: Evaluate.TestData = {
      dataset,
      retrievalTest: prepared.retrievalTest,
      pairTest: prepared.pairTest,
      scale
    }
    const documents = new Map(prepared.documents.map((d) => [d.id, d] as const))
    const rows: Array<Report.SystemRow> = []
    const filters: Array<{
      stage: string
      filters: ReadonlyArray<{
        filter: string
        input: number
        kept: number
        rejected: number
        reasons: Readonly<Record<string, number>>
      }>
    }> = []
    const alignment: Array<{ model: string; counts: Readonly<Record<string, number>> }> = []
    const filtersOf = (a: Artifact.Artifact) =>
      ((a.record.info as { filters?: Array<any> } | null)?.filters ?? []) as Array<any>

    // The base model: labeled pairs only. Its similarity is also the score model's strongest feature.
    const base = yield* Training.run(ctx, {
      system: "base",
      labeled: prepared.labeled,
      synthetic: [],
      binary: false,
      scale
    })
    const baseModel = yield* Training.load(base)
    const score = yield* ScoreStage.run(
      ctx,
      prepared.labeled,
      scale,
      baseModel,
      Artifact.asInput("embedder", base),
      llm
    )
    const graderInput = Artifact.asInput("score-model", score.artifact)
    const grader: Models.Grader = score.grader
    // an LLM judge books its calls under the stage that makes them
    const graderAt = (stage: string): Models.Grader => score.forStage?.(stage) ?? grader
    if (options.until === "score-model") return partial()

    const stage1On = config.stage1.enabled
    const stage2On = config.stage2.enabled && stage1On
    const ssraModel = stage2On ? "v2" : stage1On ? "v1" : "vanilla"
    const needVanilla =
      want(options, "vanilla-sft", "ssra-no-stage1-2") ||
      (want(options, "ssra", "ssra-binary") && ssraModel === "vanilla")
    const needV1 = want(options, "ssra-no-stage2") || (want(options, "ssra", "ssra-binary") && stage1On)
    const needV2 = want(options, "ssra", "ssra-binary") && stage2On
    const pool = Stage1.queryPool(prepared.labeled, prepared.unlabeled)
    const writers = new Map<string, QueryModelStage.QueryModelResult>()
    if (needVanilla)
      writers.set(
        "vanilla",
        yield* QueryModelStage.run(
          ctx,
          "vanilla",
          Stage1.labeledD2Q(prepared.labeled),
          pool,
          graderAt("query-model:vanilla"),
          graderInput
        )
      )
    let stage1: Stage1.Stage1Result | undefined
    if (needV1 || needV2) {
      stage1 = yield* Stage1.run(ctx, prepared.labeled, prepared.unlabeled, graderAt("stage1"), graderInput)
      writers.set(
        "v1",
        yield* QueryModelStage.run(ctx, "v1", stage1.d2q, pool, graderAt("query-model:v1"), graderInput)
      )
    }
    if (options.until === "stage1") return partial()
    if (needV2 && stage1 !== undefined) {
      const v1 = writers.get("v1")!
      const stage2 = yield* Stage2.run(ctx, {
        writer: v1.writer,
        writerInput: Artifact.asInput("query-model", v1.artifact),
        grader: graderAt("stage2"),
        graderInput,
        unlabeled: prepared.unlabeled,
        documents,
        stage1D2Q: stage1.d2q,
        judge:
          config.stage2.judge !== "llm"
            ? undefined
            : llm !== undefined
              ? PairwiseJudge.fromChat(llm.client, { stage: "stage2-pairwise" })
              : score.chat !== undefined
                ? PairwiseJudge.fromChat(score.chat.client, { model: score.chat.model, stage: "stage2-pairwise" })
                : undefined
      })
      filters.push({ stage: "stage2", filters: filtersOf(stage2.artifact) })
      alignment.push({
        model: "query model v1 on stage-2 documents (before filtering)",
        counts: stage2.artifact.record.counts
      })
      writers.set(
        "v2",
        yield* QueryModelStage.run(ctx, "v2", stage2.d2q, pool, graderAt("query-model:v2"), graderInput)
      )
    }
    if (options.until === "stage2") return partial()

    // Synthesis: the same documents and gates for every query model.
    const synthDocs = Synthesis.documentsFor(prepared, documents, config.synthesis.documents, config.seed)
    const testQueries = [...prepared.retrievalTest, ...prepared.pairTest].map((p) => p.query)
    const han = Synthesis.isHanDomain(prepared.labeled)
    const synthetic = new Map<string, ReadonlyArray<SyntheticQuery.SyntheticQuery>>()
    const synthesize = (
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
          grader: graderAt(`synthesis:${name}`),
          graderInput,
          documents: synthDocs,
          testQueries,
          han
        })
        filters.push({ stage: `synthesis:${name}`, filters: filtersOf(result.artifact) })
        alignment.push({ model: label, counts: result.artifact.record.counts })
        synthetic.set(name, result.kept)
      })
    if (config.synthesis.documents > 0) {
      for (const [name, label] of [
        ["vanilla", "vanilla SFT (embedded, labeled-only D2Q)"],
        ["v1", "query model v1 (stage 1)"],
        ["v2", "query model v2 (stages 1 + 2)"]
      ] as const) {
        const w = writers.get(name)
        if (w !== undefined)
          yield* synthesize(
            name,
            name === "v2" ? "synthesis" : name === "v1" ? "stage1" : "vanilla-sft",
            w.writer,
            Artifact.asInput("query-model", w.artifact),
            label
          )
      }
    }

    // Prompt-only synthesis needs an LLM; without one the row says so instead of silently degrading.
    let promptOnlyNote: string | undefined
    if (want(options, "prompt-only")) {
      if (llm === undefined) promptOnlyNote = `${Backends.needsLlm} (set backends.llm)`
      else {
        const writer = PromptQueryModel.make({ client: llm.client, scale })
        yield* synthesize(
          "prompt-only",
          "prompt-only",
          writer,
          { name: "query-model", sha256: `llm:${writer.id}:${PromptQueryModel.promptVersion}` },
          `prompt-only (${writer.id})`
        )
      }
    }

    if (options.until === "synthesis") return partial()
    const evaluate = (system: string, subject: Evaluate.Subject, input: Artifact.Input) =>
      Evaluate.run(ctx, system, subject, input, test)
    const trainAndEvaluate = (
      system: SystemName,
      syntheticKey: string | undefined,
      binary: boolean,
      note?: string,
      trainAs: SystemName = system
    ) =>
      Effect.gen(function* () {
        const trained =
          trainAs === "base"
            ? base
            : yield* Training.run(ctx, {
                system: trainAs,
                labeled: prepared.labeled,
                synthetic: syntheticKey ? (synthetic.get(syntheticKey) ?? []) : [],
                binary,
                scale
              })
        if (options.until === "train") return trained
        const model = trainAs === "base" ? baseModel : yield* Training.load(trained)
        const results = yield* evaluate(
          trainAs,
          { _tag: "embedder", embedder: model },
          Artifact.asInput("model", trained)
        )
        // a system that shares another's artifacts is still reported under its own name
        const named = (r: typeof results.retrieval) =>
          r === undefined || trainAs === system ? r : { ...r, ssra: { ...r.ssra, model_name: system } }
        rows.push({
          system,
          label: labels[system],
          status: "ok",
          note,
          retrieval: named(results.retrieval),
          pairs: named(results.pairs),
          trainingRows: trained.record.counts
        })
        return trained
      })

    let finalModel: Artifact.Artifact = base
    for (const system of systems) {
      if (!options.systems.includes(system)) continue
      switch (system) {
        case "base":
          yield* trainAndEvaluate("base", undefined, false)
          break
        case "prompt-only":
          if (promptOnlyNote !== undefined)
            rows.push({ system, label: labels[system], status: "needs-llm", note: promptOnlyNote })
          else yield* trainAndEvaluate(system, "prompt-only", false)
          break
        case "vanilla-sft":
          yield* trainAndEvaluate(
            system,
            "vanilla",
            false,
            "the embedded analogue of vanilla SFT: the embedded query model trained on labeled pairs only"
          )
          break
        case "ssra":
          finalModel = yield* trainAndEvaluate(
            system,
            ssraModel,
            false,
            ssraModel === "v2"
              ? undefined
              : `query model ${ssraModel}: ${ssraModel === "v1" ? "stage 2 disabled" : "stages disabled"} in the config`
          )
          break
        case "ssra-no-stage2":
          yield* trainAndEvaluate(system, "v1", false, "query model v1 (Stage 1 only)")
          break
        case "ssra-no-stage1-2":
          yield* trainAndEvaluate(
            system,
            "vanilla",
            false,
            "same query model, data and model as vanilla SFT by construction (shared artifacts)",
            "vanilla-sft"
          )
          break
        case "ssra-binary":
          yield* trainAndEvaluate(system, ssraModel, true, `grades {0, ${scale.max}} only, labeled and synthetic`)
          break
      }
    }
    if (options.until === "train") return partial()
    if (options.references !== false) {
      for (const [name, label, scorer] of [
        ["reference:bm25", "BM25, char 1+2-grams (reference, no training)", PairScorer.bm25()],
        ["reference:char-ngram", "char 1+2-gram cosine (reference, no training)", PairScorer.charNgram()]
      ] as const) {
        const results = yield* evaluate(name, { _tag: "scorer", scorer }, { name: "scorer", sha256: name })
        rows.push({ system: name, label, status: "reference", retrieval: results.retrieval, pairs: results.pairs })
      }
    }

    // Checkpoints at the agreed places for `ssra serve`, the eval runner and users.
    yield* Effect.try({
      try: () => {
        copyDir(path.join(finalModel.dir, "model"), path.join(ctx.runDir, "model"))
        // an LLM judge has no checkpoint: its id and prompt are in the manifest
        if (fs.existsSync(path.join(score.artifact.dir, "score-model")))
          copyDir(path.join(score.artifact.dir, "score-model"), path.join(ctx.runDir, "score-model"))
        const qm = writers.get(ssraModel) ?? writers.get("v1") ?? writers.get("vanilla")
        if (qm !== undefined) copyDir(path.join(qm.artifact.dir, "query-model"), path.join(ctx.runDir, "query-model"))
      },
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          stage: "checkpoints",
          detail: `cannot copy checkpoints into ${ctx.runDir}: ${(cause as Error).message}`,
          hint: "check the disk has space"
        })
    })

    if (llm !== undefined) {
      const usage = llm.cost.report()
      ctx.recorder.setLlmUsage(usage)
      yield* AtomicFile.writeJson(path.join(ctx.runDir, "llm-usage.json"), usage).pipe(
        Effect.mapError((e) => new PipelineError({ reason: "io", stage: "report", detail: e.message }))
      )
    }
    const reportInput: Report.ReportInput = {
      title: options.title ?? `SSRA run — ${dataset}`,
      dataset,
      scaleMax: scale.max,
      rows,
      tables: [
        {
          title: "Table 3 — main comparison",
          systems: ["base", "prompt-only", "vanilla-sft", "ssra", "reference:bm25", "reference:char-ngram"],
          caption:
            "Embedding model trained on labeled data plus each method's synthetic queries (same documents, gates, seeds and trainer)."
        },
        {
          title: "Table 4 — stage ablation",
          systems: ["ssra", "ssra-no-stage2", "ssra-no-stage1-2"],
          caption:
            "Without stage 2 the query model is v1; without stages 1 and 2 it is the labeled-only (vanilla) query model."
        },
        {
          title: "Table 5 — binary vs multi-grade training data",
          systems: ["ssra-binary", "ssra"],
          caption: `Binary keeps only grades 0 and ${scale.max} (labeled and synthetic); multi-grade keeps every grade.`
        }
      ],
      alignment,
      scoreModel: score.report,
      filters,
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
      rows,
      reportMarkdown: written.markdown,
      reportFiles: written.files,
      manifestFile: ctx.recorder.file,
      // the number the report shows, so the CLI prints one time
      durationMs: written.durationMs,
      timeSpent: ctx.recorder.timeSoFar()
    } satisfies RunResult
  })
