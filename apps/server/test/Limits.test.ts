import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Server } from "../src/index.js"
import { dualEncoder, recording } from "./models.js"
import { http, rawExchange } from "./support.js"

const quiet = { accessLog: false as const, port: 0 }
const limitsEmbedder = recording(dualEncoder())

describe("request limits", () => {
  layer(
    Server.layer({
      ...quiet,
      models: { embedder: limitsEmbedder },
      limits: { maxBodyBytes: 4096, maxBatchSize: 4, maxTextLength: 10, bodyTimeoutMs: 300 }
    }),
    { excludeTestServices: true }
  )((it) => {
    it.effect("batch size and text length answer 400 problems with the field path", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const batch = yield* http(`${url}/v1/embeddings`, { body: { input: ["a", "b", "c", "d", "e"] } })
        assert.strictEqual(batch.status, 400)
        assert.strictEqual(batch.headers.get("content-type"), "application/problem+json")
        assert.deepStrictEqual(batch.json.errors[0].path, ["payload", "input"])
        assert.match(batch.json.errors[0].message, /5 > limit 4/)
        const long = yield* http(`${url}/v1/embeddings`, { body: { input: ["ok", "x".repeat(11)] } })
        assert.strictEqual(long.status, 400)
        assert.deepStrictEqual(long.json.errors[0].path, ["payload", "input", 1])
        const rerank = yield* http(`${url}/v1/rerank`, { body: { query: "q", documents: [{ text: "y".repeat(11) }] } })
        assert.deepStrictEqual(rerank.json.errors[0].path, ["payload", "documents", 0, "text"])
        const empty = yield* http(`${url}/v1/relevance`, { body: { pairs: [] } })
        assert.strictEqual(empty.status, 400)
        assert.deepStrictEqual(empty.json.errors[0].path, ["payload", "pairs"])
      })
    )

    it.effect("a body with invalid UTF-8 is a 400 problem naming the byte offset, not embedded as U+FFFD", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const before = limitsEmbedder.calls.length
        // {"input": ["蜜蜂", "a<0xff>b"]}: the 0xff is at byte 23 (蜜 and 蜂 are 3 bytes each)
        const bytes = Buffer.concat([Buffer.from('{"input": ["蜜蜂", "a'), Buffer.from([0xff]), Buffer.from('b"]}')])
        const reply = yield* Effect.promise(() =>
          fetch(`${url}/v1/embeddings`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: bytes
          })
        )
        const json: any = yield* Effect.promise(() => reply.json())
        assert.strictEqual(reply.status, 400)
        assert.strictEqual(reply.headers.get("content-type"), "application/problem+json")
        assert.match(json.detail, /not valid UTF-8: byte 0xff at byte offset 23/)
        assert.deepStrictEqual(json.errors, [{ path: ["payload"], message: "invalid UTF-8 at byte offset 23" }])
        assert.strictEqual(limitsEmbedder.calls.length, before, "nothing was embedded")
        const valid = yield* http(`${url}/v1/embeddings`, { body: { input: ["蜜蜂", "🐝"] } })
        assert.strictEqual(valid.status, 200)
      })
    )

    it.effect("malformed JSON and wrong types are 400 problems naming the field", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const malformed = yield* http(`${url}/v1/embeddings`, { raw: '{"input": ["a",' })
        assert.strictEqual(malformed.status, 400)
        assert.strictEqual(malformed.json.title, "Bad Request")
        assert.match(malformed.json.errors[0].message, /valid JSON/)
        const wrong = yield* http(`${url}/v1/rerank`, { body: { query: 3, documents: "nope", top_n: -1 } })
        assert.strictEqual(wrong.status, 400)
        const paths = wrong.json.errors.map((e: any) => e.path.join("."))
        assert.includeMembers(paths, ["payload.query", "payload.documents", "payload.top_n"])
        const missing = yield* http(`${url}/v1/embeddings`, { body: {} })
        assert.deepStrictEqual(missing.json.errors[0].path, ["payload", "input"])
        const format = yield* http(`${url}/v1/embeddings`, { body: { input: "a", encoding_format: "int8" } })
        assert.deepStrictEqual(format.json.errors[0].path, ["payload", "encoding_format"])
        const media = yield* http(`${url}/v1/embeddings`, { raw: "input=a", headers: { "content-type": "text/plain" } })
        assert.strictEqual(media.status, 415)
        const unknown = yield* http(`${url}/v2/whatever`)
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual(unknown.json.type, "https://ssra.dev/problems/not-found")
        const wrongMethod = yield* http(`${url}/v1/embeddings`)
        assert.strictEqual(wrongMethod.status, 405)
        assert.strictEqual(wrongMethod.headers.get("allow"), "POST")
        assert.strictEqual(wrongMethod.json.type, "https://ssra.dev/problems/method-not-allowed")
        assert.match(wrongMethod.json.detail, /\/v1\/embeddings takes POST, not GET/)
        const postHealth = yield* http(`${url}/healthz`, { body: {} })
        assert.strictEqual(postHealth.status, 405)
        assert.strictEqual(postHealth.headers.get("allow"), "GET")
      })
    )

    it.effect("a body over the limit is a 413, by Content-Length or while streaming chunks", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const declared = yield* http(`${url}/v1/embeddings`, { raw: JSON.stringify({ input: "x".repeat(5000) }) })
        assert.strictEqual(declared.status, 413)
        assert.strictEqual(declared.json.limitBytes, 4096)
        const chunk = "x".repeat(3000)
        const hex = chunk.length.toString(16)
        const head =
          "POST /v1/embeddings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n"
        const answer = yield* rawExchange(
          url,
          [
            { data: head + `${hex}\r\n${chunk}\r\n` },
            { data: `${hex}\r\n${chunk}\r\n`, afterMs: 20 },
            { data: "0\r\n\r\n", afterMs: 20 }
          ],
          2000
        )
        assert.match(answer, /^HTTP\/1\.1 413 /)
        assert.include(answer, "payload-too-large")
      })
    )

    it.effect("a client that stalls mid-body gets a 408 while others are served", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const head =
          "POST /v1/embeddings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        const stalled = yield* Effect.forkChild(rawExchange(url, [{ data: `${head}{"input":` }], 3000))
        const health = yield* http(`${url}/healthz`)
        assert.strictEqual(health.status, 200)
        const answer = yield* Fiber.join(stalled)
        assert.match(answer, /^HTTP\/1\.1 408 /)
        assert.include(answer, "request-timeout")
      })
    )

    it.effect("a client that never finishes its headers is cut off", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const answer = yield* rawExchange(url, [{ data: "POST /v1/embeddings HTTP/1.1\r\nHost: te" }], 4000)
        // Node answers 408 on headersTimeout and closes the socket before our 4 s wait ends.
        assert.match(answer, /^HTTP\/1\.1 408 /)
        const health = yield* http(`${url}/healthz`)
        assert.strictEqual(health.status, 200)
      })
    )
  })
})

describe("concurrency and timeouts", () => {
  layer(
    Server.layer({
      ...quiet,
      models: { embedder: recording(dualEncoder(), { delayMs: 300 }) },
      limits: { maxConcurrent: 1, maxQueue: 1, retryAfterSeconds: 3 },
      batching: { maxWaitMs: 0 }
    }),
    { excludeTestServices: true }
  )((it) => {
    it.effect("beyond in-flight + queue the server answers 429 with Retry-After", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const replies = yield* Effect.all(
          [0, 1, 2].map((i) => http(`${url}/v1/embeddings`, { body: { input: `text ${i}` } })),
          { concurrency: "unbounded" }
        )
        const statuses = replies.map((r) => r.status).sort()
        assert.deepStrictEqual(statuses, [200, 200, 429])
        const rejected = replies.find((r) => r.status === 429)!
        assert.strictEqual(rejected.headers.get("retry-after"), "3")
        assert.strictEqual(rejected.json.type, "https://ssra.dev/problems/too-many-requests")
        // Health stays outside the admission queue.
        assert.strictEqual((yield* http(`${url}/healthz`)).status, 200)
      })
    )
  })

  layer(
    Server.layer({
      ...quiet,
      models: { embedder: recording(dualEncoder(), { delayMs: 400 }) },
      limits: { requestTimeoutMs: 100 }
    }),
    { excludeTestServices: true }
  )((it) => {
    it.effect("a request over the per-request timeout is a 503 problem", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const reply = yield* http(`${url}/v1/embeddings`, { body: { input: "slow" } })
        assert.strictEqual(reply.status, 503)
        assert.strictEqual(reply.json.type, "https://ssra.dev/problems/processing-timeout")
        assert.strictEqual(reply.json.timeoutMs, 100)
        assert.isNotNull(reply.headers.get("retry-after"))
      })
    )
  })
})

describe("micro-batching", () => {
  const embedder = recording(dualEncoder())
  layer(Server.layer({ ...quiet, models: { embedder }, batching: { maxWaitMs: 25, maxBatchSize: 64 } }), {
    excludeTestServices: true
  })((it) => {
    it.effect("concurrent embedding requests share embedder calls and get their own vectors back", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const texts = Array.from({ length: 24 }, (_, i) => `query number ${i}`)
        const replies = yield* Effect.all(
          texts.map((t) => http(`${url}/v1/embeddings`, { body: { input: t } })),
          { concurrency: "unbounded" }
        )
        assert.isTrue(replies.every((r) => r.status === 200))
        assert.strictEqual(
          embedder.calls.reduce((a, b) => a + b.size, 0),
          24
        )
        assert.isBelow(embedder.calls.length, 24)
        const alone = yield* http(`${url}/v1/embeddings`, { body: { input: texts[5] } })
        assert.deepStrictEqual(replies[5]!.json.data[0].embedding, alone.json.data[0].embedding)
      })
    )
  })
})

it.live("with maxWaitMs 0 a request is still answered (same-tick batching)", () =>
  Effect.gen(function* () {
    const { url } = yield* Server.start({
      ...quiet,
      models: { embedder: recording(dualEncoder()) },
      batching: { maxWaitMs: 0 }
    })
    const reply = yield* http(`${url}/v1/embeddings`, { body: { input: ["a", "b"] } })
    assert.strictEqual(reply.status, 200)
    assert.strictEqual(reply.json.data.length, 2)
  }).pipe(Effect.scoped)
)
