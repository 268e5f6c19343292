import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Document } from "@ssra/core"
import { FineTunedQueryModel, SftData } from "@ssra/query-model"
import { inFlightCounter, startOpenAiServer } from "@ssra/test-support"
import { Effect } from "effect"
import { type ChatServer, startChatServer, withClient } from "./fixtures.js"

describe("FineTunedQueryModel over the OpenAI-compatible wire format", () => {
  let server: ChatServer
  // answers handed out one choice at a time: an unreadable one and a repeat among them
  const script = ["头疼怎么办", "two", "头疼吃什么药", "头疼怎么办", "偏头痛怎么缓解"]
  let next = 0
  beforeAll(async () => {
    server = await startChatServer((body) => {
      const user: string = body.messages[1].content
      if (user.includes("坏模型")) return "I cannot help with that."
      const text = script[next++ % script.length]!
      return text === "two" ? text : JSON.stringify({ queries: [text] })
    })
  })
  afterAll(() => server.close())

  it.effect("sends the SFT messages to the fine-tuned model id and fills n from sampled choices", () =>
    withClient(server.url, "base-model", (client) =>
      Effect.gen(function* () {
        const model = FineTunedQueryModel.make({
          client,
          model: "ft:ssra-query-stage2",
          label: "stage2",
          scale: { max: 3 }
        })
        const document = Document.make({ id: "d1", title: "头疼的原因和缓解方法" })
        const before = server.requests.length
        const [out] = yield* model.generate([{ document, targetGrade: 2, n: 3, seed: 11 }])
        const sent = server.requests.slice(before)
        assert.strictEqual(sent[0].model, "ft:ssra-query-stage2")
        assert.deepStrictEqual(sent[0].messages, SftData.messages(document.text, 2, { max: 3 }))
        assert.strictEqual(sent[0].n, 3)
        assert.strictEqual(sent[0].seed, 11)
        // round 1 (n=3): a query, an unreadable answer, a query; round 2 (n=1): a repeat; round 3 (n=1): a new one
        assert.deepStrictEqual(
          sent.map((b) => [b.n ?? 1, b.seed]),
          [
            [3, 11],
            [1, 12],
            [1, 13]
          ]
        )
        assert.deepStrictEqual(
          out!.map((q) => q.query),
          ["头疼怎么办", "头疼吃什么药", "偏头痛怎么缓解"]
        )
        assert.deepStrictEqual(out![0]!.generator, {
          id: "stage2:" + client.id + "#ft:ssra-query-stage2",
          promptVersion: "ssra-sft-query/v1"
        })
      })
    )
  )

  it.effect("fails with invalid-output when no choice of any round holds a query", () =>
    withClient(server.url, "base-model", (client) =>
      Effect.gen(function* () {
        const model = FineTunedQueryModel.make({ client, maxRounds: 2 })
        const document = Document.make({ id: "bad", title: "坏模型" })
        const before = server.requests.length
        const e = yield* Effect.flip(model.generate([{ document, targetGrade: 1, n: 2, seed: 1 }]))
        assert.strictEqual(e.reason, "invalid-output")
        assert.include(e.message, "no query in 4 answers")
        assert.strictEqual(e.raw, "I cannot help with that.")
        assert.strictEqual(server.requests.length - before, 2)
      })
    )
  )

  it.effect('noQuery: "skip" answers such a request with no query and the others as usual', () =>
    withClient(server.url, "base-model", (client) =>
      Effect.gen(function* () {
        const model = FineTunedQueryModel.make({ client, maxRounds: 2, noQuery: "skip" })
        const bad = Document.make({ id: "bad", title: "坏模型" })
        const good = Document.make({ id: "d1", title: "感冒了怎么办" })
        const out = yield* model.generate([
          { document: bad, targetGrade: 1, n: 2, seed: 1 },
          { document: good, targetGrade: 3, n: 1, seed: 2 }
        ])
        assert.deepStrictEqual(out[0], [])
        assert.strictEqual(out[1]!.length, 1)
      })
    )
  )
})

describe("FineTunedQueryModel keeps the client's maxInFlight requests in flight", () => {
  it("up to maxInFlight at once, not a fixed 4", async () => {
    const counter = inFlightCounter()
    const server = await startOpenAiServer({
      respond: counter.respond,
      chat: (_body, i) => JSON.stringify({ queries: [`头疼怎么办${i}`] })
    })
    try {
      for (const maxInFlight of [3, 9]) {
        counter.reset()
        const requests = Array.from({ length: 4 * maxInFlight }, (_, i) => ({
          document: Document.make({ id: `d${i}`, title: `头疼的原因${i}` }),
          targetGrade: 2 as const,
          n: 1,
          seed: i
        }))
        await Effect.runPromise(
          withClient(server.url, "m", (client) =>
            FineTunedQueryModel.make({ client: { ...client, maxInFlight }, scale: { max: 3 } }).generate(requests)
          )
        )
        assert.strictEqual(counter.most(), maxInFlight)
      }
    } finally {
      await server.close()
    }
  }, 60_000)
})
