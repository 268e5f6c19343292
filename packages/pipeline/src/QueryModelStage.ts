/**
 * Stage "query-model:<name>": trains the embedded query model on a D2Q set (documents with real queries at
 * graded relevance) and saves it as the artifact (`query-model/`). Used for vanilla SFT (labeled only), v1
 * (Stage 1's re-annotated D2Q) and v2 (plus Stage 2's filtered survivors).
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { AtomicFile, Hash, Models, type Pair } from "@ssra/core"
import { EmbeddedQueryModel, FineTunedQueryModel, QueryModelError, SftData } from "@ssra/query-model"
import { Effect, type Scope } from "effect"
import type { HttpClient } from "effect/http"
import * as Artifact from "./Artifact.js"
import * as External from "./External.js"
import { type RunContext, record, stageError } from "./internal/context.js"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"

/**
 * A trained query model and its artifact.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryModelResult {
  readonly artifact: Artifact.Artifact
  readonly writer: Models.QueryWriter
}

/**
 * Trains (or reuses) an embedded query model named `name`; with `backends.queryModel: fine-tuned`, uses the
 * served fine-tuned model instead, or hands off its SFT kit (`External`).
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  name: "vanilla" | "v1" | "v2",
  d2q: ReadonlyArray<Pair.D2QGroup>,
  queryPool: ReadonlyArray<string>,
  grader: Models.Grader,
  graderInput: Artifact.Input
): Effect.Effect<QueryModelResult, PipelineError, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const stage = `query-model:${name}`
    if (ctx.config.backends.queryModel === "fine-tuned") return yield* fineTuned(ctx, name, d2q, grader)
    if (ctx.config.backends.queryModel === "llm") {
      return yield* new PipelineError({
        reason: ctx.config.backends.llm === undefined ? "backend-missing" : "config",
        stage,
        detail:
          ctx.config.backends.llm === undefined
            ? 'backends.queryModel is "llm" but no LLM backend is configured'
            : "a fine-tuned LLM query model is trained outside this process: export the SFT data with `ssra export --format sft` and point backends.llm at the fine-tuned model",
        hint: 'set backends.queryModel to "embedded" to train the embedded query model here'
      })
    }
    if (d2q.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage,
        detail: "the D2Q set is empty",
        hint: "check the labeled and unlabeled files"
      })
    }
    const spec: Artifact.Spec = {
      stage,
      config: { seed: ctx.config.seed, scale: grader.scale.max, ...ctx.config.queryModel },
      inputs: [
        graderInput,
        { name: "d2q", sha256: Hash.hashValue(d2q) },
        { name: "pool", sha256: Hash.hashValue(queryPool) }
      ]
    }
    const dirOf = (dir: string) => path.join(dir, "query-model")
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        const sink = yield* Progress.Progress
        const model = yield* EmbeddedQueryModel.train({
          d2q,
          queryPool,
          grader,
          scale: grader.scale,
          seed: ctx.config.seed,
          maxTrainingDocs: ctx.config.queryModel.maxTrainingDocs,
          candidatesPerDoc: ctx.config.queryModel.candidatesPerDoc,
          onProgress: (e) => sink.emit({ type: "progress", stage, ...e })
        })
        yield* EmbeddedQueryModel.save(model, dirOf(dir))
        return {
          counts: {
            documents: d2q.length,
            queries: d2q.reduce((n, g) => n + g.queries.length, 0),
            pool: queryPool.length
          },
          info: {
            components: [
              { name: `query-model:${name}`, id: model.id, config: { kind: "embedded", seed: ctx.config.seed } }
            ]
          }
        }
      }).pipe(
        Effect.mapError((e) =>
          e instanceof QueryModelError.QueryCheckpointError
            ? new PipelineError({
                reason: "io",
                stage,
                detail: e.message,
                hint: "check the disk has space, then rerun the same command: finished work is kept"
              })
            : e instanceof Models.ModelError
              ? // the grader behind the query model is an LLM judge when backends.scoreModel is llm: an
                // unreachable endpoint or a spent budget is what it is, not an internal error
                stageError(stage)(e)
              : new PipelineError({ reason: "internal", stage, detail: e.message })
        )
      )
    )
    yield* record(ctx, artifact)
    const writer = yield* EmbeddedQueryModel.load(dirOf(artifact.dir)).pipe(
      Effect.mapError(
        (e) => new PipelineError({ reason: "io", stage, detail: e.message, hint: `delete ${artifact.dir} and rerun` })
      )
    )
    return { artifact, writer }
  })

const which = { vanilla: "vanilla", v1: "queryModelV1", v2: "queryModelV2" } as const

/**
 * A query model fine-tuned outside ssra on the D2Q set (the paper's query model: "(document, grade) → query"
 * chat rows, `SftData`), served at `backends.external.<vanilla|queryModelV1|queryModelV2>`. Without an endpoint
 * the run hands off its SFT kit and stops. A document the served model answers with no readable query yields no
 * candidate (counted downstream) instead of stopping the stage.
 *
 * @since 0.1.0
 * @category stages
 */
export const fineTuned = (
  ctx: RunContext,
  name: "vanilla" | "v1" | "v2",
  d2q: ReadonlyArray<Pair.D2QGroup>,
  grader: Models.Grader
): Effect.Effect<QueryModelResult, PipelineError, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const stage = `query-model:${name}`
    const set = SftData.stage1(d2q, [])
    const rows = set.examples.map((e) => SftData.toChat(e, grader.scale))
    if (rows.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage,
        detail: "the D2Q set is empty: no SFT rows for the query model",
        hint: "check the labeled and unlabeled files"
      })
    }
    const endpoint = External.endpointOf(ctx, which[name])
    if (endpoint === undefined) return yield* External.handoff(ctx, which[name], stage, rows)
    const { llm, model } = yield* External.client(ctx, which[name], endpoint)
    const writer = FineTunedQueryModel.make({
      client: llm.client,
      model,
      scale: grader.scale,
      label: name === "vanilla" ? "vanilla-sft" : name === "v1" ? "stage1" : "stage2",
      noQuery: "skip",
      ...(endpoint.temperature !== undefined ? { temperature: endpoint.temperature } : {})
    })
    const spec: Artifact.Spec = {
      stage,
      config: { kind: "fine-tuned", writer: writer.id, promptVersion: SftData.promptVersion, scale: grader.scale.max },
      inputs: [{ name: "sft", sha256: Hash.hashValue(rows) }]
    }
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        yield* AtomicFile.writeJson(path.join(dir, "query-model", "endpoint.json"), {
          kind: "fine-tuned",
          baseUrl: endpoint.baseUrl,
          model,
          writer: writer.id,
          promptVersion: SftData.promptVersion,
          sftRows: rows.length
        })
        return {
          counts: { documents: d2q.length, sftRows: rows.length },
          info: {
            components: [
              {
                name: stage,
                id: writer.id,
                config: { kind: "fine-tuned", endpoint: endpoint.baseUrl, model, sftRows: rows.length }
              }
            ]
          }
        }
      }).pipe(
        Effect.mapError((e) => new PipelineError({ reason: "io", stage, detail: e.message, hint: "check the disk" }))
      )
    )
    yield* record(ctx, artifact)
    return { artifact, writer }
  })
