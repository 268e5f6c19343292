/**
 * Stage "score-model": trains the embedded score model on the labeled pairs (with the labeled-only embedding
 * model's similarity as a feature, which is what separates grade 1 from 0) and records its held-out report next
 * to the majority-class and BM25-threshold baselines. The checkpoint is the artifact (`score-model/`).
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { Hash, Models, type Pair, Sampling } from "@ssra/core"
import type { ChatClient } from "@ssra/llm"
import {
  EmbeddedScoreModel,
  FineTunedJudge,
  LlmJudge,
  ScoreModelError,
  ScorePrompt,
  Sft,
  TrainingReport
} from "@ssra/score-model"
import { Effect, type Scope } from "effect"
import type { HttpClient } from "effect/http"
import * as Artifact from "./Artifact.js"
import * as Backends from "./Backends.js"
import * as External from "./External.js"
import { type RunContext, record, stageError } from "./internal/context.js"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"

/**
 * The trained score model and its artifact.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScoreStageResult {
  readonly artifact: Artifact.Artifact
  readonly grader: Models.Grader
  /**
   * The same grader with its LLM usage booked under `stage` (an LLM judge; the embedded model makes no calls), so
   * the manifest's per-stage tokens and cost say which stage spent them. Same id, same answers, same cache.
   */
  readonly forStage?: ((stage: string) => Models.Grader) | undefined
  /** Held-out classifier metrics by model name (the score model and, for the embedded one, its baselines). */
  readonly report: Readonly<Record<string, TrainingReport.ClassifierMetrics>>
  /** A served fine-tuned score model's chat client and model id (the pairwise judge when no backends.llm is set). */
  readonly chat?: { readonly client: ChatClient.ChatClientShape; readonly model: string } | undefined
}

/**
 * Trains (or reuses) the embedded score model.
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  labeled: ReadonlyArray<Pair.LabeledPair>,
  scale: { readonly max: 1 | 2 | 3 },
  embedder: Models.TextEmbedder,
  embedderInput: Artifact.Input,
  llm?: Backends.Llm | undefined
): Effect.Effect<ScoreStageResult, PipelineError, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const stage = "score-model"
    if (ctx.config.backends.scoreModel === "fine-tuned") return yield* fineTunedJudge(ctx, labeled, scale)
    if (ctx.config.backends.scoreModel === "llm") {
      if (llm === undefined) {
        return yield* new PipelineError({
          reason: "backend-missing",
          stage,
          detail: `backends.scoreModel is "llm" but no LLM backend is configured: the LLM judge ${Backends.needsLlm}`,
          hint: 'set backends.scoreModel to "embedded", or configure backends.llm (preset, baseUrl, model, apiKeyEnv)'
        })
      }
      return yield* llmJudge(ctx, labeled, scale, llm)
    }
    const options = { seed: ctx.config.seed, heldOutFraction: ctx.config.scoreModel.devFraction, scaleMax: scale.max }
    const spec: Artifact.Spec = {
      stage,
      config: options,
      inputs: [embedderInput, { name: "labeled", sha256: Hash.hashValue(labeled) }]
    }
    const dirOf = (a: { dir: string }) => path.join(a.dir, "score-model")
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        const sink = yield* Progress.Progress
        const model = yield* EmbeddedScoreModel.train({
          pairs: labeled.map((p) => ({ query: p.query, doc: p.doc, label: p.label, qid: p.qid })),
          scale,
          embedder,
          seed: options.seed,
          heldOutFraction: options.heldOutFraction,
          onProgress: (e) => sink.emit({ type: "progress", stage, ...e })
        })
        yield* EmbeddedScoreModel.save(model, dirOf({ dir }))
        const report = EmbeddedScoreModel.heldOutReport(model)
        return {
          counts: { pairs: labeled.length, heldOut: report.model.metrics.count },
          info: {
            components: [{ name: "score-model", id: model.id, config: options }],
            report: {
              model: report.model.metrics,
              majority: report.majority.metrics,
              bm25Threshold: report.bm25Threshold.metrics,
              calibration: report.model.calibration ?? null
            }
          }
        }
      }).pipe(
        Effect.mapError(
          (e) =>
            new PipelineError({
              reason:
                e instanceof ScoreModelError.ScoreCheckpointError
                  ? "io"
                  : e instanceof Models.ModelError
                    ? "internal"
                    : "input",
              stage,
              detail: e.message
            })
        )
      )
    )
    yield* record(ctx, artifact)
    const grader = yield* EmbeddedScoreModel.load(dirOf(artifact), { embedder }).pipe(
      Effect.mapError(
        (e) => new PipelineError({ reason: "io", stage, detail: e.message, hint: `delete ${artifact.dir} and rerun` })
      )
    )
    const report = EmbeddedScoreModel.heldOutReport(grader)
    return {
      artifact,
      grader,
      report: {
        "embedded score model": report.model.metrics,
        "majority class": report.majority.metrics,
        "BM25 threshold": report.bm25Threshold.metrics
      }
    }
  })

const knownNoLogprobs = (ctx: RunContext, llm: Backends.Llm) =>
  llm.logprobs !== undefined
    ? llm.logprobs.value === false && llm.logprobs.source !== "assumed"
    : ctx.config.backends.llm?.logprobs === false

/**
 * The LLM judge as the score model (the paper's setting): in-domain few-shot examples from the labeled pairs,
 * probabilities from logprobs or samples; measured on held-out labeled queries before it is used.
 *
 * @since 0.1.0
 * @category stages
 */
export const llmJudge = (
  ctx: RunContext,
  labeled: ReadonlyArray<Pair.LabeledPair>,
  scale: { readonly max: 1 | 2 | 3 },
  llm: Backends.Llm
): Effect.Effect<ScoreStageResult, PipelineError> =>
  Effect.gen(function* () {
    const { pool, evaluation } = split(ctx, labeled)
    const fewShot = ScorePrompt.fewShot(pool, scale, 2, ctx.config.seed)
    const make = (stage?: string) =>
      LlmJudge.make({
        client: llm.client,
        scale,
        fewShot,
        seed: ctx.config.seed,
        // an endpoint known to return no logprobs (config, preset, GGUF or the preflight's probe) is not asked for
        // them: each first ask would be a wasted call; an "assumed" answer keeps "auto"
        ...(knownNoLogprobs(ctx, llm) ? { probabilities: "samples" as const } : {}),
        ...(stage !== undefined ? { stage } : {})
      })
    return yield* measured(ctx, labeled, scale, evaluation, make, { kind: "llm", fewShotPerGrade: 2 }, "LLM judge")
  })

/**
 * A score model fine-tuned outside ssra (the paper's setting: an LLM fine-tuned on the labeled pairs) and served
 * at `backends.external.scoreModel`: the judge's zero-shot prompt against it, measured on the same held-out
 * labeled queries as the other score models. Without an endpoint the run hands off: the SFT kit is written from
 * the labeled pairs *outside* the held-out queries, so the measurement stays honest.
 *
 * @since 0.1.0
 * @category stages
 */
export const fineTunedJudge = (
  ctx: RunContext,
  labeled: ReadonlyArray<Pair.LabeledPair>,
  scale: { readonly max: 1 | 2 | 3 }
): Effect.Effect<ScoreStageResult, PipelineError, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { pool, evaluation } = split(ctx, labeled)
    const rows = pool.map((p) => Sft.scoreRow(scale, p))
    const endpoint = External.endpointOf(ctx, "scoreModel")
    if (endpoint === undefined) return yield* External.handoff(ctx, "scoreModel", "score-model", rows)
    const { llm, model } = yield* External.client(ctx, "scoreModel", endpoint)
    const make = (stage?: string) =>
      FineTunedJudge.make({
        client: llm.client,
        model,
        scale,
        seed: ctx.config.seed,
        ...(endpoint.samples !== undefined ? { samples: endpoint.samples } : {}),
        ...(stage !== undefined ? { stage } : {})
      })
    const result = yield* measured(
      ctx,
      labeled,
      scale,
      evaluation,
      make,
      { kind: "fine-tuned", endpoint: endpoint.baseUrl, model, sft: Hash.hashValue(rows) },
      "fine-tuned score model"
    )
    return { ...result, chat: { client: llm.client, model } }
  })

/** The labeled pairs the judge may learn from (few-shot, SFT) and ≤ 200 held-out pairs it is measured on. */
const split = (ctx: RunContext, labeled: ReadonlyArray<Pair.LabeledPair>) => {
  const { first: pool, second: heldOut } = Sampling.splitByGroup(
    labeled,
    (p) => p.qid,
    ctx.config.scoreModel.devFraction,
    ctx.config.seed
  )
  return { pool, evaluation: Sampling.sample(heldOut, 200, ctx.config.seed) }
}

/** An LLM judge measured on the held-out pairs (the artifact), then used as the run's grader. */
const measured = (
  ctx: RunContext,
  labeled: ReadonlyArray<Pair.LabeledPair>,
  scale: { readonly max: 1 | 2 | 3 },
  evaluation: ReadonlyArray<Pair.LabeledPair>,
  make: (stage?: string) => LlmJudge.LlmJudge,
  config: Record<string, unknown>,
  name: string
): Effect.Effect<ScoreStageResult, PipelineError> =>
  Effect.gen(function* () {
    const stage = "score-model"
    const grader = make()
    const spec: Artifact.Spec = {
      stage,
      config: {
        ...config,
        judge: grader.id,
        promptVersion: grader.promptVersion,
        heldOut: evaluation.length,
        seed: ctx.config.seed
      },
      inputs: [{ name: "labeled", sha256: Hash.hashValue(labeled) }]
    }
    const artifact = yield* Artifact.cached(ctx.runDir, spec, () =>
      Effect.gen(function* () {
        const judgments = yield* grader.grade(evaluation)
        const metrics = TrainingReport.classifierMetrics(
          evaluation.map((p) => p.label),
          judgments.map((j) => j.grade),
          scale
        )
        return {
          counts: { heldOut: evaluation.length },
          info: {
            components: [
              {
                name: "score-model",
                id: grader.id,
                config: { kind: config.kind, promptVersion: grader.promptVersion }
              }
            ],
            metrics
          }
        }
      }).pipe(Effect.mapError(stageError(stage)))
    )
    yield* record(ctx, artifact)
    const metrics = (artifact.record.info as { metrics: TrainingReport.ClassifierMetrics }).metrics
    return { artifact, grader, forStage: (usageStage: string) => make(usageStage), report: { [name]: metrics } }
  })
