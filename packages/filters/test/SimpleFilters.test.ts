import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { LengthFilter, ScriptFilter, TestLeakageFilter } from "@ssra/filters"
import { Effect } from "effect"
import { candidate } from "./fixtures.js"

describe("LengthFilter", () => {
  it.effect("measures code points of the normalized query against inclusive bounds", () =>
    Effect.gen(function* () {
      const items = [
        candidate("one", "d", "感", 1), // 1 char
        candidate("two", "d", "感冒", 1), // 2 chars: kept (inclusive)
        candidate("spaces", "d", "  感冒   吃药  ", 1), // normalized "感冒 吃药" = 5 chars
        candidate("six", "d", "感冒吃什么药", 1), // 6 chars: too long for max 5
        candidate("blank", "d", "   ", 1)
      ]
      const r = yield* LengthFilter.make({ minChars: 2, maxChars: 5 }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["two", "spaces"]
      )
      assert.deepStrictEqual(r.counts.reasons, { "too-short": 1, "too-long": 1, "empty-query": 1 })
      assert.strictEqual(r.rejected.find((c) => c.id === "six")!.verdicts[0]!.reason, "too-long: 6 > 5 characters")
    })
  )

  it("rejects impossible bounds at construction", () => {
    assert.throws(() => LengthFilter.make({ minChars: 5, maxChars: 2 }))
  })
})

describe("ScriptFilter", () => {
  it.effect("keeps queries whose Han share of letters reaches the minimum", () =>
    Effect.gen(function* () {
      const items = [
        candidate("han", "d", "苹果手机", 1), // 4/4
        candidate("mixed", "d", "iphone价格", 1), // 2 Han of 8 letters = 0.25
        candidate("half", "d", "ab手机", 1), // 2/4 = 0.5: kept at 0.5
        candidate("latin", "d", "cheap flights", 1),
        candidate("digits", "d", "12345", 1)
      ]
      const r = yield* ScriptFilter.make({ minRatio: 0.5 }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["han", "half"]
      )
      assert.deepStrictEqual(r.counts.reasons, { "wrong-script": 2, "no-letters": 1 })
      assert.strictEqual(r.rejected[0]!.verdicts[0]!.reason, "wrong-script: Han share 0.25 < 0.5")
    })
  )

  it.effect("supports other Unicode scripts", () =>
    Effect.gen(function* () {
      const r = yield* ScriptFilter.make({ script: "Latin", minRatio: 0.9 }).apply([
        candidate("a", "d", "cheap flights", 1),
        candidate("b", "d", "便宜机票", 1)
      ])
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["a"]
      )
    })
  )

  it("rejects an unknown script name", () => {
    assert.throws(() => ScriptFilter.make({ script: "Klingonish" }), /unknown Unicode script/)
  })
})

describe("TestLeakageFilter", () => {
  it.effect("rejects a query equal to an evaluation query after normalization", () =>
    Effect.gen(function* () {
      const filter = TestLeakageFilter.make({ evaluationQueries: ["感冒吃什么药", "iPhone 15 价格"] })
      const r = yield* filter.apply([
        candidate("same", "d", "感冒吃什么药", 1),
        candidate("spaced", "d", " 感冒 吃什么药？", 1), // punctuation, spaces folded
        candidate("fullwidth", "d", "ＩＰＨＯＮＥ15价格", 1), // NFKC + case folded
        candidate("other", "d", "感冒吃什么水果", 1)
      ])
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["other"]
      )
      assert.deepStrictEqual(r.counts.reasons, { "test-leak": 3 })
    })
  )

  it.effect("optionally rejects queries containing a long evaluation query", () =>
    Effect.gen(function* () {
      const filter = TestLeakageFilter.make({ evaluationQueries: ["感冒吃什么药", "药"], containsMinChars: 4 })
      const r = yield* filter.apply([candidate("a", "d", "小孩感冒吃什么药好", 1), candidate("b", "d", "止咳药", 1)])
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["b"]
      )
      assert.deepStrictEqual(r.counts.reasons, { "test-leak-contains": 1 })
    })
  )

  it.effect("reads evaluation queries from JSONL files and names a bad file", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leak-"))
      const file = path.join(dir, "pair_test.jsonl")
      fs.writeFileSync(file, `${JSON.stringify({ qid: "q1", did: "d1", query: "头疼怎么办", doc: "x", label: 1 })}\n`)
      const filter = yield* TestLeakageFilter.fromFiles([file])
      const r = yield* filter.apply([candidate("a", "d", "头疼怎么办", 1), candidate("b", "d", "头晕怎么办", 1)])
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["b"]
      )
      const missing = yield* Effect.flip(TestLeakageFilter.fromFiles([path.join(dir, "nope.jsonl")]))
      assert.strictEqual(missing._tag, "DatasetError")
      assert.strictEqual(missing.reason, "not-found")
    })
  )
})
