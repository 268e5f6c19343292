// The library never chooses its HTTP client: OpenAiCompatible.layer / layerConfig / make and RemoteEmbedder.make
// require `HttpClient`, and every request goes through the one the caller provides (a proxy, tracing, a test
// transport). Two proofs: a Node client wrapped with `HttpClient.mapRequest` whose header the fake server records on
// every request, and an in-memory client that answers an unreachable base URL by itself.
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { chatCompletion, embeddingList, startOpenAiServer, unreachableBaseUrl } from "@ssra/test-support"
import { ConfigProvider, Effect, Layer } from "effect"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import { ChatClient, OpenAiCompatible, RemoteEmbedder } from "../src/index.js"

const header = "x-ssra-caller-client"

/** The Node client, every request tagged with `header: tag` (what a team's proxy or tracing wrapper would do). */
const tagged = (tag: string): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader(header, tag)))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))

// The layers' types carry the requirement: without a provided client they do not compile into a runnable program.
const requiresClient: Layer.Layer<ChatClient.ChatClient, never, HttpClient.HttpClient> = OpenAiCompatible.layer({
  baseUrl: "http://127.0.0.1:1/v1",
  model: "m"
})

describe("caller-supplied HttpClient", () => {
  it("OpenAiCompatible.layer sends every request through the provided client", async () => {
    const server = await startOpenAiServer({ chat: (_, index) => `answer ${index}` })
    try {
      const texts = await Effect.runPromise(
        ChatClient.ChatClient.use((client) =>
          Effect.all([
            client.complete({ messages: [{ role: "user", content: "one" }] }),
            client.complete({ messages: [{ role: "user", content: "two" }], n: 2 })
          ])
        ).pipe(
          Effect.map((responses) => responses.flatMap((r) => r.choices.map((c) => c.text))),
          Effect.provide(OpenAiCompatible.layer({ baseUrl: server.baseUrl, model: "m" })),
          Effect.provide(tagged("layer"))
        )
      )
      assert.deepStrictEqual(texts, ["answer 0", "answer 0", "answer 1"])
      assert.strictEqual(server.received.length, 2)
      for (const request of server.received) assert.strictEqual(request.headers[header], "layer")
    } finally {
      await server.close()
    }
  })

  it("OpenAiCompatible.layerConfig uses the provided client too", async () => {
    const server = await startOpenAiServer({ chat: () => "configured" })
    try {
      const provider = ConfigProvider.fromUnknown({ SSRA_LLM_BASE_URL: server.baseUrl, SSRA_LLM_MODEL: "m" })
      const response = await Effect.runPromise(
        ChatClient.ChatClient.use((client) => client.complete({ messages: [{ role: "user", content: "hi" }] })).pipe(
          Effect.provide(OpenAiCompatible.layerConfig()),
          Effect.provide(tagged("layer-config")),
          Effect.provideService(ConfigProvider.ConfigProvider, provider)
        )
      )
      assert.strictEqual(response.choices[0]!.text, "configured")
      assert.strictEqual(server.received.length, 1)
      assert.strictEqual(server.received[0]!.headers[header], "layer-config")
    } finally {
      await server.close()
    }
  })

  it("RemoteEmbedder.make: the dimension probe and every batch go through the provided client", async () => {
    const server = await startOpenAiServer({ embed: (input) => input.map((text) => [text.length, 1]) })
    try {
      const vectors = await Effect.runPromise(
        Effect.gen(function* () {
          const embedder = yield* RemoteEmbedder.make({ baseUrl: server.baseUrl, model: "e", batchSize: 2 })
          return yield* embedder.embed(["a", "bb", "ccc"], { kind: "document" })
        }).pipe(Effect.provide(tagged("embedder")))
      )
      assert.strictEqual(vectors.length, 3)
      // one probe, then two batches (2 + 1)
      assert.strictEqual(server.received.length, 3)
      for (const request of server.received) assert.strictEqual(request.headers[header], "embedder")
    } finally {
      await server.close()
    }
  })

  it("an in-memory client answers an unreachable base URL: no other client is ever used", async () => {
    const seen: Array<{ readonly url: string; readonly body: unknown }> = []
    const memory = HttpClient.make((request) =>
      Effect.sync(() => {
        const text = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "{}"
        seen.push({ url: request.url, body: JSON.parse(text) })
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify(chatCompletion(["from memory"])), {
            headers: { "content-type": "application/json" }
          })
        )
      })
    )
    const memoryEmbeddings = HttpClient.make((request) =>
      Effect.sync(() =>
        HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify(embeddingList([[3, 4]])), { headers: { "content-type": "application/json" } })
        )
      )
    )
    const baseUrl = await unreachableBaseUrl()
    const response = await Effect.runPromise(
      ChatClient.ChatClient.use((client) => client.complete({ messages: [{ role: "user", content: "hi" }] })).pipe(
        Effect.provide(OpenAiCompatible.layer({ baseUrl, model: "m", timeoutMs: 2_000 })),
        Effect.provideService(HttpClient.HttpClient, memory)
      )
    )
    assert.strictEqual(response.choices[0]!.text, "from memory")
    assert.deepStrictEqual(
      seen.map((s) => s.url),
      [`${baseUrl}/chat/completions`]
    )
    assert.strictEqual((seen[0]!.body as { model: string }).model, "m")
    const vector = await Effect.runPromise(
      Effect.gen(function* () {
        const embedder = yield* RemoteEmbedder.make({ baseUrl, model: "e", dimensions: 2 })
        return yield* embedder.embed(["x"], { kind: "query" })
      }).pipe(Effect.provideService(HttpClient.HttpClient, memoryEmbeddings))
    )
    assert.closeTo(vector[0]![0]!, 0.6, 1e-6)
    assert.closeTo(vector[0]![1]!, 0.8, 1e-6)
    assert.isDefined(requiresClient)
  })
})
