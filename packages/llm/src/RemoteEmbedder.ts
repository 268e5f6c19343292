/**
 * A core `Models.TextEmbedder` over an OpenAI-compatible `/v1/embeddings` endpoint (vLLM, SGLang, Ollama,
 * llama.cpp server, OpenAI, DashScope…): batched, concurrent, retried, with instruction prefixes for asymmetric
 * models (Qwen3-Embedding / E5-instruct style `Instruct: …\nQuery: …` for queries, plain documents), Matryoshka
 * truncation and L2 normalization.
 *
 * @since 0.1.0
 */
import { Models } from "@ssra/core"
import { Effect, type Redacted, Schema } from "effect"
import type { HttpClient } from "effect/http"
import { LlmError } from "./ChatClient.js"
import * as Transport from "./internal/transport.js"
import * as Wire from "./internal/wire.js"
import * as Presets from "./Presets.js"
import * as Retry from "./Retry.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RemoteEmbedderConfig {
  readonly preset?: Presets.PresetName | undefined
  readonly baseUrl?: string | undefined
  readonly model: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Native vector size; probed with one request when absent. */
  readonly dimensions?: number | undefined
  /** Texts per request. Default 64. */
  readonly batchSize?: number | undefined
  /** Requests in flight per `embed` call. Default 4. */
  readonly concurrency?: number | undefined
  readonly timeoutMs?: number | undefined
  readonly retry?: Retry.RetryPolicy | undefined
  /**
   * Query instruction (Qwen3-Embedding style). Default "Given a web search query, retrieve relevant passages
   * that answer the query"; `null` sends queries as they are.
   */
  readonly queryInstruction?: string | null | undefined
  /** Prefix for documents (e.g. "passage: " for E5). Default none. */
  readonly documentPrefix?: string | undefined
  /** Send `dimensions` to the server (OpenAI text-embedding-3, Matryoshka-aware servers) instead of truncating. */
  readonly sendDimensions?: boolean | undefined
}

/**
 * Default query instruction of Qwen3-Embedding's retrieval examples.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultQueryInstruction = "Given a web search query, retrieve relevant passages that answer the query"

/**
 * The text sent for an input of the given kind.
 *
 * @since 0.1.0
 * @category constructors
 */
export const formatInput = (config: RemoteEmbedderConfig, text: string, kind: Models.TextKind): string => {
  if (kind === "document") return `${config.documentPrefix ?? ""}${text}`
  const instruction = config.queryInstruction === undefined ? defaultQueryInstruction : config.queryInstruction
  return instruction === null ? text : `Instruct: ${instruction}\nQuery: ${text}`
}

const normalize = (values: ReadonlyArray<number>, dims: number): Float32Array => {
  const out = new Float32Array(Math.min(dims, values.length))
  let norm = 0
  for (let i = 0; i < out.length; i++) {
    out[i] = values[i]!
    norm += values[i]! * values[i]!
  }
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] = out[i]! / norm
  return out
}

const decodeEmbeddings = Schema.decodeUnknownEffect(Wire.Embeddings)

/**
 * Builds the embedder. Needs an `HttpClient` that lives as long as the embedder: provide it around the code that
 * uses the embedder (the application's edge), not around construction alone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: RemoteEmbedderConfig
): Effect.Effect<Models.TextEmbedder, Models.ModelError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const preset = Presets.get(config.preset ?? "vllm")
    const transport = yield* Transport.make({
      baseUrl: config.baseUrl ?? preset.baseUrl,
      apiKey: config.apiKey,
      auth: preset.auth,
      headers: config.headers,
      timeoutMs: config.timeoutMs ?? 60_000
    })
    const id = `remote-embedder:${transport.baseUrl}#${config.model}`
    const batchSize = Math.max(1, config.batchSize ?? 64)
    const toModelError = (error: LlmError) =>
      new Models.ModelError({
        backend: id,
        reason: error.reason === "invalid-output" || error.reason === "bad-request" ? "invalid-input" : "unavailable",
        message: `${error.message} (${error.endpoint})`
      })

    const request = (inputs: ReadonlyArray<string>, dimensions: number | undefined) =>
      Retry.retrying(
        config.retry ?? {},
        transport
          .postJson("/embeddings", {
            model: config.model,
            input: inputs,
            encoding_format: "float",
            ...(dimensions !== undefined && config.sendDimensions ? { dimensions } : {})
          })
          .pipe(
            Effect.flatMap((json) =>
              decodeEmbeddings(json).pipe(
                Effect.mapError(
                  (error) =>
                    new LlmError({
                      reason: "server-error",
                      endpoint: transport.endpoint("/embeddings"),
                      message: `the response is not an embeddings list: ${error.message}`,
                      retryable: true
                    })
                )
              )
            ),
            Effect.flatMap((wire) =>
              wire.data.length === inputs.length
                ? Effect.succeed(
                    [...wire.data]
                      .map((d, i) => ({ index: d.index ?? i, embedding: d.embedding }))
                      .sort((a, b) => a.index - b.index)
                      .map((d) => d.embedding)
                  )
                : Effect.fail(
                    new LlmError({
                      reason: "server-error",
                      endpoint: transport.endpoint("/embeddings"),
                      message: `asked for ${inputs.length} embeddings, got ${wire.data.length}`,
                      retryable: true
                    })
                  )
            )
          )
      ).pipe(Effect.mapError(toModelError))

    const dimensions =
      config.dimensions ?? (yield* request(["dimension probe"], undefined).pipe(Effect.map((v) => v[0]!.length)))

    const embed: Models.TextEmbedder["embed"] = (texts, options) => {
      const dims = options.dimensions ?? dimensions
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < texts.length; i += batchSize) {
        batches.push(texts.slice(i, i + batchSize).map((t) => formatInput(config, t, options.kind)))
      }
      return Effect.forEach(batches, (batch) => request(batch, options.dimensions), {
        concurrency: config.concurrency ?? 4
      }).pipe(
        Effect.map((parts) => parts.flat().map((v) => normalize(v, dims))),
        (self) =>
          Effect.withSpan(self, `embeddings ${config.model}`, {
            kind: "client",
            captureStackTrace: false,
            attributes: {
              "gen_ai.operation.name": "embeddings",
              "gen_ai.provider.name": preset.name,
              "gen_ai.request.model": config.model,
              "ssra.inputs": texts.length,
              "ssra.kind": options.kind
            }
          })
      )
    }
    return { id, dimensions, embed }
  })
