/**
 * Which models the server holds, and where they come from. A server needs at least one model: an embedder
 * (embeddings, and cosine fallback for rerank/relevance/filter), a grader (graded rerank/relevance/filter) or
 * a query writer (`/v1/queries`).
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Failure, type Grade, type Models } from "@ssra/core"
import { DualEncoder } from "@ssra/embedding"
import { OpenAiCompatible, RemoteEmbedder } from "@ssra/llm"
import { EmbeddedQueryModel } from "@ssra/query-model"
import { EmbeddedScoreModel, LlmJudge } from "@ssra/score-model"
import { Context, Effect, Schema } from "effect"
import type { HttpClient } from "effect/http"

/**
 * Loaded models. Any backend implementing core's interfaces fits (checkpoints, `@ssra/llm` remote embedders
 * and LLM judges, ...).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerModels {
  readonly embedder?: Models.TextEmbedder | undefined
  readonly grader?: Models.Grader | undefined
  readonly queryWriter?: Models.QueryWriter | undefined
}

/**
 * The models of a running server (set once loading finishes).
 *
 * @since 0.1.0
 * @category services
 */
export class LoadedModels extends Context.Service<LoadedModels, { current: ServerModels | undefined }>()(
  "@ssra/app-server/LoadedModels"
) {}

/**
 * Why models could not be loaded.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelLoadError extends Schema.TaggedError<ModelLoadError>()("ModelLoadError", {
  source: Schema.String,
  message: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  /** Models that cannot be loaded are bad input: a directory that holds no finished model. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("input", {
      label: "cannot load models",
      hint: "pass a finished run directory (--run) or checkpoint directories"
    })
  }
}

/**
 * Where the models come from: loaded objects, or an effect that loads them (run at start-up, after the server
 * listens, so `/healthz` answers and `/readyz` says 503 while large models load). `R` is what loading needs
 * (`HttpClient` for `fromSources` with a remote embedder or judge); the server then needs it too.
 *
 * @since 0.1.0
 * @category models
 */
export type ModelSource<R = never> = ServerModels | Effect.Effect<ServerModels, ModelLoadError, R>

/**
 * Checks that at least one model is present.
 *
 * @since 0.1.0
 * @category combinators
 */
export const requireAny = (models: ServerModels): Effect.Effect<ServerModels, ModelLoadError> =>
  models.embedder === undefined && models.grader === undefined && models.queryWriter === undefined
    ? Effect.fail(
        new ModelLoadError({
          source: "config",
          message: "no model configured: pass --checkpoint, --score-model, --query-model or --run"
        })
      )
    : Effect.succeed(models)

/**
 * Resolves a source to loaded models.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = <R = never>(source: ModelSource<R>): Effect.Effect<ServerModels, ModelLoadError, R> =>
  Effect.flatMap(Effect.isEffect(source) ? source : Effect.succeed(source), requireAny)

/**
 * Model locations and backends, as the CLI flags give them. Explicit directories override the ones found under
 * `run`; a remote embedder or LLM judge replaces the checkpoint of the same role; loaded objects win over all.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelSources {
  /** A pipeline run directory: `<run>/model`, `<run>/score-model`, `<run>/query-model` (each used when present). */
  readonly run?: string | undefined
  /** A `DualEncoder` checkpoint directory (`model.safetensors` + `config.json`). */
  readonly checkpoint?: string | undefined
  /** An `EmbeddedScoreModel` directory; it is given the embedder loaded from `checkpoint`/`run`. */
  readonly scoreModel?: string | undefined
  /** An `EmbeddedQueryModel` directory. */
  readonly queryModel?: string | undefined
  /** An OpenAI-compatible `/v1/embeddings` backend (vLLM, Ollama, llama.cpp server, OpenAI, ...). */
  readonly remoteEmbedder?: RemoteEmbedder.RemoteEmbedderConfig | undefined
  /** An LLM judge over an OpenAI-compatible chat backend. */
  readonly llmJudge?:
    | {
        readonly chat: OpenAiCompatible.OpenAiCompatibleConfig
        readonly scale: Grade.GradeScale
        readonly options?: Omit<LlmJudge.Options, "client" | "scale"> | undefined
      }
    | undefined
  readonly embedder?: Models.TextEmbedder | undefined
  readonly grader?: Models.Grader | undefined
  readonly queryWriter?: Models.QueryWriter | undefined
}

const fromCheckpoint = <A, E extends { readonly message: string }>(
  role: string,
  dir: string,
  load: Effect.Effect<A, E>
): Effect.Effect<A, ModelLoadError> =>
  Effect.mapError(
    load,
    (error) => new ModelLoadError({ source: `${role} ${dir}`, message: error.message, cause: error })
  )

const exists = (dir: string): boolean => fs.existsSync(dir)

/**
 * Loads models from directories and backends. A remote embedder or LLM judge sends through the provided
 * `HttpClient`, which must outlive the loaded models (provide it around the whole serve, as `main.ts` does).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSources = (
  sources: ModelSources
): Effect.Effect<ServerModels, ModelLoadError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const run = sources.run
    if (run !== undefined && !exists(run)) {
      return yield* new ModelLoadError({ source: `--run ${run}`, message: `no such run directory: ${run}` })
    }
    const inRun = (name: string) => {
      if (run === undefined) return undefined
      const dir = path.join(run, name)
      return exists(dir) ? dir : undefined
    }
    const checkpoint = sources.checkpoint ?? inRun("model")
    const scoreDir = sources.scoreModel ?? inRun("score-model")
    const queryDir = sources.queryModel ?? inRun("query-model")
    if (run !== undefined && checkpoint === undefined && scoreDir === undefined && queryDir === undefined) {
      return yield* new ModelLoadError({
        source: `--run ${run}`,
        message: `${run} has none of model/, score-model/, query-model/: is it a pipeline run directory?`
      })
    }

    let embedder = sources.embedder
    if (embedder === undefined && sources.remoteEmbedder !== undefined) {
      const config = sources.remoteEmbedder
      embedder = yield* RemoteEmbedder.make(config).pipe(
        Effect.mapError(
          (error) =>
            new ModelLoadError({
              source: `remote embedder ${config.baseUrl ?? config.preset ?? ""}`,
              message: error.message
            })
        )
      )
    }
    if (embedder === undefined && checkpoint !== undefined) {
      embedder = yield* fromCheckpoint("--checkpoint", checkpoint, DualEncoder.load(checkpoint))
    }

    let grader = sources.grader
    if (grader === undefined && sources.llmJudge !== undefined) {
      const judge = sources.llmJudge
      const client = yield* OpenAiCompatible.make(judge.chat)
      grader = LlmJudge.make({ ...judge.options, client, scale: judge.scale })
    }
    if (grader === undefined && scoreDir !== undefined) {
      grader = yield* fromCheckpoint("--score-model", scoreDir, EmbeddedScoreModel.load(scoreDir, { embedder }))
    }

    let queryWriter = sources.queryWriter
    if (queryWriter === undefined && queryDir !== undefined) {
      queryWriter = yield* fromCheckpoint("--query-model", queryDir, EmbeddedQueryModel.load(queryDir))
    }
    return yield* requireAny({ embedder, grader, queryWriter })
  })
