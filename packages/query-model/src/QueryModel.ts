/**
 * The query model service: writes queries for documents at chosen grades. Any backend — the embedded model, the
 * prompt-only LLM baseline, a fine-tuned LLM — binds core's `Models.QueryWriter` shape here, so the pipeline and
 * server do not know which one they use.
 *
 * @since 0.1.0
 */

import type { Models } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import { Context, Effect, Layer } from "effect"
import * as EmbeddedQueryModel from "./EmbeddedQueryModel.js"
import * as FineTunedQueryModel from "./FineTunedQueryModel.js"
import * as PromptQueryModel from "./PromptQueryModel.js"
import type { QueryCheckpointError } from "./QueryModelError.js"

/**
 * The query model service.
 *
 * @since 0.1.0
 * @category services
 */
export class QueryModel extends Context.Service<QueryModel, Models.QueryWriter>()("@ssra/query-model/QueryModel") {}

/**
 * Provides any query writer as the query model.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (writer: Models.QueryWriter): Layer.Layer<QueryModel> => Layer.succeed(QueryModel, writer)

/**
 * Loads an embedded query model saved in `dir`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedded = (dir: string): Layer.Layer<QueryModel, QueryCheckpointError> =>
  Layer.effect(QueryModel, EmbeddedQueryModel.load(dir))

/**
 * The prompt-only baseline over the `ChatClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPrompt = (
  options: Omit<PromptQueryModel.PromptQueryModelOptions, "client"> = {}
): Layer.Layer<QueryModel, never, ChatClient.ChatClient> =>
  Layer.effect(
    QueryModel,
    ChatClient.ChatClient.use((client) => Effect.succeed(PromptQueryModel.make({ ...options, client })))
  )

/**
 * A fine-tuned query model over the `ChatClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFineTuned = (
  options: Omit<FineTunedQueryModel.FineTunedQueryModelOptions, "client"> = {}
): Layer.Layer<QueryModel, never, ChatClient.ChatClient> =>
  Layer.effect(
    QueryModel,
    ChatClient.ChatClient.use((client) => Effect.succeed(FineTunedQueryModel.make({ ...options, client })))
  )

/**
 * Generates with the query model in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const generate = (
  requests: ReadonlyArray<Models.QueryRequest>
): Effect.Effect<ReadonlyArray<ReadonlyArray<Models.GeneratedQuery>>, Models.ModelError, QueryModel> =>
  QueryModel.use((model) => model.generate(requests))
