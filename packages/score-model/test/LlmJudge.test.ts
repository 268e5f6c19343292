import { NodeHttpClient } from "@effect/platform-node"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Grade, Models } from "@ssra/core"
import { ChatClient, OpenAiCompatible } from "@ssra/llm"
import { FineTunedJudge, LlmJudge, ScoreModel, ScoreModelError, ScorePrompt } from "@ssra/score-model"
import { Effect } from "effect"
import * as ChatServer from "./support/ChatServer.js"

let server: ChatServer.ChatServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const withClient = <A, E>(
  baseUrl: string,
  use: (client: ChatClient.ChatClientShape) => Effect.Effect<A, E>,
  preset: "vllm" | "ollama" = "vllm"
): Promise<A> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* ChatClient.ChatClient
      return yield* use(client)
    }).pipe(
      Effect.provide(OpenAiCompatible.layer({ preset, baseUrl, model: "judge-test" })),
      Effect.provide(NodeHttpClient.layerUndici)
    )
  )

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9
const sum = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0)
const scale3 = Grade.scale(3)
const scale2 = Grade.scale(2)

describe("LlmJudge", () => {
  it("reads probabilities from top_logprobs of the grade token and sends the versioned prompt", async () => {
    const distributions: Record<string, Record<string, number>> = {
      感冒吃什么药: { "2": 0.6, "1": 0.3, "3": 0.05, "4": 0.05 },
      宝宝发烧: { "0": 0.9, "1": 0.1 }
    }
    server = await ChatServer.start((body) => [ChatServer.gradeTokens(distributions[ChatServer.queryOf(body)]!)])
    const fewShot = ScorePrompt.fewShot(
      [
        { query: "头疼", doc: "头疼怎么办", label: 3 },
        { query: "头疼", doc: "牙疼怎么办", label: 0 },
        { query: "咳嗽", doc: "咳嗽吃什么药好", label: 2 },
        { query: "咳嗽", doc: "咳嗽的原因", label: 1 }
      ],
      scale3,
      1,
      11
    )
    const { outcomes, counts } = await withClient(server.baseUrl, (client) =>
      LlmJudge.make({ client, scale: scale3, fewShot, concurrency: 1 }).judge([
        { query: "感冒吃什么药", doc: "感冒了吃什么药好得快" },
        { query: "宝宝发烧", doc: "汽车保养常识" }
      ])
    )
    assert.deepStrictEqual(counts, {
      judged: 2,
      rejected: 0,
      byReason: {},
      byMethod: { logprobs: 2, samples: 0 },
      invalidSamples: 0
    })
    const first = outcomes[0]!
    assert.strictEqual(first._tag, "Judged")
    if (first._tag !== "Judged") return
    assert.strictEqual(first.method, "logprobs")
    // "4" is off the 0–3 scale: its mass is dropped and the rest renormalized
    const p = first.judgment.probabilities
    assert.isTrue(close(p[0]!, 0) && close(p[1]!, 0.3 / 0.95) && close(p[2]!, 0.6 / 0.95) && close(p[3]!, 0.05 / 0.95))
    assert.isTrue(close(sum(p), 1))
    assert.strictEqual(first.judgment.grade, 2)
    assert.isTrue(close(first.judgment.expected, (0.3 + 1.2 + 0.15) / 0.95))
    const second = outcomes[1]!
    assert.isTrue(
      second._tag === "Judged" && second.judgment.grade === 0 && close(second.judgment.probabilities[1]!, 0.1)
    )
    // the wire request: logprobs on, json_schema structured output, definitions in both languages, few-shot turns
    const body = server.requests[0]
    assert.strictEqual(body.logprobs, true)
    assert.strictEqual(body.top_logprobs, 10)
    assert.strictEqual(body.response_format.type, "json_schema")
    assert.deepStrictEqual(body.response_format.json_schema.schema.properties.grade.enum, [0, 1, 2, 3])
    assert.strictEqual(body.temperature, 0)
    const system = body.messages[0].content as string
    assert.include(system, Grade.definitions[1])
    assert.include(system, ScorePrompt.definitionsZh[3])
    assert.strictEqual(body.messages.filter((m: any) => m.role === "assistant").length, fewShot.length)
    assert.strictEqual(fewShot.length, 4)
  })

  it("falls back to n samples when the server returns no logprobs", async () => {
    const answers: Record<string, Array<number>> = { 感冒吃什么药: [1, 1, 2, 1, 0], 宝宝发烧: [0, 0, 0, 3, 0] }
    server = await ChatServer.start((body) => {
      const list = answers[ChatServer.queryOf(body)]!
      const n = body.n ?? 1
      return list.slice(0, n).map((g) => ({ content: `{"grade": ${g}}` }))
    })
    const { outcomes, counts } = await withClient(server.baseUrl, (client) =>
      LlmJudge.make({ client, scale: scale3, concurrency: 1, samples: 5, seed: 3 }).judge([
        { query: "感冒吃什么药", doc: "感冒了吃什么药好得快" },
        { query: "宝宝发烧", doc: "宝宝发烧怎么办" }
      ])
    )
    assert.deepStrictEqual(counts.byMethod, { logprobs: 0, samples: 2 })
    const a = outcomes[0]!
    assert.isTrue(a._tag === "Judged" && a.method === "samples" && a.validSamples === 5)
    if (a._tag !== "Judged") return
    assert.deepStrictEqual(a.judgment.probabilities, [0.2, 0.6, 0.2, 0])
    assert.strictEqual(a.judgment.grade, 1)
    // first call asked for logprobs (none came back), then one n=5 sampling call per pair, logprobs no longer asked
    assert.strictEqual(server.requests.length, 3)
    assert.strictEqual(server.requests[0].logprobs, true)
    assert.strictEqual(server.requests[1].n, 5)
    assert.strictEqual(server.requests[1].temperature, 0.8)
    assert.isUndefined(server.requests[2].logprobs)
    assert.strictEqual(server.requests[2].n, 5)
  })

  it("rejects every pair when logprobs are required and the server has none", async () => {
    server = await ChatServer.start(() => [{ content: '{"grade": 1}' }])
    const { outcomes, counts } = await withClient(server.baseUrl, (client) =>
      LlmJudge.make({ client, scale: scale3, probabilities: "logprobs" }).judge([{ query: "a", doc: "b" }])
    )
    assert.isTrue(outcomes[0]!._tag === "Rejected" && outcomes[0]!.reason === "no-logprobs")
    assert.deepStrictEqual(counts.byReason, { "no-logprobs": 1 })
  })

  it("tops up with repeated seeded calls when the server ignores n (0–2 scale)", async () => {
    server = await ChatServer.start((body) => [{ content: `{"grade": ${body.seed % 3}}` }])
    const { outcomes } = await withClient(server.baseUrl, (client) =>
      LlmJudge.make({ client, scale: scale2, probabilities: "samples", samples: 4, seed: 100 }).judge([
        { query: "天气预报", doc: "北京天气预报" }
      ])
    )
    assert.strictEqual(server.requests.length, 4)
    const seeds = server.requests.map((r) => r.seed as number)
    assert.strictEqual(new Set(seeds).size, 4)
    const expected = [0, 0, 0]
    for (const s of seeds) expected[s % 3]!++
    const o = outcomes[0]!
    assert.isTrue(o._tag === "Judged")
    if (o._tag !== "Judged") return
    assert.deepStrictEqual(
      o.judgment.probabilities,
      expected.map((c) => c / 4)
    )
    assert.strictEqual(o.judgment.probabilities.length, 3)
  })

  it("rejects '4', 'two', prose and empty answers with reasons, counted, and grade() fails", async () => {
    const replies: Record<string, string> = {
      four: '{"grade": 4}',
      twoString: '{"grade": "two"}',
      two: "two",
      prose: "The document is fairly relevant to the query.",
      empty: "",
      noGrade: '{"relevance": 2}'
    }
    server = await ChatServer.start((body) => {
      const q = ChatServer.queryOf(body)
      if (q === "good") return [ChatServer.gradeTokens({ "1": 0.7, "0": 0.3 })]
      return [{ content: replies[q]! }]
    })
    const pairs = ["good", "four", "twoString", "two", "prose", "empty", "noGrade"].map((query) => ({
      query,
      doc: "某个文档"
    }))
    const result = await withClient(server.baseUrl, (client) => {
      const judge = LlmJudge.make({ client, scale: scale3, concurrency: 1 })
      return Effect.all([judge.judge(pairs), Effect.flip(judge.grade(pairs))])
    })
    const [{ outcomes, counts }, error] = result
    const reasons = outcomes.map((o) => (o._tag === "Rejected" ? o.reason : "judged"))
    assert.deepStrictEqual(reasons, [
      "judged",
      "out-of-scale",
      "not-an-integer",
      "no-json",
      "no-json",
      "empty",
      "missing-grade"
    ])
    assert.deepStrictEqual(counts.byReason, {
      "out-of-scale": 1,
      "not-an-integer": 1,
      "no-json": 2,
      empty: 1,
      "missing-grade": 1
    })
    assert.strictEqual(counts.rejected, 6)
    const four = outcomes[1]!
    assert.isTrue(four._tag === "Rejected" && four.raw === '{"grade": 4}')
    assert.instanceOf(error, Models.ModelError)
    assert.strictEqual(error.reason, "invalid-output")
    assert.include(error.message, "6 of 7 pairs")
    assert.strictEqual(error.raw, '{"grade": 4}')
  })

  it("re-asks a pair whose first answer is no grade, with new seeds and by sampling; grade() then succeeds", async () => {
    // the first (logprobs) ask of "flaky" answers prose; every later, differently seeded ask answers a grade
    server = await ChatServer.start((body) => {
      const q = ChatServer.queryOf(body)
      if (q === "flaky" && body.seed === 7 + 1) return [{ content: "Sure! This document is relevant." }]
      if (q === "flaky") return Array.from({ length: body.n ?? 1 }, () => ({ content: '{"grade": 2}' }))
      return [ChatServer.gradeTokens({ "1": 0.8, "0": 0.2 })]
    })
    const pairs = [
      { query: "stable", doc: "文档" },
      { query: "flaky", doc: "文档" }
    ]
    const [{ outcomes, counts }, judgments] = await withClient(server.baseUrl, (client) => {
      const judge = LlmJudge.make({ client, scale: scale3, seed: 7, concurrency: 1 })
      return Effect.all([judge.judge(pairs), judge.grade(pairs)])
    })
    assert.strictEqual(counts.rejected, 0)
    assert.deepStrictEqual(counts.byMethod, { logprobs: 1, samples: 1 })
    const flaky = outcomes[1]!
    assert.isTrue(flaky._tag === "Judged" && flaky.method === "samples")
    assert.strictEqual(judgments[1]!.grade, 2)
    const seeds = server.requests.filter((r) => ChatServer.queryOf(r) === "flaky").map((r) => r.seed as number)
    // judge() then grade(): each asks "flaky" first with seed 8 (plus completeObject's one repair attempt, same
    // seed), then re-asks by sampling with a new seed
    assert.deepStrictEqual(seeds.slice(0, 2), [8, 8])
    const reseeded = seeds.filter((s) => s !== 8)
    assert.isAbove(reseeded.length, 0)
    assert.isTrue(
      reseeded.every((s) => s === 8 + 104_729),
      JSON.stringify(seeds)
    )
  })

  it("with invalidRetries 0 a bad first answer is rejected at once", async () => {
    server = await ChatServer.start(() => [{ content: "no idea" }])
    const { counts } = await withClient(server.baseUrl, (client) =>
      LlmJudge.make({ client, scale: scale2, invalidRetries: 0 }).judge([{ query: "q", doc: "文档" }])
    )
    assert.strictEqual(counts.rejected, 1)
    assert.strictEqual(server.requests.length, 2, "the ask and completeObject's one repair attempt, no re-ask")
    assert.throws(
      () => LlmJudge.make({ client: { model: "m" } as never, scale: scale2, invalidRetries: -1 }),
      ScoreModelError.ScoreOptionError,
      "invalidRetries must be an integer >= 0"
    )
  })

  it("counts invalid samples inside a judged pair and rejects a pair with no valid sample", async () => {
    const scripts: Record<string, Array<string>> = {
      mixed: ['{"grade": 1}', "I think it is relevant", '{"grade": 3}', '{"grade": 1}', '{"grade": 0}'],
      hopeless: ["two", "", "4", '{"grade": 9}', "no idea"]
    }
    server = await ChatServer.start((body) =>
      scripts[ChatServer.queryOf(body)]!.slice(0, body.n ?? 1).map((content) => ({ content }))
    )
    const { outcomes, counts } = await withClient(server.baseUrl, (client) =>
      LlmJudge.make({ client, scale: scale2, probabilities: "samples", samples: 5, concurrency: 1 }).judge([
        { query: "mixed", doc: "文档" },
        { query: "hopeless", doc: "文档" }
      ])
    )
    const mixed = outcomes[0]!
    assert.isTrue(mixed._tag === "Judged" && mixed.validSamples === 3 && mixed.invalidSamples === 2)
    if (mixed._tag === "Judged") assert.deepStrictEqual(mixed.judgment.probabilities, [1 / 3, 2 / 3, 0])
    const hopeless = outcomes[1]!
    assert.isTrue(hopeless._tag === "Rejected" && hopeless.reason === "no-valid-sample")
    assert.strictEqual(counts.invalidSamples, 2)
    assert.deepStrictEqual(counts.byReason, { "no-valid-sample": 1 })
  })

  it("refuses a pair without text before calling the server", async () => {
    server = await ChatServer.start(() => [ChatServer.gradeTokens({ "1": 1 })])
    const error = await withClient(server.baseUrl, (client) =>
      Effect.flip(LlmJudge.make({ client, scale: scale3 }).judge([{ query: "", doc: "文档" }]))
    )
    assert.strictEqual(error.reason, "invalid-input")
    assert.include(error.message, "pair 0 has an empty query")
    assert.strictEqual(server.requests.length, 0)
  })

  it("works through the ScoreModel layer over the ChatClient service", async () => {
    server = await ChatServer.start(() => [ChatServer.gradeTokens({ "2": 0.8, "1": 0.2 })])
    const judgments = await Effect.runPromise(
      ScoreModel.grade([{ query: "天气", doc: "今天天气" }]).pipe(
        Effect.provide(ScoreModel.layerLlmJudge({ scale: scale2 })),
        Effect.provide(OpenAiCompatible.layer({ baseUrl: server.baseUrl, model: "judge-test" })),
        Effect.provide(NodeHttpClient.layerUndici)
      )
    )
    assert.strictEqual(judgments[0]!.grade, 2)
    assert.isTrue(close(judgments[0]!.probabilities[2]!, 0.8))
  })
})

describe("FineTunedJudge", () => {
  it("calls the fine-tuned model zero-shot with the SFT prompt", async () => {
    server = await ChatServer.start(() => [ChatServer.gradeTokens({ "3": 0.9, "2": 0.1 })])
    const judgments = await withClient(server.baseUrl, (client) =>
      FineTunedJudge.make({ client, model: "ft:qwen2.5-1.5b:ssra:score:abc123", scale: scale3 }).grade([
        { query: "头疼", doc: "头疼怎么办" }
      ])
    )
    assert.strictEqual(judgments[0]!.grade, 3)
    const body = server.requests[0]
    assert.strictEqual(body.model, "ft:qwen2.5-1.5b:ssra:score:abc123")
    assert.deepStrictEqual(
      body.messages.map((m: any) => m.role),
      ["system", "user"]
    )
    assert.strictEqual(body.messages[1].content, ScorePrompt.user({ query: "头疼", doc: "头疼怎么办" }))
  })
})

describe("LlmJudge parsing", () => {
  it("reads fenced JSON and JSON inside prose, and rejects the rest", () => {
    assert.deepStrictEqual(LlmJudge.parseAnswer('```json\n{"grade": 2}\n```', scale3), { ok: true, grade: 2 })
    assert.deepStrictEqual(LlmJudge.parseAnswer('Answer: {"grade": 1}.', scale3), { ok: true, grade: 1 })
    assert.strictEqual((LlmJudge.parseAnswer('{"grade": 3}', scale2) as any).reason, "out-of-scale")
    assert.strictEqual((LlmJudge.parseAnswer('{"grade": 1.5}', scale3) as any).reason, "not-an-integer")
    assert.strictEqual((LlmJudge.parseAnswer("   ", scale3) as any).reason, "empty")
    assert.strictEqual((LlmJudge.parseAnswer("[2]", scale3) as any).reason, "no-json")
  })

  it("returns no probabilities when no digit token follows the grade key", () => {
    assert.isUndefined(LlmJudge.gradeProbabilities(undefined, scale3))
    assert.isUndefined(LlmJudge.gradeProbabilities([{ token: "two", logprob: -0.1, top: [] }], scale3))
  })
})
