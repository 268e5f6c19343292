import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted, Schema } from "effect"
import { type ChatClient, OpenAiCompatible, Retry } from "../src/index.js"
import { completion, lastUser, startServer } from "./support/TestServer.js"

const Grade = Schema.Struct({ grade: Schema.Literals([0, 1, 2, 3]), reason: Schema.String })

const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
  Effect.runPromise(Effect.provide(effect, NodeHttpClient.layerUndici) as Effect.Effect<A, E>)

const failure = (exit: Exit.Exit<unknown, unknown>): ChatClient.LlmError => {
  assert.isTrue(Exit.isFailure(exit))
  const reason = (exit as any).cause.reasons[0]
  return reason.error as ChatClient.LlmError
}

describe("OpenAiCompatible", () => {
  it("sends the OpenAI wire format and decodes text, usage and logprobs", async () => {
    const server = await startServer(() => ({
      kind: "json",
      body: completion("你好", {
        promptTokens: 12,
        completionTokens: 3,
        logprobs: {
          content: [
            {
              token: "你",
              logprob: -0.1,
              bytes: [228],
              top_logprobs: [
                { token: "你", logprob: -0.1 },
                { token: "您", logprob: -2.4 }
              ]
            }
          ]
        }
      })
    }))
    try {
      const response = await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({
            baseUrl: server.baseUrl,
            model: "qwen3-8b",
            apiKey: Redacted.make("sk-secret-123")
          })
          return yield* client.complete({
            messages: [{ role: "user", content: "hi" }],
            temperature: 0.2,
            seed: 7,
            topLogprobs: 5,
            maxTokens: 16
          })
        })
      )
      assert.strictEqual(response.choices[0]!.text, "你好")
      assert.deepStrictEqual(response.usage, { promptTokens: 12, completionTokens: 3 })
      assert.strictEqual(response.choices[0]!.logprobs![0]!.top[1]!.token, "您")
      const sent = server.received[0]!
      assert.strictEqual(sent.path, "/v1/chat/completions")
      assert.strictEqual(sent.headers.authorization, "Bearer sk-secret-123")
      assert.deepStrictEqual(
        {
          model: sent.body.model,
          temperature: sent.body.temperature,
          seed: sent.body.seed,
          logprobs: sent.body.logprobs,
          top: sent.body.top_logprobs,
          max: sent.body.max_tokens
        },
        { model: "qwen3-8b", temperature: 0.2, seed: 7, logprobs: true, top: 5, max: 16 }
      )
    } finally {
      await server.close()
    }
  })

  it("completeObject sends json_schema and decodes; a server ignoring it is handled by lenient extraction", async () => {
    const server = await startServer(() => ({
      kind: "json",
      body: completion('Sure! Here is my grading:\n```json\n{"grade": 2, "reason": "相关"}\n```\nHope this helps.')
    }))
    try {
      const { value } = await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({ baseUrl: server.baseUrl, model: "m" })
          return yield* client.completeObject({ messages: [{ role: "user", content: "grade" }] }, Grade)
        })
      )
      assert.deepStrictEqual(value, { grade: 2, reason: "相关" })
      const body = server.received[0]!.body
      assert.strictEqual(body.response_format.type, "json_schema")
      assert.deepStrictEqual(body.response_format.json_schema.schema.required, ["grade", "reason"])
      assert.include(body.messages[0].content, "JSON Schema")
    } finally {
      await server.close()
    }
  })

  it("a preset without json_schema gets json_object", async () => {
    const server = await startServer(() => ({ kind: "json", body: completion('{"grade":1,"reason":"x"}') }))
    try {
      await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({
            preset: "deepseek",
            baseUrl: server.baseUrl,
            model: "deepseek-chat"
          })
          return yield* client.completeObject({ messages: [{ role: "user", content: "grade" }] }, Grade)
        })
      )
      assert.deepStrictEqual(server.received[0]!.body.response_format, { type: "json_object" })
    } finally {
      await server.close()
    }
  })

  it("repairs once by sending the decode error back, then fails with invalid-output carrying the raw text", async () => {
    const server = await startServer((req) => {
      const messages = req.body.messages as Array<{ role: string }>
      const isRepair = messages.some((m) => m.role === "assistant")
      if (messages.some((m: any) => m.role === "user" && m.content === "fixable")) {
        return { kind: "json", body: completion(isRepair ? '{"grade":3,"reason":"ok"}' : '{"grade":7}') }
      }
      return { kind: "json", body: completion(isRepair ? "still not json" : "I think grade two") }
    })
    try {
      const fixed = await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({ baseUrl: server.baseUrl, model: "m" })
          return yield* client.completeObject({ messages: [{ role: "user", content: "fixable" }] }, Grade)
        })
      )
      assert.deepStrictEqual(fixed.value, { grade: 3, reason: "ok" })
      const repairMessage = server.received[1]!.body.messages.at(-1).content as string
      assert.include(repairMessage, "grade")
      const exit = await run(
        Effect.exit(
          Effect.gen(function* () {
            const client = yield* OpenAiCompatible.make({ baseUrl: server.baseUrl, model: "m" })
            return yield* client.completeObject({ messages: [{ role: "user", content: "hopeless" }] }, Grade)
          })
        )
      )
      const error = failure(exit)
      assert.strictEqual(error.reason, "invalid-output")
      assert.strictEqual(error.raw, "still not json")
      assert.isFalse(error.retryable)
      assert.strictEqual(server.hits(), 4)
    } finally {
      await server.close()
    }
  })

  it("fans n > 1 out on servers that return one choice (ollama) with distinct seeds", async () => {
    const server = await startServer((req) => ({ kind: "json", body: completion(`seed ${req.body.seed}`) }))
    try {
      const response = await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({ preset: "ollama", baseUrl: server.baseUrl, model: "qwen3:8b" })
          return yield* client.complete({ messages: [{ role: "user", content: "q" }], n: 3, seed: 10, topLogprobs: 5 })
        })
      )
      assert.deepStrictEqual(response.choices.map((c) => c.text).sort(), ["seed 10", "seed 11", "seed 12"])
      assert.deepStrictEqual(response.usage, { promptTokens: 30, completionTokens: 15 })
      for (const r of server.received) {
        assert.isUndefined(r.body.n)
        // Ollama's OpenAI layer accepts logprobs, so they are forwarded
        assert.strictEqual(r.body.logprobs, true)
        assert.strictEqual(r.body.top_logprobs, 5)
      }
    } finally {
      await server.close()
    }
  })

  it("drops logprobs for a server whose quirks say it has none", async () => {
    const server = await startServer(() => ({ kind: "json", body: completion("x") }))
    try {
      await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({
            preset: "ollama",
            baseUrl: server.baseUrl,
            model: "qwen3:8b",
            quirks: { logprobs: false, maxTopLogprobs: 0 }
          })
          return yield* client.complete({ messages: [{ role: "user", content: "q" }], topLogprobs: 5 })
        })
      )
      assert.strictEqual(server.received.length, 1)
      assert.isUndefined(server.received[0]!.body.logprobs)
      assert.isUndefined(server.received[0]!.body.top_logprobs)
    } finally {
      await server.close()
    }
  })

  it("maps statuses, Retry-After, malformed and truncated bodies, resets and timeouts to typed errors", async () => {
    const server = await startServer((req) => {
      switch (lastUser(req.body)) {
        case "429":
          return {
            kind: "json",
            status: 429,
            body: { error: { message: "slow down" } },
            headers: { "retry-after": "2" }
          }
        case "503":
          return { kind: "text", status: 503, text: "upstream unavailable" }
        case "400":
          return { kind: "json", status: 400, body: { error: { message: "bad n" } } }
        case "401":
          return {
            kind: "json",
            status: 401,
            body: { error: { message: "Incorrect API key provided: sk-secret-123" } }
          }
        case "malformed":
          return {
            kind: "text",
            status: 200,
            text: '{"id": "x", "choices": [',
            headers: { "content-type": "application/json" }
          }
        case "not-a-completion":
          return { kind: "json", body: { hello: "world" } }
        case "truncated":
          return { kind: "truncated", body: completion("abc") }
        case "reset":
          return { kind: "reset" }
        case "slow":
          return { kind: "slow", body: completion("late"), chunks: 20, intervalMs: 50 }
        default:
          return { kind: "hang" }
      }
    })
    try {
      const errors = await run(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({
            baseUrl: server.baseUrl,
            model: "m",
            timeoutMs: 300,
            apiKey: Redacted.make("sk-secret-123")
          })
          const out: Record<string, ChatClient.LlmError> = {}
          for (const kind of [
            "429",
            "503",
            "400",
            "401",
            "malformed",
            "not-a-completion",
            "truncated",
            "reset",
            "slow",
            "hang"
          ]) {
            const exit = yield* Effect.exit(client.complete({ messages: [{ role: "user", content: kind }] }))
            out[kind] = failure(exit)
          }
          return out
        })
      )
      assert.strictEqual(errors["429"]!.reason, "rate-limited")
      assert.strictEqual(errors["429"]!.retryAfterMs, 2000)
      assert.isTrue(errors["429"]!.retryable)
      assert.strictEqual(errors["503"]!.reason, "server-error")
      assert.strictEqual(errors["503"]!.status, 503)
      assert.isFalse(errors["400"]!.retryable)
      assert.strictEqual(errors["401"]!.reason, "auth")
      assert.notInclude(errors["401"]!.message, "sk-secret-123")
      assert.include(errors["401"]!.message, "[redacted]")
      assert.strictEqual(errors.malformed!.reason, "server-error")
      assert.include(errors.malformed!.message, "malformed JSON")
      assert.strictEqual(errors["not-a-completion"]!.reason, "server-error")
      assert.isTrue(errors.truncated!.retryable)
      assert.strictEqual(errors.reset!.reason, "connection")
      assert.strictEqual(errors.slow!.reason, "timeout")
      assert.strictEqual(errors.hang!.reason, "timeout")
      for (const e of Object.values(errors)) assert.notInclude(JSON.stringify(e), "sk-secret-123")
    } finally {
      await server.close()
    }
  })

  it("retries 429 (honouring Retry-After) and 5xx, not 400", async () => {
    let calls = 0
    const server = await startServer((req) => {
      calls++
      if (lastUser(req.body) === "bad") return { kind: "json", status: 400, body: { error: { message: "no" } } }
      if (calls === 1) return { kind: "json", status: 429, body: {}, headers: { "retry-after-ms": "30" } }
      if (calls === 2) return { kind: "text", status: 502, text: "bad gateway" }
      if (calls === 3) return { kind: "reset" }
      return { kind: "json", body: completion("done") }
    })
    try {
      const delays: Array<number> = []
      const result = await run(
        Effect.gen(function* () {
          const base = yield* OpenAiCompatible.make({ baseUrl: server.baseUrl, model: "m" })
          const client = Retry.wrap(base, { baseDelayMs: 5, onRetry: (e) => delays.push(e.delayMs) })
          const ok = yield* client.complete({ messages: [{ role: "user", content: "x" }] })
          const bad = yield* Effect.exit(client.complete({ messages: [{ role: "user", content: "bad" }] }))
          return { ok, bad }
        })
      )
      assert.strictEqual(result.ok.choices[0]!.text, "done")
      assert.strictEqual(delays[0], 30)
      assert.strictEqual(delays.length, 3)
      assert.strictEqual(failure(result.bad).reason, "bad-request")
      assert.strictEqual(calls, 5)
    } finally {
      await server.close()
    }
  })
})
