import { assert, describe, it } from "@effect/vitest"
import { Filter, LengthFilter } from "@ssra/filters"
import { Effect, Stream } from "effect"
import { candidate } from "./fixtures.js"

describe("Filter", () => {
  it("collect appends a verdict, keeps input order and counts reasons", () => {
    const items = [candidate("a", "d1", "苹果手机", 3), candidate("b", "d1", "x", 1), candidate("c", "d2", "香蕉", 2)]
    const r = Filter.collect("t", items, [
      Filter.keep("ok"),
      Filter.reject("too-short", "1 < 2"),
      Filter.reject("too-short")
    ])
    assert.deepStrictEqual(
      r.kept.map((c) => c.id),
      ["a"]
    )
    assert.deepStrictEqual(
      r.rejected.map((c) => c.id),
      ["b", "c"]
    )
    assert.deepStrictEqual(r.counts, { filter: "t", input: 3, kept: 1, rejected: 2, reasons: { "too-short": 2 } })
    assert.deepStrictEqual(r.kept[0]!.verdicts, [{ filter: "t", keep: true, reason: "ok" }])
    assert.deepStrictEqual(r.rejected[0]!.verdicts, [{ filter: "t", keep: false, reason: "too-short: 1 < 2" }])
    assert.deepStrictEqual(r.rejected[1]!.verdicts, [{ filter: "t", keep: false, reason: "too-short" }])
  })

  it("validate rejects blank queries, blank documents and targets off the scale", () => {
    assert.strictEqual((Filter.validate(candidate("a", "d", "  ", 1)) as any).code, "empty-query")
    assert.strictEqual((Filter.validate(candidate("a", "d", "q", 1, " \n")) as any).code, "empty-document")
    assert.strictEqual(Filter.validate(candidate("a", "d", "q", 1, " \n"), { needsDocument: false }), undefined)
    assert.strictEqual((Filter.validate(candidate("a", "d", "q", 3), { scaleMax: 2 }) as any).code, "target-off-scale")
    assert.strictEqual((Filter.validate(candidate("a", "d", "q", 7)) as any).code, "target-off-scale")
    assert.strictEqual((Filter.validate(candidate("a", "d", "q", 1.5)) as any).code, "target-off-scale")
    assert.strictEqual(Filter.validate(candidate("a", "d", "q", 2), { scaleMax: 2 }), undefined)
  })

  it("rate is null, never NaN, on a zero denominator", () => {
    assert.strictEqual(Filter.rate(0, 0), null)
    assert.strictEqual(Filter.rate(1, 4), 0.25)
  })

  it.effect("chain feeds survivors forward and reports each step", () =>
    Effect.gen(function* () {
      const items = [
        candidate("a", "d", "一", 1),
        candidate("b", "d", "一二三", 1),
        candidate("c", "d", "一二三四五六", 1)
      ]
      const r = yield* Filter.chain(
        [LengthFilter.make({ minChars: 2 }), LengthFilter.make({ maxChars: 4, name: "short" })],
        items
      )
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["b"]
      )
      assert.deepStrictEqual(
        r.steps.map((s) => [s.filter, s.input, s.kept]),
        [
          ["length", 3, 2],
          ["short", 2, 1]
        ]
      )
      assert.strictEqual(r.rejected.length, 2)
      assert.strictEqual(r.kept[0]!.verdicts.length, 2)
    })
  )

  it.effect("applyStream runs an item filter chunk by chunk and emits every row with its verdict", () =>
    Effect.gen(function* () {
      const items = Array.from({ length: 7 }, (_, i) => candidate(`c${i}`, "d", i % 2 === 0 ? "长查询文本" : "短", 1))
      const out = yield* Stream.runCollect(
        Filter.applyStream(LengthFilter.make({ minChars: 2 }), Stream.fromIterable(items), 3)
      )
      assert.strictEqual(out.length, 7)
      assert.strictEqual(out.filter((c) => c.verdicts[0]!.keep).length, 4)
      assert.deepStrictEqual(
        [...out].sort((a, b) => a.id.localeCompare(b.id)).map((c) => c.verdicts[0]!.keep),
        [true, false, true, false, true, false, true]
      )
    })
  )
})
