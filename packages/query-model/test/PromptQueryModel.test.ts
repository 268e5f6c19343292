import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Document, type Models } from "@ssra/core"
import { PromptQueryModel, QueryModel } from "@ssra/query-model"
import { Effect } from "effect"
import { type ChatServer, startChatServer, withClient } from "./fixtures.js"

const doc = (id: string, title: string) => Document.make({ id, title })
const request = (d: ReturnType<typeof doc>, targetGrade: number, n = 3): Models.QueryRequest => ({
  document: d,
  targetGrade: targetGrade as 0 | 1 | 2 | 3,
  n,
  seed: 7
})

describe("PromptQueryModel over the OpenAI-compatible wire format", () => {
  let server: ChatServer
  beforeAll(async () => {
    server = await startChatServer((body) => {
      const user: string = body.messages[1].content
      if (user.includes("答非所问")) return "4"
      if (user.includes("长篇大论")) return "Here are some queries you could use for this document."
      if (user.includes("沉默")) return ""
      if (user.includes("两个")) return "two"
      // a flaky model: prose for the document's own seed, a valid answer for a re-ask's new seed
      if (user.includes("偶尔出错")) return body.seed === 7 ? "Sure! Here you go." : '{"queries": ["偶尔出错怎么办"]}'

      // three queries, one a normalized duplicate and one blank, inside a code fence
      return '```json\n{"queries": ["感冒吃什么药", "感冒 吃什么药！", "  ", "小孩感冒怎么办", "感冒药推荐"]}\n```'
    })
  })
  afterAll(() => server.close())

  it("puts the grade definitions of the scale, the document and the target grade in the prompt", () => {
    const m = PromptQueryModel.messages(request(doc("d", "感冒了吃什么药好得快"), 1), { max: 2 })
    assert.strictEqual(m.length, 2)
    assert.include(m[0]!.content, "2: generally satisfies the intent")
    assert.include(m[0]!.content, "0: neither satisfies")
    assert.notInclude(m[0]!.content, "3: fully")
    assert.include(m[1]!.content, "感冒了吃什么药好得快")
    assert.include(m[1]!.content, "Target grade: 1 (partially satisfies it")
    assert.include(m[1]!.content, "Write 3 distinct queries.")
  })

  it.effect("returns up to n distinct queries with provenance", () =>
    withClient(server.url, "qwen-test", (client) =>
      Effect.gen(function* () {
        const model = PromptQueryModel.make({ client })
        const before = server.requests.length
        const [out] = yield* model.generate([request(doc("d1", "感冒了吃什么药好得快"), 2)])
        assert.deepStrictEqual(
          out!.map((q) => q.query),
          ["感冒吃什么药", "小孩感冒怎么办", "感冒药推荐"]
        )
        assert.strictEqual(out![0]!.targetGrade, 2)
        assert.deepStrictEqual(out![0]!.generator, { id: model.id, promptVersion: "sycl-modified-query/v1" })
        assert.strictEqual(model.kind, "llm")
        const body = server.requests[before]
        assert.strictEqual(body.model, "qwen-test")
        assert.strictEqual(body.seed, 7)
        assert.strictEqual(body.response_format.type, "json_schema")
        assert.deepStrictEqual(body.response_format.json_schema.schema.required, ["queries"])
      })
    )
  )

  it.effect("an answer that is not {queries: [...]} fails with invalid-output and the raw text", () =>
    withClient(server.url, "qwen-test", (client) =>
      Effect.gen(function* () {
        const model = PromptQueryModel.make({ client })
        for (const [title, raw] of [
          ["答非所问", "4"],
          ["长篇大论", "Here are some queries you could use for this document."],
          ["沉默", ""],
          ["两个", "two"]
        ] as const) {
          const e = yield* Effect.flip(model.generate([request(doc("bad", title), 1)]))
          assert.strictEqual(e._tag, "ModelError")
          assert.strictEqual(e.reason, "invalid-output")
          assert.strictEqual(e.raw, raw)
          assert.include(e.message, "document bad")
          assert.include(e.message, "2 re-asks with new seeds failed too")
        }
      })
    )
  )

  it.effect("an occasional bad answer is re-asked with a new seed; the run goes on", () =>
    withClient(server.url, "qwen-test", (client) =>
      Effect.gen(function* () {
        const before = server.requests.length
        const [out] = yield* PromptQueryModel.make({ client }).generate([request(doc("flaky", "偶尔出错"), 1, 1)])
        assert.deepStrictEqual(
          out!.map((q) => q.query),
          ["偶尔出错怎么办"]
        )
        const seeds = server.requests.slice(before).map((b) => b.seed)
        assert.deepStrictEqual(seeds, [7, 7 + 104_729])
        // without re-asks the same answer is an error
        const e = yield* Effect.flip(
          PromptQueryModel.make({ client, invalidRetries: 0 }).generate([request(doc("flaky", "偶尔出错"), 1, 1)])
        )
        assert.strictEqual(e.reason, "invalid-output")
      })
    )
  )

  it.effect("a target grade off the scale or a document without text fails before any call", () =>
    withClient(server.url, "qwen-test", (client) =>
      Effect.gen(function* () {
        const model = PromptQueryModel.make({ client, scale: { max: 2 } })
        const before = server.requests.length
        const e1 = yield* Effect.flip(model.generate([request(doc("d", "标题"), 3)]))
        assert.strictEqual(e1.reason, "invalid-input")
        assert.include(e1.message, "target grade 3 is outside the scale 0..2")
        const blank = { id: "empty", title: "", text: "   " }
        const e2 = yield* Effect.flip(model.generate([{ document: blank, targetGrade: 1, n: 1, seed: 1 }]))
        assert.include(e2.message, "document empty")
        assert.include(e2.message, "no text")
        const e3 = yield* Effect.flip(model.generate([request(doc("d", "标题"), 1, 0)]))
        assert.include(e3.message, "n must be a positive integer")
        assert.strictEqual(server.requests.length, before)
      })
    )
  )

  it.effect("the QueryModel service serves any writer", () =>
    withClient(server.url, "qwen-test", (client) =>
      Effect.gen(function* () {
        const out = yield* QueryModel.generate([request(doc("d1", "感冒了吃什么药好得快"), 3, 1)]).pipe(
          Effect.provide(QueryModel.layer(PromptQueryModel.make({ client })))
        )
        assert.deepStrictEqual(
          out.map((qs) => qs.map((q) => q.query)),
          [["感冒吃什么药"]]
        )
      })
    )
  )
})
