/**
 * A fake OpenAI-compatible HTTP server for tests: a real `node:http` server on 127.0.0.1 (random port) speaking the
 * OpenAI wire format, so that the code under test goes through its real HTTP client. It stands in for
 * vLLM / OpenAI / Ollama, a boundary this project does not own.
 *
 * Built-in routes (all under `/v1`):
 * - `POST /v1/chat/completions`: `n` choices (default 1), each from the test's `chat` function (or all of them
 *   at once from `choices`), with `usage` token counts, `finish_reason` and optional `logprobs.content[]` with
 *   `top_logprobs`;
 * - `POST /v1/embeddings`: one vector per input from the test's `embed` function;
 * - `GET /v1/models`: the model ids in `models`.
 * Anything else (or a route whose function was not given) is a 404 in OpenAI's error format.
 *
 * What the server answers stays with each test: the test passes deterministic functions; only the HTTP plumbing
 * lives here. Faults are injected with `faults` (a script for the first model calls) or `respond` (a function that
 * may answer any request itself: an HTTP error with or without Retry-After, malformed JSON, a dropped connection,
 * a truncated or slow body, no answer at all, or a route the server does not know).
 */
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import * as net from "node:net"

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string
  /** The request target as sent, e.g. `/v1/chat/completions`. */
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  /** The body's bytes, exactly as received. */
  readonly raw: Buffer
  /** The body parsed as JSON when its content type says JSON and it parses; otherwise undefined. */
  readonly body: any
  /** 0-based index of this request among all requests to the server. */
  readonly hit: number
}

/** One sampled token with its log-probability and the alternatives the server reports as `top_logprobs`. */
export interface TokenLogprob {
  readonly token: string
  readonly logprob: number
  /** `[token, logprob]` alternatives, sent as `top_logprobs` (default: the token itself). */
  readonly top?: ReadonlyArray<readonly [string, number]> | undefined
}

/** One choice of a chat completion. */
export interface ChatChoice {
  readonly content: string | null
  /** Token log-probabilities, sent as `logprobs.content[]` with `bytes` and `top_logprobs`; absent → `null`. */
  readonly logprobs?: ReadonlyArray<TokenLogprob> | undefined
  /** The choice's `logprobs` object exactly as sent; wins over `logprobs`. */
  readonly rawLogprobs?: unknown
  /** Default `"stop"`. */
  readonly finishReason?: string | undefined
}

/** What a `chat` function returns for one choice: the assistant text, or a full choice. */
export type ChatReply = string | null | ChatChoice

/** Token counts reported as `usage`. */
export interface Usage {
  readonly promptTokens?: number | undefined
  readonly completionTokens?: number | undefined
}

/**
 * A hand-made answer to one request, for fault injection and for routes the server does not know. `delayMs`
 * waits before answering.
 */
export type Reply =
  /** A JSON body (default status 200). */
  | {
      readonly kind: "json"
      readonly status?: number
      readonly body: unknown
      readonly headers?: Record<string, string>
      readonly delayMs?: number
    }
  /** A text body (default status 200, `text/plain` unless `headers` say otherwise). */
  | {
      readonly kind: "text"
      readonly status?: number
      readonly text: string
      readonly headers?: Record<string, string>
      readonly delayMs?: number
    }
  /** An HTTP error in OpenAI's error format, e.g. 429 with `Retry-After`, 500, 503. */
  | {
      readonly kind: "error"
      readonly status: number
      readonly message?: string
      readonly type?: string
      /** Sent as `Retry-After` (seconds or an HTTP date). */
      readonly retryAfter?: number | string
      /** Sent as `Retry-After-Ms`. */
      readonly retryAfterMs?: number
      readonly headers?: Record<string, string>
      readonly delayMs?: number
    }
  /** Status 200 (or `status`) with `content-type: application/json` and a body that is not JSON. */
  | { readonly kind: "malformed"; readonly status?: number; readonly delayMs?: number }
  /** Declares a longer Content-Length than it sends, sends half the body, then ends the socket. */
  | { readonly kind: "truncated"; readonly body: unknown }
  /** Drops the connection without answering. */
  | { readonly kind: "reset" }
  /** Sends headers, then the JSON body in `chunks` pieces `intervalMs` apart. */
  | { readonly kind: "slow"; readonly body: unknown; readonly chunks: number; readonly intervalMs: number }
  /** Never answers (until the server closes). */
  | { readonly kind: "hang" }

/** Shorthands for the faults of {@link Reply}. */
export const Faults = {
  /** An HTTP error, e.g. `Faults.status(429, { retryAfter: 2 })` or `Faults.status(503)`. */
  status: (
    status: number,
    options: {
      readonly retryAfter?: number | string
      readonly retryAfterMs?: number
      readonly message?: string
      readonly type?: string
    } = {}
  ): Reply => ({ kind: "error", status, ...options }),
  /** A 200 whose JSON body does not parse. */
  malformed: (): Reply => ({ kind: "malformed" }),
  /** A dropped connection. */
  drop: (): Reply => ({ kind: "reset" }),
  /** A body cut off half-way. */
  truncated: (body: unknown = {}): Reply => ({ kind: "truncated", body }),
  /** No answer at all. */
  hang: (): Reply => ({ kind: "hang" })
} as const

/**
 * A `respond` hook that holds each chat call `delayMs` and counts how many were in flight at once: `most()` is the
 * peak since the last `reset()`. For tests that a client keeps exactly its `maxInFlight` calls going.
 */
export const inFlightCounter = (delayMs = 40) => {
  let inFlight = 0
  let most = 0
  return {
    respond: async (request: RecordedRequest): Promise<undefined> => {
      if (!request.path.endsWith("/chat/completions")) return undefined
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      inFlight--
      return undefined
    },
    most: () => most,
    reset: () => {
      most = 0
    }
  }
}

export interface OpenAiServerOptions {
  /**
   * The assistant message of choice `index` (0 ≤ index < max(1, `n`)) of a chat request; `call` is the 0-based
   * index of this request among the server's model calls (see `calls()`).
   */
  readonly chat?: (request: any, index: number, call: number) => ChatReply
  /** Every choice of a chat request at once (used instead of `chat`; may return fewer or more than `n`). */
  readonly choices?: (request: any, call: number) => ReadonlyArray<ChatReply>
  /** One vector per input of an embeddings request (`input` is always a list here). */
  readonly embed?: (input: ReadonlyArray<string>, request: any, call: number) => ReadonlyArray<ReadonlyArray<number>>
  /** Model ids listed by `GET /v1/models` (default `["test-model"]`). */
  readonly models?: ReadonlyArray<string>
  /** `usage` of every answer (default 10 prompt and 5 completion tokens), or a function of the request. */
  readonly usage?: Usage | ((request: any) => Usage)
  /** Wait this long before answering every request. */
  readonly latencyMs?: number
  /** Faults answering the first model calls in order (`undefined` entries answer normally), then normal answers. */
  readonly faults?: ReadonlyArray<Reply | undefined>
  /**
   * Answers any request before the built-in routes; return `undefined` to fall through to them. For faults that
   * depend on the request, or routes the server does not know (files, fine-tuning jobs…).
   */
  readonly respond?: (request: RecordedRequest, call: number) => Reply | undefined | Promise<Reply | undefined>
  /** Keep every request in `requests` / `received` (default true; turn off for very long runs). */
  readonly record?: boolean
}

export interface OpenAiServer {
  /** `http://127.0.0.1:<port>`, without the `/v1` prefix. */
  readonly origin: string
  /** The OpenAI base URL, `http://127.0.0.1:<port>/v1`, what clients are configured with. */
  readonly baseUrl: string
  /** The same as `baseUrl`. */
  readonly url: string
  /** Parsed JSON bodies of the model calls (chat completions and embeddings), in arrival order. */
  readonly requests: Array<any>
  /** Every request (any route), in arrival order. */
  readonly received: Array<RecordedRequest>
  /** Model calls so far: `POST /v1/chat/completions` and `POST /v1/embeddings`, however they were answered. */
  readonly calls: () => number
  /** Requests so far, any route. */
  readonly hits: () => number
  /** Drops every open connection and stops listening. */
  readonly close: () => Promise<void>
}

const CHAT = "/v1/chat/completions"
const EMBEDDINGS = "/v1/embeddings"
const MODELS = "/v1/models"
const CREATED = 1_790_000_000

const routeOf = (target: string): string => {
  const q = target.indexOf("?")
  return q < 0 ? target : target.slice(0, q)
}

const bytes = (s: string) => [...Buffer.from(s, "utf8")]

const choiceOf = (reply: ChatReply): ChatChoice =>
  reply === null || typeof reply === "string" ? { content: reply } : reply

/** A choice's `logprobs` object on the wire (`null` when it has none). */
export const wireLogprobs = (tokens: ReadonlyArray<TokenLogprob> | undefined): unknown =>
  tokens === undefined
    ? null
    : {
        content: tokens.map((t) => ({
          token: t.token,
          logprob: t.logprob,
          bytes: bytes(t.token),
          top_logprobs: (t.top ?? [[t.token, t.logprob]]).map(([token, logprob]) => ({
            token,
            logprob,
            bytes: bytes(token)
          }))
        }))
      }

const usageOf = (usage: Usage | undefined) => {
  const prompt = usage?.promptTokens ?? 10
  const completion = usage?.completionTokens ?? 5
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** A `chat.completion` body in OpenAI's format. */
export const chatCompletion = (
  choices: ReadonlyArray<ChatReply>,
  options: {
    readonly model?: string | undefined
    readonly id?: string | undefined
    readonly created?: number | undefined
    readonly usage?: Usage | undefined
  } = {}
) => ({
  id: options.id ?? "chatcmpl-test",
  object: "chat.completion",
  created: options.created ?? CREATED,
  model: options.model ?? "test-model",
  choices: choices.map(choiceOf).map((c, index) => ({
    index,
    message: { role: "assistant", content: c.content },
    logprobs: "rawLogprobs" in c ? c.rawLogprobs : wireLogprobs(c.logprobs),
    finish_reason: c.finishReason ?? "stop"
  })),
  usage: usageOf(options.usage)
})

/** An embeddings `list` body in OpenAI's format. */
export const embeddingList = (
  vectors: ReadonlyArray<ReadonlyArray<number>>,
  options: { readonly model?: string | undefined; readonly usage?: Usage | undefined } = {}
) => {
  const prompt = options.usage?.promptTokens ?? 10
  return {
    object: "list",
    model: options.model ?? "test-model",
    data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding: [...embedding] })),
    usage: { prompt_tokens: prompt, total_tokens: prompt }
  }
}

/** An error body in OpenAI's format. */
export const errorBody = (message: string, type = "invalid_request_error") => ({
  error: { message, type, param: null, code: null }
})

/** The content of the last user message of a chat request body ("" when there is none). */
export const lastUserMessage = (body: any): string => {
  const messages = (body?.messages ?? []) as Array<{ role: string; content: string }>
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messages[i]!.content
  return ""
}

const errorTypeOf = (status: number) =>
  status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error"

const send = (req: http.IncomingMessage, res: http.ServerResponse, reply: Reply): void => {
  switch (reply.kind) {
    case "json":
      res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers })
      res.end(JSON.stringify(reply.body))
      return
    case "text":
      res.writeHead(reply.status ?? 200, { "content-type": "text/plain", ...reply.headers })
      res.end(reply.text)
      return
    case "error": {
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter)
      if (reply.retryAfterMs !== undefined) headers["retry-after-ms"] = String(reply.retryAfterMs)
      res.writeHead(reply.status, { ...headers, ...reply.headers })
      res.end(
        JSON.stringify(
          errorBody(reply.message ?? `HTTP ${reply.status} (injected)`, reply.type ?? errorTypeOf(reply.status))
        )
      )
      return
    }
    case "malformed":
      res.writeHead(reply.status ?? 200, { "content-type": "application/json" })
      res.end('{"id": "chatcmpl-broken", "choices": [{"message": ')
      return
    case "truncated": {
      const text = JSON.stringify(reply.body)
      res.writeHead(200, { "content-type": "application/json", "content-length": String(text.length + 100) })
      res.write(text.slice(0, Math.floor(text.length / 2)))
      setTimeout(() => res.socket?.destroy(), 5)
      return
    }
    case "reset":
      req.socket.destroy()
      return
    case "slow": {
      const text = JSON.stringify(reply.body)
      res.writeHead(200, { "content-type": "application/json" })
      const size = Math.ceil(text.length / reply.chunks)
      let i = 0
      const tick = () => {
        if (res.destroyed) return
        if (i * size >= text.length) return void res.end()
        res.write(text.slice(i * size, (i + 1) * size))
        i++
        setTimeout(tick, reply.intervalMs)
      }
      tick()
      return
    }
    case "hang":
      return
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Starts the fake server on 127.0.0.1 at a random free port. Close it when the test ends (`await server.close()`).
 *
 * @example
 * const server = await startOpenAiServer({ chat: (request, index) => `answer ${index} to ${lastUserMessage(request)}` })
 * // … point the client at server.baseUrl …
 * assert.strictEqual(server.requests[0].n, 2)
 * await server.close()
 */
export const startOpenAiServer = async (options: OpenAiServerOptions = {}): Promise<OpenAiServer> => {
  let hits = 0
  let calls = 0
  const record = options.record !== false
  const requests: Array<any> = []
  const received: Array<RecordedRequest> = []
  const sockets = new Set<Socket>()
  const models = options.models ?? ["test-model"]
  const usageFor = (body: any): Usage | undefined =>
    typeof options.usage === "function" ? options.usage(body) : options.usage

  const builtIn = (request: RecordedRequest, route: string, call: number): Reply => {
    const { method, body } = request
    if (method === "GET" && route === MODELS)
      return {
        kind: "json",
        body: {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: CREATED, owned_by: "test" }))
        }
      }
    const served =
      method === "POST" &&
      ((route === CHAT && (options.chat || options.choices)) || (route === EMBEDDINGS && options.embed))
    if (!served) return { kind: "json", status: 404, body: errorBody(`no route ${method} ${request.path}`) }
    if (body === undefined || body === null || typeof body !== "object")
      return { kind: "json", status: 400, body: errorBody("the request body is not a JSON object") }
    if (route === EMBEDDINGS) {
      const input: ReadonlyArray<string> = typeof body.input === "string" ? [body.input] : (body.input ?? [])
      return {
        kind: "json",
        body: embeddingList(options.embed!(input, body, call), { model: body.model, usage: usageFor(body) })
      }
    }
    const choices = options.choices
      ? options.choices(body, call)
      : Array.from({ length: Math.max(1, body.n ?? 1) }, (_, index) => options.chat!(body, index, call))
    return {
      kind: "json",
      body: chatCompletion(choices, { id: `chatcmpl-${call + 1}`, model: body.model, usage: usageFor(body) })
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", async () => {
      const raw = Buffer.concat(chunks)
      let body: any
      if ((req.headers["content-type"] ?? "").includes("json")) {
        try {
          body = JSON.parse(raw.toString("utf8"))
        } catch {
          body = undefined
        }
      }
      const request: RecordedRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        raw,
        body,
        hit: hits++
      }
      const route = routeOf(request.path)
      const isCall = request.method === "POST" && (route === CHAT || route === EMBEDDINGS)
      const call = isCall ? calls++ : -1
      if (record) {
        received.push(request)
        if (isCall) requests.push(body)
      }
      try {
        if (options.latencyMs) await sleep(options.latencyMs)
        const reply =
          (await options.respond?.(request, call)) ??
          (isCall ? options.faults?.[call] : undefined) ??
          builtIn(request, route, call)
        const delay = "delayMs" in reply && reply.delayMs ? reply.delayMs : 0
        if (delay > 0) await sleep(delay)
        send(req, res, reply)
      } catch (error) {
        // a bug in the test's own function: the client gets a 500 rather than hanging, and the error is rethrown
        // outside the request so the test runner reports it as an unhandled error (the run fails loudly)
        if (!res.headersSent) send(req, res, { kind: "error", status: 500, message: `test server: ${String(error)}` })
        process.nextTick(() => {
          throw error
        })
      }
    })
  })
  server.keepAliveTimeout = 60_000
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    baseUrl: `${origin}/v1`,
    url: `${origin}/v1`,
    requests,
    received,
    calls: () => calls,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

/** A port on 127.0.0.1 that was free a moment ago: nothing listens there (for "unreachable endpoint" tests). */
export const unusedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.on("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as AddressInfo).port
      probe.close(() => resolve(port))
    })
  })

/** An OpenAI base URL (`http://127.0.0.1:<port>/v1`) where nothing listens. */
export const unreachableBaseUrl = async (): Promise<string> => `http://127.0.0.1:${await unusedPort()}/v1`
