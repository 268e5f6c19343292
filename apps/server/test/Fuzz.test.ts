import { assert, describe, layer } from "@effect/vitest"
import { Sampling } from "@ssra/core"
import { Effect } from "effect"
import { Server } from "../src/index.js"
import { dualEncoder, qbqtcScoreModel } from "./models.js"
import { http, rawExchange, toyWriter } from "./support.js"

// Every generated request is invalid by construction (a valid base payload with at least one field replaced by
// a value its schema or a limit rejects, or a body that is not a JSON object at all), so each must get a 4xx.
const maxTextLength = 64
const valid: Record<string, () => Record<string, unknown>> = {
  "/v1/embeddings": () => ({ input: ["a cat", "a dog"], dimensions: 8, encoding_format: "float", input_type: "query" }),
  "/v1/rerank": () => ({ query: "cat", documents: ["a cat", { text: "dog" }], top_n: 1, return_documents: true }),
  "/v1/relevance": () => ({ pairs: [{ query: "cat", document: "a cat" }] }),
  "/v1/filter": () => ({ query: "cat", candidates: [{ id: "1", text: "a cat" }], min_score: 0.2 }),
  "/v1/queries": () => ({ document: { title: "t", text: "a cat video" }, target_grade: 2, n: 2, seed: 1 })
}
const tooLong = "长".repeat(maxTextLength + 1)
const invalid: Record<string, Record<string, ReadonlyArray<unknown>>> = {
  "/v1/embeddings": {
    input: [3, null, {}, [1], [], "", "   ", [tooLong], tooLong, [["nested"]], true],
    dimensions: ["8", 0, -3, 1.5, 9999, null],
    encoding_format: ["int8", 3, null],
    input_type: ["both", 1, null]
  },
  "/v1/rerank": {
    query: [5, null, "", tooLong, ["q"]],
    documents: ["str", [1], [{}], [], [{ text: 3 }], null],
    top_n: [0, -1, "2", 1.5],
    return_documents: ["yes", 1, null]
  },
  "/v1/relevance": {
    pairs: [{}, [{ query: 1, document: "d" }], [], [{ query: "q" }], "pairs", [{ query: "", document: "d" }]]
  },
  "/v1/filter": {
    query: [1, null, ""],
    candidates: [[{ id: 1, text: "x" }], [], [{ id: "a" }], "c", [{ id: "a", text: tooLong }]],
    min_grade: [7, -1, "2", 1.5],
    min_score: ["0.5", null, {}]
  },
  "/v1/queries": {
    document: [5, {}, { text: 3 }, "", null, { text: tooLong }],
    target_grade: [9, "1", -1, 2.5, null],
    n: [0, 1000, "3", -2],
    seed: ["s", 1.5]
  }
}
const endpoints = Object.keys(valid)

const garbage = (rng: Sampling.SeededRandom): string => {
  const kinds = [
    () => "{",
    () => '{"input": [',
    () => "[]",
    () => "null",
    () => "42",
    () => '"just a string"',
    () => "[".repeat(2000) + "]".repeat(2000),
    () => '{"input": "\\ud800"' + "x",
    () => Array.from({ length: 1 + rng.int(200) }, () => String.fromCharCode(rng.int(0x3000))).join(""),
    () => "\u0000\u0001\u0002",
    () => JSON.stringify(valid[endpoints[rng.int(endpoints.length)]!]!()).slice(0, 5 + rng.int(20))
  ]
  return kinds[rng.int(kinds.length)]!()
}

interface FuzzRequest {
  readonly method: string
  readonly path: string
  readonly raw: string | undefined
  readonly headers: Record<string, string>
}

const generate = (rng: Sampling.SeededRandom): FuzzRequest => {
  const roll = rng.next()
  const path = endpoints[rng.int(endpoints.length)]!
  const json = { "content-type": "application/json" }
  if (roll < 0.45) {
    const payload = valid[path]!()
    const fields = Object.keys(invalid[path]!)
    const mutations = 1 + rng.int(Math.min(3, fields.length))
    for (let m = 0; m < mutations; m++) {
      const field = fields[rng.int(fields.length)]!
      const choices = invalid[path]![field]!
      payload[field] = choices[rng.int(choices.length)]
    }
    if (path === "/v1/filter" && rng.next() < 0.2) payload.min_grade = 1 // both criteria set
    return { method: "POST", path, raw: JSON.stringify(payload), headers: json }
  }
  if (roll < 0.7) return { method: "POST", path, raw: garbage(rng), headers: json }
  if (roll < 0.8) {
    const types = [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/xml"
    ]
    return {
      method: "POST",
      path,
      raw: JSON.stringify(valid[path]!()),
      headers: { "content-type": types[rng.int(types.length)]! }
    }
  }
  if (roll < 0.9) {
    const methods = ["GET", "PUT", "DELETE", "PATCH"]
    return { method: methods[rng.int(methods.length)]!, path, raw: undefined, headers: {} }
  }
  const junk = Array.from(
    { length: 1 + rng.int(30) },
    () => "abcdefghijklmnopqrstuvwxyz0123456789-_.%"[rng.int(40)]
  ).join("")
  const post = rng.next() < 0.5
  return {
    method: post ? "POST" : "GET",
    path: `/fz/${junk}`,
    raw: post ? garbage(rng) : undefined,
    headers: post ? json : {}
  }
}

describe("fuzz", () => {
  layer(
    Server.layer({
      port: 0,
      accessLog: false,
      models: Effect.gen(function* () {
        const embedder = dualEncoder()
        const grader = yield* qbqtcScoreModel(embedder)
        return { embedder, grader, queryWriter: toyWriter }
      }),
      limits: { maxTextLength, maxBatchSize: 16, maxBodyBytes: 64 * 1024 }
    }),
    { excludeTestServices: true }
  )((it) => {
    it.effect(
      "3,000 seeded malformed requests get only 4xx problems and the server stays up",
      () =>
        Effect.gen(function* () {
          const { url, metrics } = yield* Server.ServerState
          const rng = new Sampling.SeededRandom(20261123)
          const requests = Array.from({ length: 3000 }, () => generate(rng))
          const replies = yield* Effect.forEach(
            requests,
            (r) =>
              http(`${url}${r.path}`, {
                method: r.method,
                headers: r.headers,
                ...(r.raw !== undefined ? { raw: r.raw } : {})
              }),
            { concurrency: 16 }
          )
          const bad = replies
            .map((reply, i) => ({ status: reply.status, request: requests[i]! }))
            .filter((x) => x.status < 400 || x.status >= 500)
          assert.deepStrictEqual(bad.slice(0, 5), [])
          for (const reply of replies) {
            assert.strictEqual(reply.headers.get("content-type"), "application/problem+json")
            assert.isNumber(reply.json.status)
          }
          // Malformed HTTP itself (bad request lines, bad headers) gets a 4xx from the HTTP layer.
          const malformed = [
            "GARBAGE\r\n\r\n",
            "POST /v1/embeddings HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "GET / HTTP/9.9\r\n\r\n",
            "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
          ]
          const raw = yield* Effect.forEach(malformed, (data) => rawExchange(url, [{ data }], 2000), { concurrency: 5 })
          for (const answer of raw) assert.match(answer, /^HTTP\/1\.1 4\d\d /)
          assert.strictEqual((yield* http(`${url}/healthz`)).status, 200)
          const ok = yield* http(`${url}/v1/embeddings`, { body: { input: "still works" } })
          assert.strictEqual(ok.status, 200)
          assert.notMatch(metrics.render(), /status="5\d\d"/)
        }),
      { timeout: 120_000 }
    )
  })
})
