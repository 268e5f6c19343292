/**
 * HTTP transport shared by the OpenAI-compatible chat client, the remote embedder, batch and fine-tuning jobs:
 * base URL + auth header, a per-request timeout, and the mapping of every failure (status, transport, timeout,
 * malformed body) to an `LlmError` whose text never contains the API key.
 */
import { Duration, Effect, Redacted } from "effect"
import { constTrue } from "effect/Function"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { LlmError } from "../ChatClient.js"
import type { Preset } from "../Presets.js"

export interface TransportConfig {
  readonly baseUrl: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly auth: Preset["auth"]
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeoutMs: number
  /** Also emit effect/http's own `http.client` span per request (the `gen_ai` span is always emitted). */
  readonly httpSpans?: boolean | undefined
}

export interface Transport {
  readonly baseUrl: string
  readonly endpoint: (path: string) => string
  /** Removes the API key from any text that may reach a log or an error message. */
  readonly scrub: (text: string) => string
  readonly request: (
    request: HttpClientRequest.HttpClientRequest,
    options?: { readonly timeoutMs?: number | undefined }
  ) => Effect.Effect<
    { readonly status: number; readonly text: string; readonly response: HttpClientResponse.HttpClientResponse },
    LlmError
  >
  readonly postJson: (
    path: string,
    body: unknown,
    options?: { readonly timeoutMs?: number | undefined }
  ) => Effect.Effect<unknown, LlmError>
  readonly getJson: (path: string) => Effect.Effect<unknown, LlmError>
  readonly getText: (path: string) => Effect.Effect<string, LlmError>
  readonly postForm: (path: string, form: FormData) => Effect.Effect<unknown, LlmError>
}

/** Parses `Retry-After` (seconds or HTTP date) and OpenAI's `retry-after-ms`. */
export const retryAfterMs = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number
): number | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms))
  const value = headers["retry-after"]
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined
}

const snippet = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

/** Maps an HTTP status to an error reason and whether another attempt can succeed. */
export const classifyStatus = (status: number): { reason: LlmError["reason"]; retryable: boolean; hint: string } => {
  if (status === 429) return { reason: "rate-limited", retryable: true, hint: "slow down or raise the rate limit" }
  if (status === 401 || status === 403)
    return {
      reason: "auth",
      retryable: false,
      hint: "check the API key (environment variable of the preset) and its permissions"
    }
  if (status === 404) return { reason: "not-found", retryable: false, hint: "check the base URL and the model name" }
  if (status === 408 || status === 409 || status === 425)
    return { reason: "server-error", retryable: true, hint: "transient; retried" }
  if (status >= 500) return { reason: "server-error", retryable: true, hint: "the server failed; retried with backoff" }
  return {
    reason: "bad-request",
    retryable: false,
    hint: "the server rejected the request; check parameters this server supports"
  }
}

export const make = (config: TransportConfig): Effect.Effect<Transport, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const baseUrl = config.baseUrl.replace(/\/+$/, "")
    const key = config.apiKey === undefined ? undefined : Redacted.value(config.apiKey)
    const scrub =
      key === undefined || key.length === 0
        ? (text: string) => text
        : (text: string) => text.split(key).join("[redacted]")
    const authHeaders: Record<string, string> = { ...config.headers }
    if (key !== undefined && key.length > 0) {
      if (config.auth._tag === "Bearer") authHeaders.authorization = `Bearer ${key}`
      else authHeaders[config.auth.header] = key
    }
    const endpoint = (path: string) => `${baseUrl}${path.startsWith("/") ? path : `/${path}`}`

    const request: Transport["request"] = (req, options) => {
      const url = req.url
      const timeoutMs = options?.timeoutMs ?? config.timeoutMs
      const fail = (
        reason: LlmError["reason"],
        message: string,
        retryable: boolean,
        extra?: { status?: number; retryAfterMs?: number | undefined }
      ) =>
        new LlmError({
          reason,
          endpoint: scrub(url),
          message: scrub(message),
          retryable,
          ...(extra?.status !== undefined ? { status: extra.status } : {}),
          ...(extra?.retryAfterMs !== undefined ? { retryAfterMs: extra.retryAfterMs } : {})
        })
      const executed = http.execute(HttpClientRequest.setHeaders(req, authHeaders))
      return (
        config.httpSpans ? executed : Effect.provideService(executed, HttpClient.TracerDisabledWhen, constTrue)
      ).pipe(
        Effect.flatMap((response) =>
          response.text.pipe(Effect.map((text) => ({ status: response.status, text, response })))
        ),
        Effect.mapError((error) =>
          fail(
            "connection",
            `${error.reason._tag}: ${error.reason.description ?? (error.reason as { cause?: Error }).cause?.message ?? "request failed"}`,
            true
          )
        ),
        Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs),
          orElse: () => Effect.fail(fail("timeout", `no complete response within ${timeoutMs} ms`, true))
        }),
        Effect.flatMap((result) => {
          if (result.status >= 200 && result.status < 300) return Effect.succeed(result)
          const { reason, retryable, hint } = classifyStatus(result.status)
          const after = retryAfterMs(result.response.headers, Date.now())
          return Effect.fail(
            fail(reason, `HTTP ${result.status}: ${snippet(result.text)} (${hint})`, retryable, {
              status: result.status,
              retryAfterMs: after
            })
          )
        })
      )
    }

    const parseJson = (url: string, status: number, text: string): Effect.Effect<unknown, LlmError> =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(JSON.parse(text) as unknown)
        } catch (error) {
          return Effect.fail(
            new LlmError({
              reason: "server-error",
              endpoint: scrub(url),
              status,
              message: scrub(
                `malformed JSON body (${(error as Error).message}; ${text.length} bytes): ${snippet(text)}`
              ),
              retryable: true
            })
          )
        }
      })

    const postJson: Transport["postJson"] = (path, body, options) => {
      const url = endpoint(path)
      return request(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyJsonUnsafe(body)), options).pipe(
        Effect.flatMap((r) => parseJson(url, r.status, r.text))
      )
    }
    const getText: Transport["getText"] = (path) =>
      request(HttpClientRequest.get(endpoint(path))).pipe(Effect.map((r) => r.text))
    const getJson: Transport["getJson"] = (path) =>
      request(HttpClientRequest.get(endpoint(path))).pipe(
        Effect.flatMap((r) => parseJson(endpoint(path), r.status, r.text))
      )
    const postForm: Transport["postForm"] = (path, form) =>
      request(HttpClientRequest.post(endpoint(path)).pipe(HttpClientRequest.bodyFormData(form))).pipe(
        Effect.flatMap((r) => parseJson(endpoint(path), r.status, r.text))
      )
    return { baseUrl, endpoint, scrub, request, postJson, getJson, getText, postForm }
  })
