import * as net from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import {
  Faults,
  lastUserMessage,
  type OpenAiServer,
  type OpenAiServerOptions,
  startOpenAiServer,
  unreachableBaseUrl
} from "../src/index.js"

let server: OpenAiServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const start = async (options: OpenAiServerOptions) => {
  server = await startOpenAiServer(options)
  return server
}

const post = (s: OpenAiServer, route: string, body: unknown) =>
  fetch(`${s.baseUrl}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })

const json = (res: Response): Promise<any> => res.json()

describe("startOpenAiServer", () => {
  it("answers chat completions with n choices, usage, logprobs and records the bodies", async () => {
    const s = await start({
      chat: (request, index, call) =>
        index === 0
          ? { content: `${lastUserMessage(request)}#${call}`, logprobs: [{ token: "好", logprob: -0.5 }] }
          : `other ${index}`,
      usage: { promptTokens: 7, completionTokens: 3 }
    })
    assert.match(s.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    assert.strictEqual(s.url, s.baseUrl)
    const res = await post(s, "/chat/completions", {
      model: "m1",
      n: 2,
      messages: [
        { role: "system", content: "sys" },
        { role: "user", content: "你好" }
      ]
    })
    assert.strictEqual(res.status, 200)
    const body = await json(res)
    assert.strictEqual(body.object, "chat.completion")
    assert.strictEqual(body.model, "m1")
    assert.strictEqual(body.choices.length, 2)
    assert.deepStrictEqual(body.choices[0].message, { role: "assistant", content: "你好#0" })
    assert.strictEqual(body.choices[0].finish_reason, "stop")
    assert.deepStrictEqual(body.choices[0].logprobs.content[0].top_logprobs, [
      { token: "好", logprob: -0.5, bytes: [229, 165, 189] }
    ])
    assert.strictEqual(body.choices[1].message.content, "other 1")
    assert.isNull(body.choices[1].logprobs)
    assert.deepStrictEqual(body.usage, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 })
    assert.strictEqual(s.requests.length, 1)
    assert.strictEqual(s.requests[0].n, 2)
    assert.strictEqual(s.calls(), 1)
  })

  it("answers embeddings and lists models; unknown routes are OpenAI-style 404s", async () => {
    const s = await start({ embed: (input) => input.map((t) => [t.length, 1]), models: ["e1"] })
    const embedded = await json(await post(s, "/embeddings", { model: "e1", input: ["ab", "abc"] }))
    assert.deepStrictEqual(
      embedded.data.map((d: { index: number; embedding: Array<number> }) => [d.index, d.embedding]),
      [
        [0, [2, 1]],
        [1, [3, 1]]
      ]
    )
    const models = await json(await fetch(`${s.baseUrl}/models`))
    assert.deepStrictEqual(
      models.data.map((m: { id: string }) => m.id),
      ["e1"]
    )
    const chat = await post(s, "/chat/completions", { model: "e1", messages: [] })
    assert.strictEqual(chat.status, 404)
    assert.isString((await json(chat)).error.message)
    assert.strictEqual(s.calls(), 2)
    assert.strictEqual(s.hits(), 3)
    assert.deepStrictEqual(
      s.received.map((r) => `${r.method} ${r.path}`),
      ["POST /v1/embeddings", "GET /v1/models", "POST /v1/chat/completions"]
    )
  })

  it("injects scripted faults: 429 with Retry-After, 503, malformed JSON, a dropped connection", async () => {
    const s = await start({
      chat: () => "ok",
      faults: [Faults.status(429, { retryAfter: 2 }), Faults.status(503), Faults.malformed(), Faults.drop()]
    })
    const body = { model: "m", messages: [{ role: "user", content: "x" }] }
    const limited = await post(s, "/chat/completions", body)
    assert.strictEqual(limited.status, 429)
    assert.strictEqual(limited.headers.get("retry-after"), "2")
    assert.strictEqual((await json(limited)).error.type, "rate_limit_error")
    assert.strictEqual((await post(s, "/chat/completions", body)).status, 503)
    const malformed = await post(s, "/chat/completions", body)
    assert.strictEqual(malformed.status, 200)
    let parsed = true
    try {
      await malformed.json()
    } catch {
      parsed = false
    }
    assert.isFalse(parsed)
    let dropped = false
    try {
      await post(s, "/chat/completions", body)
    } catch {
      dropped = true
    }
    assert.isTrue(dropped)
    const ok = await json(await post(s, "/chat/completions", body))
    assert.strictEqual(ok.choices[0].message.content, "ok")
    assert.strictEqual(s.calls(), 5)
  })

  it("lets respond answer any route and fall through to the built-in ones; latency delays every answer", async () => {
    const s = await start({
      latencyMs: 40,
      chat: () => "built-in",
      respond: (request) =>
        request.path === "/v1/files" ? { kind: "json", status: 201, body: { id: "file-1" } } : undefined
    })
    const started = Date.now()
    const file = await fetch(`${s.baseUrl}/files`, { method: "POST", body: "x" })
    assert.strictEqual(file.status, 201)
    assert.deepStrictEqual(await json(file), { id: "file-1" })
    assert.isAtLeast(Date.now() - started, 35)
    const chat = await json(await post(s, "/chat/completions", { model: "m", messages: [] }))
    assert.strictEqual(chat.choices[0].message.content, "built-in")
    assert.strictEqual(s.received[0]!.raw.toString("utf8"), "x")
    assert.isUndefined(s.received[0]!.body)
  })

  it("close ends open connections; unreachableBaseUrl names a port where nothing listens", async () => {
    const s = await start({ respond: () => ({ kind: "hang" }) })
    const pending = fetch(`${s.baseUrl}/models`).then(
      () => "answered",
      () => "failed"
    )
    await new Promise((r) => setTimeout(r, 20))
    await s.close()
    server = undefined
    assert.strictEqual(await pending, "failed")
    const url = new URL(await unreachableBaseUrl())
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(url.port), "127.0.0.1")
      socket.on("connect", () => {
        socket.destroy()
        resolve(false)
      })
      socket.on("error", () => resolve(true))
    })
    assert.isTrue(refused)
  })
})
