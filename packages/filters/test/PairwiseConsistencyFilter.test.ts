import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { PairwiseConsistencyFilter, PairwiseJudge } from "@ssra/filters"
import { Effect } from "effect"
import { type ChatServer, candidate, startChatServer, tableGrader, withClient } from "./fixtures.js"

describe("PairwiseJudge.parseAnswer", () => {
  it("reads JSON or a bare label and rejects anything else with a reason", () => {
    assert.strictEqual(PairwiseJudge.parseAnswer('{"better": "A"}')._tag, "First")
    assert.strictEqual(PairwiseJudge.parseAnswer('```json\n{"better":"B"}\n```')._tag, "Second")
    assert.strictEqual(PairwiseJudge.parseAnswer('{"better": "tie"}')._tag, "Tie")
    assert.strictEqual(PairwiseJudge.parseAnswer(" B. ")._tag, "Second")
    const four = PairwiseJudge.parseAnswer("4")
    assert.deepStrictEqual(four, { _tag: "Invalid", reason: 'unrecognized answer "4"', raw: "4" })
    assert.strictEqual((PairwiseJudge.parseAnswer("two") as any).reason, 'unrecognized answer "two"')
    assert.strictEqual((PairwiseJudge.parseAnswer("") as any).reason, "empty answer")
    assert.strictEqual((PairwiseJudge.parseAnswer("I think the document is relevant to both.") as any)._tag, "Invalid")
    assert.strictEqual(
      (PairwiseJudge.parseAnswer('{"better": 4}') as any).reason,
      '"better" is 4, expected "A", "B" or "tie"'
    )
    assert.strictEqual((PairwiseJudge.parseAnswer("{better: A}") as any).reason, "malformed JSON answer")
  })

  it("combine reads both presentation orders", () => {
    const F = { _tag: "First" } as const
    const S = { _tag: "Second" } as const
    const T = { _tag: "Tie" } as const
    assert.strictEqual(PairwiseConsistencyFilter.combine(F, S), "consistent") // hi first wins, then hi second wins
    assert.strictEqual(PairwiseConsistencyFilter.combine(S, F), "contradicted")
    assert.strictEqual(PairwiseConsistencyFilter.combine(F, F), "position-flip") // always picks the first shown
    assert.strictEqual(PairwiseConsistencyFilter.combine(T, T), "tie")
    assert.strictEqual(PairwiseConsistencyFilter.combine(F, { _tag: "Invalid", reason: "x", raw: "" }), "invalid")
  })
})

describe("PairwiseConsistencyFilter with the grader's expected grade (embedded mode)", () => {
  const grader = tableGrader([
    ["感冒药推荐", "D1", [0, 0, 0.2, 0.8]], // expected 2.8
    ["感冒", "D1", [0.2, 0.7, 0.1, 0]], // expected 0.9
    ["头疼", "D2", [0.5, 0.5, 0, 0]], // expected 0.5 — written for grade 3
    ["头疼吃什么药", "D2", [0, 0.1, 0.3, 0.6]], // expected 2.5 — written for grade 1
    ["咳嗽", "D4", [0, 1, 0, 0]],
    ["咳嗽药", "D4", [0, 1, 0, 0]] // equal expected grades: tie
  ])
  const items = [
    candidate("d1-hi", "d1", "感冒药推荐", 3, "D1"),
    candidate("d1-lo", "d1", "感冒", 1, "D1"),
    candidate("d2-hi", "d2", "头疼", 3, "D2"),
    candidate("d2-lo", "d2", "头疼吃什么药", 1, "D2"),
    candidate("d3-only", "d3", "发烧", 2, "D3"),
    candidate("d4-hi", "d4", "咳嗽", 2, "D4"),
    candidate("d4-lo", "d4", "咳嗽药", 1, "D4"),
    candidate("d5-bad", "d5", "鼻塞", 1, "")
  ]

  it.effect("drops the queries of contradicted pairs and reports agreement", () =>
    Effect.gen(function* () {
      const r = yield* PairwiseConsistencyFilter.make({ judge: PairwiseJudge.fromGrader(grader) }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["d1-hi", "d1-lo", "d3-only", "d4-hi", "d4-lo"]
      )
      assert.deepStrictEqual(r.counts.reasons, { "order-contradiction": 2, "empty-document": 1 })
      assert.strictEqual(
        r.rejected.find((c) => c.id === "d2-hi")!.verdicts[0]!.reason,
        "order-contradiction: judged against target order vs d2-lo"
      )
      assert.strictEqual(r.kept.find((c) => c.id === "d3-only")!.verdicts[0]!.reason, "unpaired")
      assert.strictEqual(r.kept.find((c) => c.id === "d4-hi")!.verdicts[0]!.reason, "undecided (1 comparisons)")
      assert.deepStrictEqual(r.statistics, {
        pairs: 3,
        skippedPairs: 0,
        consistent: 1,
        contradicted: 1,
        ties: 1,
        positionFlips: 0,
        invalidPairs: 0,
        invalidAnswers: 0,
        unpaired: 1,
        agreement: 0.5,
        positionConsistency: 1
      })
    })
  )

  it.effect("undecided and unpaired queries can be dropped instead", () =>
    Effect.gen(function* () {
      const r = yield* PairwiseConsistencyFilter.make({
        judge: PairwiseJudge.fromGrader(grader),
        undecided: "drop",
        unpaired: "drop"
      }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["d1-hi", "d1-lo"]
      )
      assert.deepStrictEqual(r.counts.reasons, {
        "order-contradiction": 2,
        "empty-document": 1,
        unpaired: 1,
        undecided: 2
      })
    })
  )

  it.effect("majority policy keeps a query with more consistent than contradicted comparisons", () =>
    Effect.gen(function* () {
      const g = tableGrader([
        ["a3", "D", [0, 0, 0, 1]], // 3.0
        ["a2", "D", [0, 0, 1, 0]], // 2.0
        ["a1", "D", [0, 0, 0.2, 0.8]] // 2.8: beats a2 though written for grade 1
      ])
      const set = [
        candidate("t3", "d", "a3", 3, "D"),
        candidate("t2", "d", "a2", 2, "D"),
        candidate("t1", "d", "a1", 1, "D")
      ]
      // pairs: (t3,t2) consistent, (t3,t1) consistent, (t2,t1) contradicted
      const any = yield* PairwiseConsistencyFilter.make({ judge: PairwiseJudge.fromGrader(g) }).apply(set)
      assert.deepStrictEqual(
        any.kept.map((c) => c.id),
        ["t3"]
      )
      const majority = yield* PairwiseConsistencyFilter.make({
        judge: PairwiseJudge.fromGrader(g),
        drop: "majority"
      }).apply(set)
      // t2: 1 consistent, 1 contradicted → kept; t1: 1 consistent, 1 contradicted → kept
      assert.deepStrictEqual(
        majority.kept.map((c) => c.id),
        ["t3", "t2", "t1"]
      )
      assert.strictEqual(majority.statistics!.agreement, 2 / 3)
    })
  )
})

describe("PairwiseConsistencyFilter with an LLM judge over the OpenAI-compatible wire format", () => {
  let server: ChatServer
  // Which query each test document truly satisfies better; other documents get scripted bad answers.
  const better: Record<string, string> = { 文档甲: "感冒药推荐", 文档乙: "头疼吃什么药" }
  beforeAll(async () => {
    server = await startChatServer((body) => {
      const user: string = body.messages.find((m: any) => m.role === "user").content
      const doc = user.split("\n")[1]!
      const a = /Query A: (.*)/.exec(user)![1]!
      const b = /Query B: (.*)/.exec(user)![1]!
      if (doc === "文档丙") return '{"better": "A"}' // position-biased judge
      if (doc === "文档丁") return a.length > b.length ? "4" : "two"
      if (doc === "文档戊") return a.length > b.length ? "Both queries seem related to the document." : ""
      return JSON.stringify({ better: better[doc] === a ? "A" : better[doc] === b ? "B" : "tie" })
    })
  })
  afterAll(() => server.close())

  it.effect("asks both orders, cancels position bias and counts unreadable answers", () =>
    withClient(server.url, "judge-model", (client) =>
      Effect.gen(function* () {
        const judge = PairwiseJudge.fromChat(client, { concurrency: 2 })
        const items = [
          candidate("jia-hi", "jia", "感冒药推荐", 3, "文档甲"),
          candidate("jia-lo", "jia", "感冒", 1, "文档甲"),
          candidate("yi-hi", "yi", "头疼", 3, "文档乙"),
          candidate("yi-lo", "yi", "头疼吃什么药", 2, "文档乙"),
          candidate("bing-hi", "bing", "咳嗽药", 2, "文档丙"),
          candidate("bing-lo", "bing", "咳嗽", 1, "文档丙"),
          candidate("ding-hi", "ding", "发烧怎么办", 3, "文档丁"),
          candidate("ding-lo", "ding", "发烧", 1, "文档丁"),
          candidate("wu-hi", "wu", "鼻塞怎么办", 3, "文档戊"),
          candidate("wu-lo", "wu", "鼻塞", 1, "文档戊")
        ]
        const before = server.requests.length
        const r = yield* PairwiseConsistencyFilter.make({ judge }).apply(items)
        const sent = server.requests.slice(before)
        assert.strictEqual(sent.length, 10) // 5 pairs × 2 orders
        assert.strictEqual(sent[0].temperature, 0)
        assert.strictEqual(sent[0].response_format.type, "json_schema")
        assert.strictEqual(sent[0].model, "judge-model")
        assert.deepStrictEqual(
          r.kept.map((c) => c.id),
          ["jia-hi", "jia-lo", "bing-hi", "bing-lo", "ding-hi", "ding-lo", "wu-hi", "wu-lo"]
        )
        assert.deepStrictEqual(r.counts.reasons, { "order-contradiction": 2 })
        assert.strictEqual(r.statistics!.consistent, 1)
        assert.strictEqual(r.statistics!.contradicted, 1)
        assert.strictEqual(r.statistics!.positionFlips, 1)
        assert.strictEqual(r.statistics!.invalidPairs, 2)
        assert.strictEqual(r.statistics!.invalidAnswers, 4)
        assert.strictEqual(r.statistics!.positionConsistency, 2 / 3)
        assert.strictEqual(r.kept.find((c) => c.id === "ding-hi")!.verdicts[0]!.reason, "undecided (1 comparisons)")
      })
    )
  )

  it.effect("a judge that cannot be reached fails with a typed ModelError", () =>
    withClient("http://127.0.0.1:9/v1", "m", (client) =>
      Effect.gen(function* () {
        const judge = PairwiseJudge.fromChat(client)
        const e = yield* Effect.flip(
          PairwiseConsistencyFilter.make({ judge }).apply([
            candidate("a", "d", "q1", 3, "D"),
            candidate("b", "d", "q2", 1, "D")
          ])
        )
        assert.strictEqual(e._tag, "ModelError")
        assert.strictEqual(e.reason, "unavailable")
      })
    )
  )
})
