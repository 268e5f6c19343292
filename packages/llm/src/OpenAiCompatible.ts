/**
 * The chat client for OpenAI-compatible servers (`/v1/chat/completions`) over `effect/http`: text, JSON mode,
 * `json_schema` structured output, logprobs, `n`, seed and temperature, adapted to each server's quirks from its
 * preset. Spans carry OpenTelemetry `gen_ai.*` attributes; the API key stays `Redacted` and out of every message.
 *
 * @since 0.1.0
 */
import { Cause, Config, Effect, Exit, Layer, Option, type Redacted, Schema } from "effect"
import type { HttpClient } from "effect/http"
import type { ChatChoice, ChatRequest, ChatResponse, LlmError } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"
import * as Transport from "./internal/transport.js"
import * as Wire from "./internal/wire.js"
import * as Presets from "./Presets.js"

/**
 * Client configuration. `preset` fills base URL, auth and quirks; every field overrides it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenAiCompatibleConfig {
  readonly preset?: Presets.PresetName | undefined
  readonly baseUrl?: string | undefined
  readonly model: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Per-request timeout (whole response). Default 120 s. */
  readonly timeoutMs?: number | undefined
  readonly quirks?: Partial<Presets.Quirks> | undefined
  /** Also emit effect/http's `http.client` span under each `chat` span. Default false. */
  readonly httpSpans?: boolean | undefined
  /** Parameters applied when a request leaves them unset. */
  readonly defaults?: Pick<ChatRequest, "temperature" | "topP" | "maxTokens" | "seed"> | undefined
}

/**
 * The resolved settings (preset merged with overrides).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (config: OpenAiCompatibleConfig) => {
  const preset = Presets.get(config.preset ?? "vllm")
  return {
    preset,
    baseUrl: (config.baseUrl ?? preset.baseUrl).replace(/\/+$/, ""),
    quirks: { ...preset.quirks, ...config.quirks } as Presets.Quirks,
    timeoutMs: config.timeoutMs ?? 120_000
  }
}

/** Builds the wire body for one request (after quirk adaptation). */
export const toWireBody = (
  model: string,
  request: ChatRequest,
  quirks: Presets.Quirks,
  n: number
): Record<string, unknown> => {
  const body: Record<string, unknown> = {
    model: request.model ?? model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content }))
  }
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens
  if (request.seed !== undefined && quirks.seed) body.seed = request.seed
  if (n > 1) body.n = n
  if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop
  if (request.topLogprobs !== undefined && quirks.logprobs) {
    body.logprobs = true
    body.top_logprobs = Math.min(request.topLogprobs, quirks.maxTopLogprobs)
  }
  const format = request.responseFormat
  if (format !== undefined) {
    if (format.type === "json_schema" && quirks.jsonSchema) {
      body.response_format = { type: "json_schema", json_schema: { name: format.name, schema: format.schema } }
    } else if (quirks.jsonObject) {
      body.response_format = { type: "json_object" }
    }
  }
  return body
}

/** Converts a decoded wire response into a `ChatResponse`. */
export const fromWire = (wire: Wire.ChatCompletion, fallbackModel: string): ChatResponse => ({
  id: wire.id ?? "",
  model: wire.model ?? fallbackModel,
  choices: wire.choices.map((choice): ChatChoice => {
    const tokens = choice.logprobs?.content
    return {
      text: choice.message.content ?? "",
      finishReason: choice.finish_reason ?? "unknown",
      ...(tokens
        ? {
            logprobs: tokens.map((t) => ({
              token: t.token,
              logprob: t.logprob,
              top: (t.top_logprobs ?? []).map((a) => ({ token: a.token, logprob: a.logprob }))
            }))
          }
        : {})
    }
  }),
  usage: { promptTokens: wire.usage?.prompt_tokens ?? 0, completionTokens: wire.usage?.completion_tokens ?? 0 },
  cached: false
})

const decodeCompletion = Schema.decodeUnknownExit(Wire.ChatCompletion)

/**
 * Builds the client. Needs an `HttpClient`: the application provides one (e.g. `NodeHttpClient.layerUndici` from
 * `@effect/platform-node`, or a client wrapped with a proxy, tracing or a test transport).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: OpenAiCompatibleConfig
): Effect.Effect<ChatClient.ChatClientShape, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { preset, baseUrl, quirks, timeoutMs } = resolve(config)
    const transport = yield* Transport.make({
      baseUrl,
      apiKey: config.apiKey,
      auth: preset.auth,
      headers: config.headers,
      timeoutMs,
      httpSpans: config.httpSpans
    })
    const url = transport.endpoint("/chat/completions")
    const id = `openai-compatible:${baseUrl}#${config.model}`
    const defaults = config.defaults ?? {}

    const once = (request: ChatRequest, n: number): Effect.Effect<ChatResponse, LlmError> =>
      transport.postJson("/chat/completions", toWireBody(config.model, request, quirks, n)).pipe(
        Effect.flatMap((json) => {
          const exit = decodeCompletion(json)
          if (Exit.isSuccess(exit)) return Effect.succeed(fromWire(exit.value, request.model ?? config.model))
          const error = Cause.squash(exit.cause) as Error
          return Effect.fail(
            new ChatClient.LlmError({
              reason: "server-error",
              endpoint: url,
              message: transport.scrub(`the response is not a chat completion: ${error?.message ?? String(error)}`),
              retryable: true
            })
          )
        })
      )

    const complete = (raw: ChatRequest): Effect.Effect<ChatResponse, LlmError> => {
      const request: ChatRequest = {
        ...raw,
        temperature: raw.temperature ?? defaults.temperature,
        topP: raw.topP ?? defaults.topP,
        maxTokens: raw.maxTokens ?? defaults.maxTokens,
        seed: raw.seed ?? defaults.seed
      }
      const n = Math.max(1, request.n ?? 1)
      const model = request.model ?? config.model
      const call =
        n <= quirks.maxN
          ? once(request, n)
          : Effect.forEach(
              Array.from({ length: Math.ceil(n / quirks.maxN) }, (_, i) => i),
              (i) =>
                once(
                  { ...request, seed: request.seed === undefined ? undefined : request.seed + i },
                  Math.min(quirks.maxN, n - i * quirks.maxN)
                ),
              { concurrency: "unbounded" }
            ).pipe(
              Effect.map(
                (parts): ChatResponse => ({
                  id: parts.map((p) => p.id).join(","),
                  model: parts[0]!.model,
                  choices: parts.flatMap((p) => p.choices),
                  usage: {
                    promptTokens: parts.reduce((s, p) => s + p.usage.promptTokens, 0),
                    completionTokens: parts.reduce((s, p) => s + p.usage.completionTokens, 0)
                  },
                  cached: false
                })
              )
            )
      return call.pipe(
        Effect.tap((response) =>
          Effect.annotateCurrentSpan({
            "gen_ai.response.id": response.id,
            "gen_ai.response.model": response.model,
            "gen_ai.response.finish_reasons": response.choices.map((c) => c.finishReason),
            "gen_ai.usage.input_tokens": response.usage.promptTokens,
            "gen_ai.usage.output_tokens": response.usage.completionTokens
          })
        ),
        (self) =>
          Effect.withSpan(self, `chat ${model}`, {
            kind: "client",
            captureStackTrace: false,
            attributes: {
              "gen_ai.operation.name": "chat",
              "gen_ai.provider.name": preset.name,
              "gen_ai.request.model": model,
              "server.address": baseUrl,
              ...(request.temperature !== undefined ? { "gen_ai.request.temperature": request.temperature } : {}),
              ...(request.maxTokens !== undefined ? { "gen_ai.request.max_tokens": request.maxTokens } : {}),
              ...(request.seed !== undefined ? { "gen_ai.request.seed": request.seed } : {}),
              ...(n > 1 ? { "gen_ai.request.choice.count": n } : {}),
              ...(request.stage !== undefined ? { "ssra.stage": request.stage } : {})
            }
          })
      )
    }

    return ChatClient.make({ id, model: config.model, complete })
  })

/**
 * The `ChatClient` layer. Requires an `HttpClient`, which the application provides once at its edge (e.g.
 * `Layer.provide(NodeHttpClient.layerUndici)`); every request goes through that client.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: OpenAiCompatibleConfig
): Layer.Layer<ChatClient.ChatClient, never, HttpClient.HttpClient> => Layer.effect(ChatClient.ChatClient, make(config))

/**
 * Reads the configuration from `Config` (environment by default): `<PREFIX>_PRESET`, `<PREFIX>_BASE_URL`,
 * `<PREFIX>_MODEL`, `<PREFIX>_API_KEY` (redacted; falls back to the preset's variable, e.g. `OPENAI_API_KEY`),
 * `<PREFIX>_TIMEOUT_MS`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const config = (prefix = "SSRA_LLM"): Effect.Effect<OpenAiCompatibleConfig, Config.ConfigError> =>
  Effect.gen(function* () {
    const preset = yield* Config.option(Config.Literals(Presets.PresetName.literals, `${prefix}_PRESET`))
    const baseUrl = yield* Config.option(Config.String(`${prefix}_BASE_URL`))
    const model = yield* Config.String(`${prefix}_MODEL`)
    const timeoutMs = yield* Config.option(Config.Int(`${prefix}_TIMEOUT_MS`))
    let apiKey = yield* Config.option(Config.Redacted(`${prefix}_API_KEY`))
    const presetEnv = Presets.get(Option.getOrElse(preset, () => "vllm" as const)).apiKeyEnv
    if (Option.isNone(apiKey) && presetEnv !== undefined) apiKey = yield* Config.option(Config.Redacted(presetEnv))
    return {
      model,
      preset: Option.getOrUndefined(preset),
      baseUrl: Option.getOrUndefined(baseUrl),
      timeoutMs: Option.getOrUndefined(timeoutMs),
      apiKey: Option.getOrUndefined(apiKey)
    }
  })

/**
 * `layer` with its configuration read by `config(prefix)`; requires an `HttpClient` like `layer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  prefix = "SSRA_LLM"
): Layer.Layer<ChatClient.ChatClient, Config.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(
    ChatClient.ChatClient,
    Effect.flatMap(config(prefix), (c) => make(c))
  )

export type { HttpClient }
