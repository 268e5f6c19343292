/**
 * A real HTTP server on 127.0.0.1 speaking the OpenAI wire format, scripted per test: each request is answered by
 * the test's handler, which can delay, fail with any status (with or without Retry-After), reset the connection,
 * truncate or mangle the body, dribble a slow stream, or ignore `response_format`.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly raw: Buffer
  readonly body: any
  /** 0-based index of this request on the server. */
  readonly hit: number
}

export type Action =
  | {
      readonly kind: "json"
      readonly status?: number
      readonly body: unknown
      readonly headers?: Record<string, string>
      readonly delayMs?: number
    }
  | {
      readonly kind: "text"
      readonly status?: number
      readonly text: string
      readonly headers?: Record<string, string>
      readonly delayMs?: number
    }
  /** Declares a longer Content-Length than it sends, then ends the socket. */
  | { readonly kind: "truncated"; readonly body: unknown }
  /** Destroys the socket without answering. */
  | { readonly kind: "reset" }
  /** Sends headers, then the body in `chunks` pieces `intervalMs` apart. */
  | { readonly kind: "slow"; readonly body: unknown; readonly chunks: number; readonly intervalMs: number }
  /** Never answers (until the server closes). */
  | { readonly kind: "hang" }

export interface TestServer {
  readonly baseUrl: string
  readonly hits: () => number
  readonly received: Array<Received>
  readonly close: () => Promise<void>
}

export const startServer = async (
  handler: (request: Received) => Action | Promise<Action>,
  options: { readonly keep?: boolean } = {}
): Promise<TestServer> => {
  let hits = 0
  const received: Array<Received> = []
  const sockets = new Set<import("node:net").Socket>()
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", async () => {
      const raw = Buffer.concat(chunks)
      const contentType = req.headers["content-type"] ?? ""
      let body: any
      if (contentType.includes("application/json")) {
        try {
          body = JSON.parse(raw.toString("utf8"))
        } catch {
          body = undefined
        }
      }
      const request: Received = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        raw,
        body,
        hit: hits++
      }
      if (options.keep !== false) received.push(request)
      const action = await handler(request)
      const delay = "delayMs" in action && action.delayMs ? action.delayMs : 0
      const respond = () => {
        switch (action.kind) {
          case "json": {
            const text = JSON.stringify(action.body)
            res.writeHead(action.status ?? 200, { "content-type": "application/json", ...action.headers })
            res.end(text)
            return
          }
          case "text":
            res.writeHead(action.status ?? 200, { "content-type": "text/plain", ...action.headers })
            res.end(action.text)
            return
          case "truncated": {
            const text = JSON.stringify(action.body)
            res.writeHead(200, { "content-type": "application/json", "content-length": String(text.length + 100) })
            res.write(text.slice(0, Math.floor(text.length / 2)))
            setTimeout(() => res.socket?.destroy(), 5)
            return
          }
          case "reset":
            req.socket.destroy()
            return
          case "slow": {
            const text = JSON.stringify(action.body)
            res.writeHead(200, { "content-type": "application/json" })
            const size = Math.ceil(text.length / action.chunks)
            let i = 0
            const tick = () => {
              if (res.destroyed) return
              if (i * size >= text.length) return void res.end()
              res.write(text.slice(i * size, (i + 1) * size))
              i++
              setTimeout(tick, action.intervalMs)
            }
            tick()
            return
          }
          case "hang":
            return
        }
      }
      if (delay > 0) setTimeout(respond, delay)
      else respond()
    })
  })
  server.keepAliveTimeout = 60_000
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    hits: () => hits,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

/** A chat completion body in OpenAI's format. */
export const completion = (
  content: string | ReadonlyArray<string>,
  options: {
    readonly model?: string
    readonly promptTokens?: number
    readonly completionTokens?: number
    readonly logprobs?: unknown
  } = {}
) => ({
  id: "chatcmpl-test",
  object: "chat.completion",
  created: 1_763_900_000,
  model: options.model ?? "test-model",
  choices: (typeof content === "string" ? [content] : content).map((text, index) => ({
    index,
    message: { role: "assistant", content: text },
    logprobs: options.logprobs ?? null,
    finish_reason: "stop"
  })),
  usage: {
    prompt_tokens: options.promptTokens ?? 10,
    completion_tokens: options.completionTokens ?? 5,
    total_tokens: (options.promptTokens ?? 10) + (options.completionTokens ?? 5)
  }
})

/** The last user message of a chat request body. */
export const lastUser = (body: any): string => {
  const messages = (body?.messages ?? []) as Array<{ role: string; content: string }>
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messages[i]!.content
  return ""
}
