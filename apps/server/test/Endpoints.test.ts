import { assert, describe, it, layer } from "@effect/vitest"
import { Api } from "@ssra/server-api"
import { Effect } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient, OpenApi } from "effect/http-api"
import { Server } from "../src/index.js"
import { dualEncoder, qbqtcScoreModel, recording } from "./models.js"
import { http, toyWriter } from "./support.js"

const quiet = { accessLog: false as const, port: 0 }

const decodeBase64 = (text: string): Float32Array => {
  const bytes = Buffer.from(text, "base64")
  const out = new Float32Array(bytes.length / 4)
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4)
  return out
}

describe("with an embedder only (cosine fallback)", () => {
  const embedder = recording(dualEncoder())
  layer(Server.layer({ ...quiet, models: { embedder } }), { excludeTestServices: true })((it) => {
    it.effect("POST /v1/embeddings answers the OpenAI shape, float and base64 alike", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const floats = yield* http(`${url}/v1/embeddings`, { body: { input: ["猫咪视频", "dog"], model: "x" } })
        assert.strictEqual(floats.status, 200)
        assert.strictEqual(floats.json.object, "list")
        assert.strictEqual(floats.json.model, embedder.id)
        assert.deepStrictEqual(
          floats.json.data.map((d: any) => d.index),
          [0, 1]
        )
        assert.strictEqual(floats.json.data[0].embedding.length, 32)
        assert.strictEqual(floats.json.usage.prompt_tokens, 7)
        const norm = Math.hypot(...floats.json.data[0].embedding)
        assert.closeTo(norm, 1, 1e-5)

        const b64 = yield* http(`${url}/v1/embeddings`, {
          body: { input: "猫咪视频", encoding_format: "base64" }
        })
        assert.strictEqual(b64.status, 200)
        const decoded = Array.from(decodeBase64(b64.json.data[0].embedding))
        assert.deepStrictEqual(decoded, floats.json.data[0].embedding)
      })
    )

    it.effect("dimensions truncates (Matryoshka); input_type reaches the model", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const short = yield* http(`${url}/v1/embeddings`, { body: { input: "hello", dimensions: 4 } })
        assert.strictEqual(short.json.data[0].embedding.length, 4)
        assert.closeTo(Math.hypot(...short.json.data[0].embedding), 1, 1e-5)
        yield* http(`${url}/v1/embeddings`, { body: { input: "hello there", input_type: "document" } })
        assert.strictEqual(embedder.calls.at(-1)?.kind, "document")
        yield* http(`${url}/v1/embeddings`, { body: { input: "hello there" } })
        assert.strictEqual(embedder.calls.at(-1)?.kind, "query")
        const tooWide = yield* http(`${url}/v1/embeddings`, { body: { input: "hello", dimensions: 33 } })
        assert.strictEqual(tooWide.status, 400)
        assert.deepStrictEqual(tooWide.json.errors[0].path, ["payload", "dimensions"])
      })
    )

    it.effect("POST /v1/rerank sorts by cosine, honours top_n and return_documents, omits grades", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const reply = yield* http(`${url}/v1/rerank`, {
          body: {
            query: "red cat",
            documents: ["blue sky", "red cat", { text: "a red cat sleeps" }],
            top_n: 2,
            return_documents: true
          }
        })
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.json.meta.scoring, "cosine")
        assert.strictEqual(reply.json.results.length, 2)
        const scores = reply.json.results.map((r: any) => r.relevance_score)
        assert.isTrue(scores[0] >= scores[1])
        assert.isDefined(reply.json.results[0].document.text)
        assert.isUndefined(reply.json.results[0].grade)
        assert.isUndefined(reply.json.results[0].probabilities)
        const without = yield* http(`${url}/v1/rerank`, { body: { query: "red cat", documents: ["x", "y"] } })
        assert.isUndefined(without.json.results[0].document)
        assert.strictEqual(without.json.results.length, 2)
      })
    )

    it.effect("POST /v1/relevance and /v1/filter fall back to cosine; min_grade needs a score model", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const relevance = yield* http(`${url}/v1/relevance`, {
          body: {
            pairs: [
              { query: "cat", document: "cat" },
              { query: "cat", document: "zzz" }
            ]
          }
        })
        assert.strictEqual(relevance.status, 200)
        assert.strictEqual(relevance.json.scoring, "cosine")
        assert.isTrue(relevance.json.results[0].score > relevance.json.results[1].score)
        const filter = yield* http(`${url}/v1/filter`, {
          body: {
            query: "cat",
            candidates: [
              { id: "a", text: "zzz" },
              { id: "b", text: "cat" }
            ],
            min_score: 0.9
          }
        })
        assert.strictEqual(filter.status, 200)
        assert.deepStrictEqual(filter.json.kept, ["b"])
        assert.deepStrictEqual(
          filter.json.decisions.map((d: any) => d.kept),
          [false, true]
        )
        const byGrade = yield* http(`${url}/v1/filter`, {
          body: { query: "cat", candidates: [{ id: "a", text: "cat" }], min_grade: 2 }
        })
        assert.strictEqual(byGrade.status, 501)
        assert.strictEqual(byGrade.json.model, "score-model")
        const both = yield* http(`${url}/v1/filter`, {
          body: { query: "cat", candidates: [{ id: "a", text: "cat" }], min_grade: 2, min_score: 0.1 }
        })
        assert.strictEqual(both.status, 400)
        assert.deepStrictEqual(both.json.errors[0].path, ["payload"])
      })
    )

    it.effect("POST /v1/queries without a query model is a 501 problem", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const reply = yield* http(`${url}/v1/queries`, { body: { document: "a video", target_grade: 2 } })
        assert.strictEqual(reply.status, 501)
        assert.strictEqual(reply.headers.get("content-type"), "application/problem+json")
        assert.strictEqual(reply.json.type, "https://ssra.dev/problems/model-not-configured")
      })
    )

    it.effect("a typed client derived from @ssra/server-api talks to the server", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const client = yield* HttpApiClient.make(Api.Api, {
          transformClient: HttpClient.mapRequest(HttpClientRequest.prependUrl(url))
        })
        const embeddings = yield* client.v1.embeddings({ payload: { input: ["猫咪", "小狗"], dimensions: 8 } })
        assert.strictEqual(embeddings.data.length, 2)
        assert.strictEqual((embeddings.data[1]!.embedding as ReadonlyArray<number>).length, 8)
        const ranked = yield* client.v1.rerank({ payload: { query: "猫咪", documents: ["猫咪", "汽车"] } })
        assert.strictEqual(ranked.results[0]!.index, 0)
        const health = yield* client.healthz()
        assert.deepStrictEqual(health, { status: "ok" })
        const error = yield* client.v1.queries({ payload: { document: "x", target_grade: 1 } }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "ModelNotConfigured")
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )

    it.effect("GET /healthz, /readyz, /metrics, /openapi.json", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        assert.deepStrictEqual((yield* http(`${url}/healthz`)).json, { status: "ok" })
        const ready = yield* http(`${url}/readyz`)
        assert.deepStrictEqual(ready.json, {
          status: "ready",
          models: { embedder: embedder.id, score_model: null, query_model: null }
        })
        yield* http(`${url}/v1/embeddings`, { body: { input: ["a", "b", "c"] } })
        const metrics = yield* http(`${url}/metrics`)
        assert.strictEqual(metrics.status, 200)
        assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/)
        assert.match(
          metrics.text,
          /ssra_http_requests_total\{method="POST",route="\/v1\/embeddings",status="200"\} \d+/
        )
        assert.match(
          metrics.text,
          /ssra_http_request_duration_seconds_bucket\{route="\/v1\/embeddings",le="\+Inf"\} \d+/
        )
        assert.match(metrics.text, /ssra_embedding_batch_size_count [1-9]\d*/)
        const openapi = yield* http(`${url}/openapi.json`)
        assert.strictEqual(openapi.status, 200)
        assert.match(openapi.json.openapi, /^3\./)
        assert.deepStrictEqual(openapi.json, JSON.parse(JSON.stringify(OpenApi.fromApi(Api.Api))))
      })
    )
  })
})

describe("with a score model (trained on QBQTC, grades 0-2) and a query model", () => {
  const embedder = recording(dualEncoder())
  const models = Effect.map(qbqtcScoreModel(embedder), (grader) => ({ embedder, grader, queryWriter: toyWriter }))
  layer(Server.layer({ ...quiet, models }), { excludeTestServices: true })((it) => {
    it.effect("rerank and relevance carry grade, probabilities and expected grade on a 0-2 scale", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const rerank = yield* http(`${url}/v1/rerank`, {
          body: {
            query: "驾校理论考试",
            documents: ["搞笑蜜蜂猫咪视频", "驾校理论考试科目一模拟试题", "qq邮箱网页版登录"]
          }
        })
        assert.strictEqual(rerank.status, 200)
        assert.strictEqual(rerank.json.meta.scoring, "score-model")
        assert.strictEqual(rerank.json.meta.max_grade, 2)
        assert.strictEqual(rerank.json.model.startsWith("embedded-score-model"), true)
        const results = rerank.json.results
        assert.deepStrictEqual(results.map((r: any) => r.index).sort(), [0, 1, 2])
        for (let i = 0; i < results.length; i++) {
          const r = results[i]
          assert.strictEqual(r.probabilities.length, 3)
          assert.closeTo(
            r.probabilities.reduce((a: number, b: number) => a + b, 0),
            1,
            1e-6
          )
          assert.closeTo(r.relevance_score, r.expected_grade / 2, 1e-12)
          assert.include([0, 1, 2], r.grade)
          if (i > 0) assert.isAtMost(r.relevance_score, results[i - 1].relevance_score)
        }
        const relevance = yield* http(`${url}/v1/relevance`, {
          body: { pairs: [{ query: "驾校理论考试", document: "驾校理论考试科目一模拟试题" }] }
        })
        assert.strictEqual(relevance.json.scoring, "score-model")
        assert.strictEqual(relevance.json.max_grade, 2)
        const one = relevance.json.results[0]
        const same = results.find((r: any) => r.index === 1)
        assert.closeTo(one.expected_grade, same.expected_grade, 1e-9)
      })
    )

    it.effect("filter by min_grade keeps ids in input order; a grade above the scale is a 400", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const candidates = [
          { id: "v3", text: "驾校理论考试科目一模拟试题" },
          { id: "v1", text: "搞笑蜜蜂猫咪视频" },
          { id: "v2", text: "科目一理论考试题库" },
          { id: "v4", text: "qq邮箱网页版" }
        ]
        for (const minGrade of [0, 1, 2]) {
          const reply = yield* http(`${url}/v1/filter`, {
            body: { query: "驾校理论考试", candidates, min_grade: minGrade }
          })
          assert.strictEqual(reply.status, 200)
          assert.deepStrictEqual(reply.json.criterion, { min_grade: minGrade })
          assert.deepStrictEqual(
            reply.json.decisions.map((d: any) => d.id),
            ["v3", "v1", "v2", "v4"]
          )
          const expected = reply.json.decisions.filter((d: any) => d.grade >= minGrade).map((d: any) => d.id)
          assert.deepStrictEqual(reply.json.kept, expected)
          if (minGrade === 0) assert.strictEqual(reply.json.kept.length, 4)
        }
        const above = yield* http(`${url}/v1/filter`, {
          body: { query: "q", candidates: [{ id: "a", text: "t" }], min_grade: 3 }
        })
        assert.strictEqual(above.status, 400)
        assert.deepStrictEqual(above.json.errors[0].path, ["payload", "min_grade"])
      })
    )

    it.effect("POST /v1/queries relays the query model's queries at the target grade", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        const reply = yield* http(`${url}/v1/queries`, {
          body: { document: { title: "猫", text: "一只红色的猫咪在睡觉" }, target_grade: 1, n: 3, seed: 7 }
        })
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.json.model, "toy-writer")
        assert.strictEqual(reply.json.target_grade, 1)
        assert.deepStrictEqual(
          reply.json.queries.map((q: any) => q.query),
          ["一只红", "只红色", "红色的"]
        )
        assert.deepStrictEqual(reply.json.queries[0].generator, { id: "toy-writer", prompt_version: "test/v1" })
      })
    )
  })
})

describe("the /v1/embeddings hot path", () => {
  const embedder = dualEncoder()
  it.live("answers byte for byte as the HttpApi endpoint does, and leaves invalid requests to it", () =>
    Effect.gen(function* () {
      const fast = yield* Server.start({ ...quiet, models: { embedder } })
      const routed = yield* Server.start({ ...quiet, fastPath: false, models: { embedder } })
      const payloads: ReadonlyArray<unknown> = [
        { input: "感冒发烧怎么办" },
        { input: ["猫咪视频", "dog", "  padded  "], model: "m", user: "u" },
        { input: "hello", dimensions: 4, input_type: "document" },
        { input: ["hello", "world"], dimensions: 32, encoding_format: "base64" },
        { input: "hello", encoding_format: "float", extra: { ignored: true } },
        // invalid: answered by the endpoint's validation in both servers
        { input: [] },
        { input: "   " },
        { input: "x", dimensions: 0 },
        { input: "x", dimensions: 33 },
        { input: "x", dimensions: 2.5 },
        { input: ["ok", 3] },
        { input: "x", encoding_format: "hex" },
        { input: "x", input_type: "passage" },
        { input: "x", model: null },
        { input: "x".repeat(9000) },
        [1, 2],
        "just a string"
      ]
      for (const body of payloads) {
        const a = yield* http(`${fast.url}/v1/embeddings`, { body })
        const b = yield* http(`${routed.url}/v1/embeddings`, { body })
        assert.strictEqual(a.status, b.status, JSON.stringify(body))
        assert.strictEqual(a.headers.get("content-type"), b.headers.get("content-type"))
        if (a.status === 200) assert.strictEqual(a.text, b.text, JSON.stringify(body))
        else assert.deepStrictEqual(a.json.errors, b.json.errors, JSON.stringify(body))
      }
      const malformed = yield* http(`${fast.url}/v1/embeddings`, {
        raw: '{"input": "x"',
        headers: { "content-type": "application/json" }
      })
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(malformed.headers.get("content-type"), "application/problem+json")
      // Both servers counted their requests by route and status in /metrics.
      assert.strictEqual(fast.metrics.requestCount("POST", "/v1/embeddings", 200), 5)
      assert.strictEqual(routed.metrics.requestCount("POST", "/v1/embeddings", 200), 5)
    }).pipe(Effect.scoped)
  )
})
