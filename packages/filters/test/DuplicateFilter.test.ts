import { assert, describe, it } from "@effect/vitest"
import { DuplicateFilter } from "@ssra/filters"
import { Effect } from "effect"
import { candidate } from "./fixtures.js"

describe("DuplicateFilter", () => {
  it("shingles and Jaccard are exact on hand-checked sets", () => {
    assert.deepStrictEqual([...DuplicateFilter.shingles("北京天气", 2)], ["北京", "京天", "天气"])
    assert.deepStrictEqual([...DuplicateFilter.shingles("雨", 2)], ["雨"])
    // 北京天气预报 (5 bigrams) vs 北京天气预报查询 (7): 5 shared of 7 → 5/7
    const j = DuplicateFilter.jaccard(
      DuplicateFilter.shingles("北京天气预报", 2),
      DuplicateFilter.shingles("北京天气预报查询", 2)
    )
    assert.closeTo(j, 5 / 7, 1e-12)
    assert.strictEqual(DuplicateFilter.jaccard(new Set(), new Set()), 0)
  })

  it("MinHash is seeded: same seed, same signature; different seed, different signature", () => {
    const s = DuplicateFilter.shingles("今天北京天气预报", 2)
    const a = DuplicateFilter.minHasher(32, 7)(s)
    const b = DuplicateFilter.minHasher(32, 7)(s)
    const c = DuplicateFilter.minHasher(32, 8)(s)
    assert.deepStrictEqual(Array.from(a), Array.from(b))
    assert.notStrictEqual(Array.from(a).join(","), Array.from(c).join(","))
    // the share of equal signature slots estimates Jaccard: 7 of 8 bigrams shared → 0.875
    const h = DuplicateFilter.minHasher(1024, 3)
    const x = h(DuplicateFilter.shingles("今天北京天气预报", 2))
    const y = h(DuplicateFilter.shingles("今天北京天气预报表", 2))
    let same = 0
    for (let i = 0; i < x.length; i++) if (x[i] === y[i]) same++
    assert.closeTo(same / x.length, 0.875, 0.06)
  })

  it.effect("rejects exact, normalized and near duplicates, keeping the first occurrence", () =>
    Effect.gen(function* () {
      const items = [
        candidate("a", "d1", "今天北京天气预报", 1),
        candidate("b", "d2", "今天北京天气预报", 2), // exact repeat of a
        candidate("c", "d3", "今天 北京天气预报！", 3), // same dedupKey as a
        candidate("d", "d4", "今天北京天气预报表", 1), // Jaccard 7/8 = 0.875 with a
        candidate("e", "d5", "北京的天气预报", 1), // Jaccard with a: 4/9 — kept
        candidate("f", "d6", "上海地铁线路图", 1)
      ]
      const r = yield* DuplicateFilter.make({ threshold: 0.8, seed: 1 }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["a", "e", "f"]
      )
      assert.deepStrictEqual(r.counts.reasons, { "duplicate-exact": 1, "duplicate-normalized": 1, "near-duplicate": 1 })
      const byId = new Map(r.rejected.map((c) => [c.id, c.verdicts[0]!.reason]))
      assert.strictEqual(byId.get("b"), "duplicate-exact: same text as a")
      assert.strictEqual(byId.get("c"), "duplicate-normalized: same normalized text as a")
      assert.strictEqual(byId.get("d"), "near-duplicate: Jaccard 0.875 with a")
      assert.strictEqual(r.statistics!.duplicateRate, 0.5)
    })
  )

  it.effect("levels and per-document scope are honoured", () =>
    Effect.gen(function* () {
      const items = [
        candidate("a", "d1", "今天北京天气预报", 1),
        candidate("b", "d2", "今天北京天气预报", 1), // other document
        candidate("c", "d1", "今天北京天气预报表", 2) // same document, near duplicate of a
      ]
      const perDoc = yield* DuplicateFilter.make({ scope: "document" }).apply(items)
      assert.deepStrictEqual(
        perDoc.kept.map((c) => c.id),
        ["a", "b"]
      )
      const exactOnly = yield* DuplicateFilter.make({ levels: ["exact"] }).apply(items)
      assert.deepStrictEqual(
        exactOnly.kept.map((c) => c.id),
        ["a", "c"]
      )
    })
  )

  it.effect("per-document scope: near duplicates in another document share LSH buckets but never match", () =>
    Effect.gen(function* () {
      const items = [
        candidate("a", "d1", "今天北京天气预报", 1),
        candidate("b", "d2", "今天北京天气预报表", 1), // near duplicate of a, other document: kept
        candidate("c", "d1", "今天北京天气预报表", 2) // same text as b (Jaccard 1) but b is in d2: matched with a
      ]
      const r = yield* DuplicateFilter.make({ scope: "document", seed: 1 }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["a", "b"]
      )
      assert.strictEqual(r.rejected[0]!.verdicts[0]!.reason, "near-duplicate: Jaccard 0.875 with a")
      const global = yield* DuplicateFilter.make({ scope: "global", seed: 1 }).apply(items)
      assert.deepStrictEqual(
        global.kept.map((c) => c.id),
        ["a"]
      )
    })
  )

  it.effect("rejects queries repeating existing training queries", () =>
    Effect.gen(function* () {
      const r = yield* DuplicateFilter.make({ existing: ["上海地铁线路图"] }).apply([
        candidate("a", "d", "上海 地铁线路图", 1),
        candidate("b", "d", "上海地铁票价", 1)
      ])
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["b"]
      )
      assert.strictEqual(r.rejected[0]!.verdicts[0]!.reason, "duplicate-normalized: same normalized text as existing")
    })
  )

  it("rejects inconsistent options", () => {
    assert.throws(() => DuplicateFilter.make({ permutations: 64, bands: 10 }))
    assert.throws(() => DuplicateFilter.make({ scope: "document", existing: ["x"] }))
    assert.throws(() => DuplicateFilter.make({ threshold: 0 }))
  })
})
