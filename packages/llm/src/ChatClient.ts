/**
 * The chat-completion client every LLM-backed component uses (score-model judge, query model, pairwise judge,
 * document rewriter): one request/response shape over OpenAI-compatible HTTP servers and local GGUF models, with
 * logprobs, n > 1, seeds and structured output. Backends implement `ChatClient`; retries, limits, caching and
 * cost accounting wrap any backend.
 *
 * @since 0.1.0
 */
import { Failure, Models } from "@ssra/core"
import type { Effect } from "effect"
import { Context, Schema } from "effect"
import { completeObjectWith, jsonSchemaOf } from "./internal/structured.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/**
 * Structured-output request: JSON mode or a JSON Schema the server should enforce (servers that ignore it are
 * handled by lenient extraction + Schema decode + one repair attempt).
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseFormat =
  | { readonly type: "json_object" }
  | { readonly type: "json_schema"; readonly name: string; readonly schema: Record<string, unknown> }

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatRequest {
  readonly messages: ReadonlyArray<ChatMessage>
  /** Overrides the client's configured model. */
  readonly model?: string | undefined
  readonly temperature?: number | undefined
  readonly topP?: number | undefined
  readonly maxTokens?: number | undefined
  readonly seed?: number | undefined
  /** Number of choices (`n`). */
  readonly n?: number | undefined
  /** Ask for logprobs with this many alternatives per token (`top_logprobs`). */
  readonly topLogprobs?: number | undefined
  readonly responseFormat?: ResponseFormat | undefined
  readonly stop?: ReadonlyArray<string> | undefined
  /** Pipeline stage for usage/cost accounting (e.g. "score", "stage2-generate"). */
  readonly stage?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenLogprob {
  readonly token: string
  readonly logprob: number
  readonly top: ReadonlyArray<{ readonly token: string; readonly logprob: number }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatChoice {
  readonly text: string
  readonly finishReason: string
  readonly logprobs?: ReadonlyArray<TokenLogprob> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatResponse {
  readonly id: string
  readonly model: string
  readonly choices: ReadonlyArray<ChatChoice>
  readonly usage: Usage
  /** True when served from the response cache (no request was sent). */
  readonly cached: boolean
}

/**
 * Why an LLM call failed. `retryable` tells the retry policy whether another attempt can succeed.
 *
 * @since 0.1.0
 * @category errors
 */
export class LlmError extends Schema.TaggedError<LlmError>()("LlmError", {
  reason: Schema.Literals([
    "rate-limited",
    "server-error",
    "timeout",
    "connection",
    "bad-request",
    "auth",
    "not-found",
    "invalid-output",
    "budget-exceeded",
    "circuit-open",
    "unavailable",
    "not-installed"
  ]),
  endpoint: Schema.String,
  message: Schema.String,
  status: Schema.optionalKey(Schema.Int),
  retryable: Schema.Boolean,
  retryAfterMs: Schema.optionalKey(Schema.Number),
  /** For `invalid-output`: the raw model text that could not be decoded. */
  raw: Schema.optionalKey(Schema.String)
}) {
  /**
   * The endpoint's transient trouble (rate limits, 5xx, timeouts, dropped connections, an open breaker) is an
   * unreachable backend, a spent budget `budget`, a rejected API key `usage`, anything else internal; `retryable`
   * is the error's own field.
   */
  get [Failure.TypeId](): Failure.Classified {
    const label = "LLM endpoint error"
    const retryable = this.retryable
    switch (this.reason) {
      case "rate-limited":
      case "server-error":
      case "timeout":
      case "connection":
      case "circuit-open":
      case "unavailable":
        return Failure.make("backend-unreachable", {
          retryable,
          label,
          hint: "check the endpoint is running and reachable (base URL, port, API key); finished work is kept, rerun to resume"
        })
      case "not-installed":
        return Failure.make("backend-missing", {
          retryable,
          label,
          hint: "install the missing local backend (the message names the command), or use a served endpoint instead"
        })
      case "budget-exceeded":
        return Failure.make("budget", {
          retryable,
          label,
          hint: "raise the cost cap and rerun: finished work is kept"
        })
      case "auth":
        return Failure.make("usage", {
          retryable,
          label,
          hint: "check the API key (the environment variable it is read from) and that it may use this model"
        })
      case "not-found":
        return Failure.make("internal", { retryable, label, hint: "check the endpoint's base URL and the model name" })
      default: // bad-request, invalid-output: a wrong request or answer, not the user's to fix
        return Failure.make("internal", { retryable, label })
    }
  }
}

/**
 * The `Models.ModelError` a chat-backed model (LLM judge, query writer, pairwise judge) fails with when its
 * chat call fails: `invalid-output` and `budget-exceeded` keep their reason, `bad-request` becomes
 * `invalid-input`, every other failure `unavailable`. The message names the endpoint; the raw text is kept.
 *
 * @since 0.1.0
 * @category errors
 */
export const toModelError = (backend: string, error: LlmError): Models.ModelError =>
  new Models.ModelError({
    backend,
    reason:
      error.reason === "invalid-output"
        ? "invalid-output"
        : error.reason === "budget-exceeded"
          ? "budget-exceeded"
          : error.reason === "bad-request"
            ? "invalid-input"
            : "unavailable",
    message: `${error.endpoint}: ${error.message}`,
    ...(error.raw !== undefined ? { raw: error.raw } : {}),
    // kept so a caller can tell a flaky endpoint (set the item aside) from a wrong setup (stop)
    cause: error
  })

/**
 * Whether a failure is the endpoint's transient trouble (rate limits, 5xx, timeouts, dropped connections, an open
 * breaker) that another round later may get past, as opposed to a wrong setup or a wrong answer. Accepts an
 * `LlmError` or a `ModelError` made from one by `toModelError`.
 *
 * @since 0.1.0
 * @category errors
 */
export const isTransient = (error: unknown): boolean =>
  error instanceof Models.ModelError
    ? isTransient(error.cause)
    : error instanceof LlmError && Failure.classify(error).class === "backend-unreachable"

/**
 * A chat-completion backend.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatClientShape {
  /** Stable identity for provenance and cache keys, e.g. `openai-compatible:http://127.0.0.1:8000/v1#qwen3-8b`. */
  readonly id: string
  readonly model: string
  /** The most requests this client lets run at once (its rate limiter's `maxInFlight`), when it has such a cap. */
  readonly maxInFlight?: number | undefined
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatResponse, LlmError>
  /**
   * Structured output: asks for JSON matching `schema`, extracts JSON leniently from the text (code fences,
   * prose around it), decodes with the Schema, makes one repair attempt, and otherwise fails with an
   * `invalid-output` LlmError carrying the raw text.
   */
  readonly completeObject: <A, I>(
    request: ChatRequest,
    schema: Schema.Codec<A, I>
  ) => Effect.Effect<{ readonly value: A; readonly response: ChatResponse }, LlmError>
}

/**
 * The chat client service.
 *
 * @since 0.1.0
 * @category services
 */
export class ChatClient extends Context.Service<ChatClient, ChatClientShape>()("@ssra/llm/ChatClient") {}

/**
 * Builds a client from its `complete`; `completeObject` is derived (JSON Schema response format + instruction,
 * lenient extraction, Schema decode, one repair attempt, then `invalid-output`). Wrappers (retry, cache, limits,
 * cost) use this so every underlying call of a structured request goes through them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly id: string
  readonly model: string
  readonly maxInFlight?: number | undefined
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatResponse, LlmError>
}): ChatClientShape => ({
  id: options.id,
  model: options.model,
  ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
  complete: options.complete,
  completeObject: completeObjectWith(options.id, options.complete)
})

/**
 * Wraps a client's `complete` (retry, limits, cache…) and derives `completeObject` from the wrapped call.
 *
 * @since 0.1.0
 * @category combinators
 */
export const mapComplete = (
  client: ChatClientShape,
  f: (complete: ChatClientShape["complete"]) => ChatClientShape["complete"]
): ChatClientShape =>
  make({ id: client.id, model: client.model, maxInFlight: client.maxInFlight, complete: f(client.complete) })

/**
 * How many calls a stage over `client` should keep in flight: its own explicit setting, else the client's
 * `maxInFlight` (so every LLM stage is bounded by the one limit of the client), else `fallback`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const concurrencyOf = (client: ChatClientShape, explicit?: number | undefined, fallback = 4): number =>
  explicit ?? client.maxInFlight ?? fallback

/**
 * The JSON Schema `completeObject` sends for a Schema (its encoded side, definitions under `$defs`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const jsonSchema: (schema: Schema.Top) => Record<string, unknown> = jsonSchemaOf
