import * as fs from "node:fs"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Logger, Redacted, References, Schema, Tracer } from "effect"
import { EmbeddingModel, LanguageModel } from "effect/ai"
import { ChatClient, EffectAi, OpenAiCompatible, Presets, RemoteEmbedder, Retry } from "../src/index.js"
import { completion, startServer } from "./support/TestServer.js"

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "fixtures", name), "utf8"))

const Grade = Schema.Struct({ grade: Schema.Literals([0, 1, 2, 3]), reason: Schema.String })

const withServer = async <A>(
  body: (name: string) => unknown,
  f: (baseUrl: string) => Promise<A>,
  status = 200
): Promise<A> => {
  const current = ""
  const server = await startServer(() => ({ kind: "json", status, body: body(current) }))
  try {
    return await f(server.baseUrl)
  } finally {
    await server.close()
  }
}

describe("recorded responses", () => {
  for (const [name, check] of [
    [
      "openai-chat-logprobs.json",
      (r: ChatClient.ChatResponse) => {
        assert.strictEqual(r.model, "gpt-4o-2024-08-06")
        assert.deepStrictEqual(
          r.choices[0]!.logprobs![0]!.top.map((t) => t.token),
          ["2", "3", "1"]
        )
        assert.deepStrictEqual(r.usage, { promptTokens: 1117, completionTokens: 1 })
      }
    ],
    [
      "vllm-chat-n2.json",
      (r: ChatClient.ChatResponse) => {
        assert.strictEqual(r.choices.length, 2)
        assert.include(r.choices[1]!.text, "蜜蜂")
        assert.isUndefined(r.choices[0]!.logprobs)
      }
    ],
    [
      "ollama-chat.json",
      (r: ChatClient.ChatResponse) => {
        assert.strictEqual(r.model, "qwen3:8b")
        assert.deepStrictEqual(r.usage, { promptTokens: 42, completionTokens: 17 })
      }
    ],
    [
      "llamacpp-server-chat.json",
      (r: ChatClient.ChatResponse) => {
        assert.strictEqual(r.choices[0]!.finishReason, "length")
        assert.strictEqual(r.choices[0]!.logprobs![0]!.token, "<")
      }
    ]
  ] as const) {
    it(`decodes ${name}`, async () => {
      const body = fixture(name)
      const response = await withServer(
        () => body,
        (baseUrl) =>
          Effect.runPromise(
            Effect.gen(function* () {
              const client = yield* OpenAiCompatible.make({ baseUrl, model: "m" })
              return yield* client.complete({ messages: [{ role: "user", content: "x" }] })
            }).pipe(Effect.provide(NodeHttpClient.layerUndici))
          )
      )
      check(response)
    })
  }

  it("structured output from Ollama's fenced answer and llama.cpp's <think> answer", async () => {
    for (const [name, grade] of [
      ["ollama-chat.json", 1],
      ["llamacpp-server-chat.json", 3]
    ] as const) {
      const body = fixture(name)
      const { value } = await withServer(
        () => body,
        (baseUrl) =>
          Effect.runPromise(
            Effect.gen(function* () {
              const client = yield* OpenAiCompatible.make({ baseUrl, model: "m" })
              return yield* client.completeObject({ messages: [{ role: "user", content: "x" }] }, Grade)
            }).pipe(Effect.provide(NodeHttpClient.layerUndici))
          )
      )
      assert.strictEqual(value.grade, grade)
    }
  })

  it("RemoteEmbedder.make keeps using the HTTP client provided around its use", async () => {
    const server = await startServer((req) => ({
      kind: "json",
      body: {
        object: "list",
        model: "e",
        data: (req.body.input as Array<string>).map((_, i) => ({ object: "embedding", index: i, embedding: [3, 4] })),
        usage: { prompt_tokens: 1, total_tokens: 1 }
      }
    }))
    try {
      const vectors = await Effect.runPromise(
        Effect.gen(function* () {
          const embedder = yield* RemoteEmbedder.make({ baseUrl: server.baseUrl, model: "e", dimensions: 2 })
          // a call after construction must still find the client open: the client is the caller's, provided
          // around construction and use alike
          return yield* embedder.embed(["a", "b"], { kind: "document" })
        }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(vectors.length, 2)
      assert.closeTo(vectors[0]![0]!, 0.6, 1e-6)
      assert.closeTo(vectors[1]![1]!, 0.8, 1e-6)
    } finally {
      await server.close()
    }
  })

  it("RemoteEmbedder orders by index, normalizes, prefixes queries with the instruction and batches", async () => {
    const server = await startServer((req) => ({
      kind: "json",
      body: {
        ...fixture("openai-embeddings.json"),
        data: (req.body.input as Array<string>).map((_, i) => ({
          object: "embedding",
          index: i,
          embedding: [i + 1, 0, 0, 2]
        }))
      }
    }))
    try {
      const recorded = fixture("openai-embeddings.json")
      const vectors = await Effect.runPromise(
        Effect.gen(function* () {
          const embedder = yield* RemoteEmbedder.make({
            baseUrl: server.baseUrl,
            model: "Qwen/Qwen3-Embedding-0.6B",
            batchSize: 2
          })
          assert.strictEqual(embedder.dimensions, 4) // probed
          return yield* embedder.embed(["a", "b", "c"], { kind: "query", dimensions: 2 })
        }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(vectors.length, 3)
      assert.strictEqual(vectors[0]!.length, 2)
      assert.closeTo(vectors[1]![0]!, 1, 1e-6) // [2,0] normalized
      const inputs = server.received.slice(1).map((r) => r.body.input as Array<string>)
      assert.deepStrictEqual(
        inputs.map((i) => i.length),
        [2, 1]
      )
      assert.strictEqual(inputs[0]![0], `Instruct: ${RemoteEmbedder.defaultQueryInstruction}\nQuery: a`)
      assert.strictEqual(
        RemoteEmbedder.formatInput({ model: "m", documentPrefix: "passage: " }, "d", "document"),
        "passage: d"
      )
      // the recorded OpenAI body (indices out of order) decodes and is reordered
      const server2 = await startServer(() => ({ kind: "json", body: recorded }))
      try {
        const v = await Effect.runPromise(
          Effect.gen(function* () {
            const embedder = yield* RemoteEmbedder.make({
              preset: "openai",
              baseUrl: server2.baseUrl,
              model: "text-embedding-3-small",
              dimensions: 3
            })
            return yield* embedder.embed(["x", "y"], { kind: "document" })
          }).pipe(Effect.provide(NodeHttpClient.layerUndici))
        )
        assert.deepStrictEqual(Array.from(v[0]!), [1, 0, 0])
        assert.deepStrictEqual(
          Array.from(v[1]!).map((x) => Math.round(x * 10) / 10),
          [0, 0.6, 0.8]
        )
      } finally {
        await server2.close()
      }
    } finally {
      await server.close()
    }
  })
})

describe("presets and secrets", () => {
  it("every preset has a base URL and its quirks shape requests", () => {
    for (const name of Presets.PresetName.literals) {
      const preset = Presets.get(name)
      assert.match(preset.baseUrl, /^https?:\/\//)
      const body = OpenAiCompatible.toWireBody(
        "m",
        { messages: [], n: 3, topLogprobs: 50, responseFormat: { type: "json_schema", name: "a", schema: {} } },
        preset.quirks,
        Math.min(3, preset.quirks.maxN)
      )
      if (preset.quirks.jsonSchema) assert.strictEqual((body.response_format as any).type, "json_schema")
      else assert.strictEqual((body.response_format as any).type, "json_object")
      if (!preset.quirks.logprobs) assert.isUndefined(body.logprobs)
      else assert.isAtMost(body.top_logprobs as number, preset.quirks.maxTopLogprobs)
    }
  })

  it("config reads the key through Config.Redacted, falling back to the preset's variable", async () => {
    const provider = ConfigProvider.fromUnknown({
      SSRA_LLM_PRESET: "deepseek",
      SSRA_LLM_MODEL: "deepseek-chat",
      DEEPSEEK_API_KEY: "sk-deep-secret"
    })
    const config = await Effect.runPromise(
      OpenAiCompatible.config().pipe(Effect.provideService(ConfigProvider.ConfigProvider, provider))
    )
    assert.strictEqual(config.preset, "deepseek")
    assert.isTrue(Redacted.isRedacted(config.apiKey))
    assert.strictEqual(Redacted.value(config.apiKey!), "sk-deep-secret")
    assert.notInclude(JSON.stringify(config), "sk-deep-secret")
    assert.notInclude(String(config.apiKey), "sk-deep-secret")
  })

  it("the API key never appears in logs, spans or error messages", async () => {
    const key = "sk-test-0123456789abcdef"
    const lines: Array<string> = []
    const spans: Array<Tracer.NativeSpan> = []
    const logger = Logger.make((options) => {
      lines.push(`${String(options.message)} ${JSON.stringify(options.message)} ${String(options.cause)}`)
    })
    const tracer = Tracer.make({
      span: (options) => {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })
    let n = 0
    const server = await startServer(() => {
      n++
      if (n === 1) return { kind: "json", status: 503, body: { error: { message: `overloaded for ${key}` } } }
      if (n === 2) return { kind: "json", body: completion("ok") }
      return { kind: "json", status: 401, body: fixture("openai-error-401.json") }
    })
    try {
      const exit = await Effect.runPromise(
        Effect.gen(function* () {
          const base = yield* OpenAiCompatible.make({
            preset: "openai",
            baseUrl: server.baseUrl,
            model: "gpt-4o",
            apiKey: Redacted.make(key)
          })
          const client = Retry.wrap(base, { baseDelayMs: 1 })
          yield* client.complete({ messages: [{ role: "user", content: "a" }], temperature: 0, stage: "score" })
          return yield* Effect.exit(client.complete({ messages: [{ role: "user", content: "b" }] }))
        }).pipe(
          Effect.tapCause((cause) => Effect.logError("failed", cause)),
          Effect.tap((e) => Effect.logError("outcome", e)),
          Effect.withTracer(tracer),
          Effect.provide(Layer.mergeAll(NodeHttpClient.layerUndici, Logger.layer([logger]))),
          Effect.provideService(References.MinimumLogLevel, "Trace")
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = (exit as any).cause.reasons[0].error as ChatClient.LlmError
      assert.strictEqual(error.reason, "auth")
      assert.isFalse(error.retryable)
      assert.isAbove(lines.length, 1) // the retry was logged, the outcome too
      for (const line of lines) assert.notInclude(line, key)
      assert.notInclude(error.message, key)
      assert.notInclude(JSON.stringify(error), key)
      assert.notInclude(String(error), key)
      const chats = spans.filter((s) => s.name === "chat gpt-4o")
      assert.strictEqual(chats.length, 3) // 503, retried success, 401
      const chat = chats[1]!
      assert.strictEqual(chat.attributes.get("gen_ai.request.model"), "gpt-4o")
      assert.strictEqual(chat.attributes.get("gen_ai.operation.name"), "chat")
      assert.strictEqual(chat.attributes.get("gen_ai.usage.output_tokens"), 5)
      assert.strictEqual(chat.attributes.get("ssra.stage"), "score")
      for (const span of spans)
        for (const value of span.attributes.values()) assert.notInclude(JSON.stringify(value ?? null), key)
    } finally {
      await server.close()
    }
  })
})

describe("effect/ai adapters", () => {
  it("LanguageModel.generateText / generateObject and EmbeddingModel.embed run on our clients", async () => {
    const server = await startServer((req) =>
      req.path.endsWith("/embeddings")
        ? {
            kind: "json",
            body: { data: (req.body.input as Array<string>).map((_, i) => ({ index: i, embedding: [1, i] })) }
          }
        : req.body.response_format
          ? { kind: "json", body: completion('Here: {"grade": 2, "reason": "ok"}') }
          : { kind: "json", body: completion("plain answer", { promptTokens: 7, completionTokens: 2 }) }
    )
    try {
      const out = await Effect.runPromise(
        Effect.gen(function* () {
          const client = yield* OpenAiCompatible.make({ baseUrl: server.baseUrl, model: "m" })
          const embedder = yield* RemoteEmbedder.make({ baseUrl: server.baseUrl, model: "e", dimensions: 2 })
          const layer = Layer.mergeAll(EffectAi.layerLanguageModel(client), EffectAi.layerEmbeddingModel(embedder))
          return yield* Effect.gen(function* () {
            const text = yield* LanguageModel.generateText({ prompt: "hello" })
            const object = yield* LanguageModel.generateObject({ prompt: "grade it", schema: Grade })
            const embedding = yield* EmbeddingModel.EmbeddingModel.use((m) => m.embed("x"))
            return { text: text.text, usage: text.usage.inputTokens.total, object: object.value, embedding }
          }).pipe(Effect.provide(layer))
        }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(out.text, "plain answer")
      assert.strictEqual(out.usage, 7)
      assert.deepStrictEqual(out.object, { grade: 2, reason: "ok" })
      assert.strictEqual((out.embedding as any).vector.length, 2)
      const structured = server.received.find((r) => r.body?.response_format)!
      assert.strictEqual(structured.body.response_format.type, "json_schema")
    } finally {
      await server.close()
    }
  })

  it("maps LlmError to AiError with retryability", () => {
    const e = EffectAi.toAiError(
      "generateText",
      new ChatClient.LlmError({
        reason: "rate-limited",
        endpoint: "x",
        message: "m",
        retryable: true,
        retryAfterMs: 1500
      })
    )
    assert.strictEqual(e.reason._tag, "RateLimitError")
    assert.isTrue(e.isRetryable)
    const bad = EffectAi.toAiError(
      "generateText",
      new ChatClient.LlmError({ reason: "bad-request", endpoint: "x", message: "m", retryable: false })
    )
    assert.isFalse(bad.isRetryable)
  })
})
