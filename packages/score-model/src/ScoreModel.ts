/**
 * The score model service: grades many (query, document) pairs, each with a grade, a probability per grade of
 * the scale and the expected grade. Any backend — the embedded model, an LLM judge, a fine-tuned judge — binds
 * core's `Models.Grader` shape here, so the pipeline, filters and server do not know which one they use.
 *
 * @since 0.1.0
 */
import type { Models } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import { Context, Effect, Layer } from "effect"
import * as EmbeddedScoreModel from "./EmbeddedScoreModel.js"
import * as LlmJudge from "./LlmJudge.js"
import type { ScoreCheckpointError } from "./ScoreModelError.js"

/**
 * The score model service.
 *
 * @since 0.1.0
 * @category services
 */
export class ScoreModel extends Context.Service<ScoreModel, Models.Grader>()("@ssra/score-model/ScoreModel") {}

/**
 * Provides any grader as the score model.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (grader: Models.Grader): Layer.Layer<ScoreModel> => Layer.succeed(ScoreModel, grader)

/**
 * Loads an embedded score model saved in `dir` (pass the embedder it was trained with, if any).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedded = (
  dir: string,
  options: { readonly embedder?: Models.TextEmbedder | undefined } = {}
): Layer.Layer<ScoreModel, ScoreCheckpointError> => Layer.effect(ScoreModel, EmbeddedScoreModel.load(dir, options))

/**
 * An LLM judge over the `ChatClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLlmJudge = (
  options: Omit<LlmJudge.Options, "client">
): Layer.Layer<ScoreModel, never, ChatClient.ChatClient> =>
  Layer.effect(
    ScoreModel,
    ChatClient.ChatClient.use((client) => Effect.succeed(LlmJudge.make({ ...options, client })))
  )

/**
 * Grades pairs with the score model in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const grade = (
  pairs: ReadonlyArray<{ readonly query: string; readonly doc: string }>
): Effect.Effect<ReadonlyArray<Models.GradeJudgment>, Models.ModelError, ScoreModel> =>
  ScoreModel.use((model) => model.grade(pairs))
