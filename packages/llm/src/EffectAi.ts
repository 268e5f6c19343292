/**
 * Adapters to `effect/ai`: any `ChatClientShape` (OpenAI-compatible, llama.cpp, wrapped with retry/cache/cost) as
 * a `LanguageModel` service, and any core `TextEmbedder` as an `EmbeddingModel` service, so code written against
 * the effect/ai API (`LanguageModel.generateText`, `generateObject`, `EmbeddingModel.embed`) runs on our backends.
 *
 * @since 0.1.0
 */
import type { Models } from "@ssra/core"
import { Duration, Effect, Layer, Stream } from "effect"
import { AiError, EmbeddingModel, LanguageModel, type Prompt, type Response } from "effect/ai"
import type { ChatClientShape, ChatMessage, ChatRequest, LlmError } from "./ChatClient.js"
import { jsonSchemaOf } from "./internal/structured.js"
import { extractJson } from "./StructuredOutput.js"

/**
 * Maps an `LlmError` to effect/ai's `AiError` (keeping retryability and the Retry-After hint).
 *
 * @since 0.1.0
 * @category errors
 */
export const toAiError = (method: string, error: LlmError): AiError.AiError => {
  const description = `${error.message} (${error.endpoint})`
  const reason = (() => {
    switch (error.reason) {
      case "rate-limited":
        return new AiError.RateLimitError({
          ...(error.retryAfterMs !== undefined ? { retryAfter: Duration.millis(error.retryAfterMs) } : {})
        } as ConstructorParameters<typeof AiError.RateLimitError>[0])
      case "server-error":
      case "timeout":
      case "connection":
      case "circuit-open":
      case "unavailable":
      case "not-installed":
        return new AiError.InternalProviderError({ description } as ConstructorParameters<
          typeof AiError.InternalProviderError
        >[0])
      case "auth":
        return new AiError.AuthenticationError({ kind: "Unknown", description } as ConstructorParameters<
          typeof AiError.AuthenticationError
        >[0])
      case "bad-request":
      case "not-found":
        return new AiError.InvalidRequestError({ description } as ConstructorParameters<
          typeof AiError.InvalidRequestError
        >[0])
      case "invalid-output":
        return new AiError.InvalidOutputError({ description } as ConstructorParameters<
          typeof AiError.InvalidOutputError
        >[0])
      case "budget-exceeded":
        return new AiError.UnknownError({ description } as ConstructorParameters<typeof AiError.UnknownError>[0])
    }
  })()
  return AiError.make({ module: "ssra/llm", method, reason })
}

const textOf = (parts: ReadonlyArray<{ readonly type: string }>): string =>
  parts.map((p) => (p.type === "text" ? (p as Prompt.TextPart).text : "")).join("")

/**
 * Converts an effect/ai prompt to chat messages (text parts only; tool messages are dropped).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toChatMessages = (prompt: Prompt.Prompt): ReadonlyArray<ChatMessage> => {
  const out: Array<ChatMessage> = []
  for (const message of prompt.content) {
    if (message.role === "system") out.push({ role: "system", content: message.content })
    else if (message.role === "user") out.push({ role: "user", content: textOf(message.content) })
    else if (message.role === "assistant") out.push({ role: "assistant", content: textOf(message.content) })
  }
  return out
}

const finishReason = (reason: string): Response.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "content_filter":
      return "content-filter"
    case "tool_calls":
      return "tool-calls"
    default:
      return "unknown"
  }
}

/**
 * A `LanguageModel` backed by a chat client. Structured requests send the codec's JSON Schema and the answer is
 * extracted leniently before effect/ai decodes it. `streamText` emits the whole answer as one delta (requests are
 * not streamed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const languageModel = (
  client: ChatClientShape,
  defaults: Omit<ChatRequest, "messages" | "responseFormat"> = {}
): Effect.Effect<LanguageModel.LanguageModel> => {
  const generate = (method: string, options: LanguageModel.ProviderOptions) => {
    const format = options.responseFormat
    const request: ChatRequest = {
      ...defaults,
      messages: toChatMessages(options.prompt),
      ...(format.type === "json"
        ? { responseFormat: { type: "json_schema", name: format.objectName, schema: jsonSchemaOf(format.schema) } }
        : {})
    }
    return client.complete(request).pipe(
      Effect.mapError((error) => toAiError(method, error)),
      Effect.map((response) => {
        const choice = response.choices[0]
        let text = choice?.text ?? ""
        if (format.type === "json") {
          const found = extractJson(text)
          if (found._tag === "Found") text = JSON.stringify(found.value)
        }
        const usage = {
          inputTokens: {
            uncached: undefined,
            total: response.usage.promptTokens,
            cacheRead: undefined,
            cacheWrite: undefined
          },
          outputTokens: { total: response.usage.completionTokens, text: undefined, reasoning: undefined }
        }
        return { text, reason: finishReason(choice?.finishReason ?? "unknown"), usage }
      })
    )
  }
  return LanguageModel.make({
    generateText: (options) =>
      generate("generateText", options).pipe(
        Effect.map(
          (r): Array<Response.PartEncoded> => [
            { type: "text", text: r.text },
            { type: "finish", reason: r.reason, usage: r.usage }
          ]
        )
      ),
    streamText: (options) =>
      Stream.fromIterableEffect(
        generate("streamText", options).pipe(
          Effect.map(
            (r): Array<Response.StreamPartEncoded> => [
              { type: "text-start", id: "0" },
              { type: "text-delta", id: "0", delta: r.text },
              { type: "text-end", id: "0" },
              { type: "finish", reason: r.reason, usage: r.usage }
            ]
          )
        )
      )
  })
}

/**
 * `languageModel` as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLanguageModel = (
  client: ChatClientShape,
  defaults?: Omit<ChatRequest, "messages" | "responseFormat">
): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, languageModel(client, defaults))

/**
 * An `EmbeddingModel` backed by a `TextEmbedder` (inputs embedded as `kind`, default "document"; concurrent
 * requests are batched by effect/ai's resolver).
 *
 * @since 0.1.0
 * @category constructors
 */
export const embeddingModel = (
  embedder: Models.TextEmbedder,
  options: { readonly kind?: Models.TextKind | undefined } = {}
): Effect.Effect<EmbeddingModel.EmbeddingModel> =>
  EmbeddingModel.make({
    embedMany: ({ inputs }) =>
      embedder.embed(inputs, { kind: options.kind ?? "document" }).pipe(
        Effect.map((vectors) => ({ results: vectors.map((v) => Array.from(v)), usage: { inputTokens: undefined } })),
        Effect.mapError((error) =>
          AiError.make({
            module: "ssra/llm",
            method: "embedMany",
            reason: new AiError.UnknownError({
              description: `${error.backend}: ${error.message}`
            } as ConstructorParameters<typeof AiError.UnknownError>[0])
          })
        )
      )
  })

/**
 * `embeddingModel` as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbeddingModel = (
  embedder: Models.TextEmbedder,
  options?: { readonly kind?: Models.TextKind | undefined }
): Layer.Layer<EmbeddingModel.EmbeddingModel> =>
  Layer.effect(EmbeddingModel.EmbeddingModel, embeddingModel(embedder, options))
