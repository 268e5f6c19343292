import { assert, describe, it } from "@effect/vitest"
import { GradeQuota } from "@ssra/filters"
import { Effect } from "effect"
import { candidate } from "./fixtures.js"

const many = (grade: number, n: number) =>
  Array.from({ length: n }, (_, i) => candidate(`g${grade}-${i}`, `d${i}`, `查询${grade}-${i}`, grade))

describe("GradeQuota", () => {
  it("apportions by largest remainder", () => {
    assert.deepStrictEqual(GradeQuota.apportion(10, [0.5, 0.25, 0.25]), [5, 3, 2])
    assert.deepStrictEqual(GradeQuota.apportion(7, [1 / 3, 1 / 3, 1 / 3]), [3, 2, 2])
  })

  it.effect("distribution mode: the largest set with the target shares that the candidates can fill", () =>
    Effect.gen(function* () {
      // grade 1: 5, grade 2: 2, grade 3: 3 (no share → kept as is). 50/50 over grades 1 and 2 → 2 + 2.
      const items = [...many(1, 5), ...many(2, 2), ...many(3, 3)]
      const r = yield* GradeQuota.make({ shares: { 1: 0.5, 2: 0.5 }, seed: 4 }).apply(items)
      const kept = (g: number) => r.kept.filter((c) => c.targetGrade === g).length
      assert.deepStrictEqual([kept(1), kept(2), kept(3)], [2, 2, 3])
      assert.deepStrictEqual(r.counts.reasons, { "over-quota": 3 })
      assert.strictEqual(r.statistics!["quota.1"], 2)
      // seeded: the same seed keeps the same grade-1 candidates; a different seed usually others
      const again = yield* GradeQuota.make({ shares: { 1: 0.5, 2: 0.5 }, seed: 4 }).apply(items)
      assert.deepStrictEqual(
        again.kept.map((c) => c.id),
        r.kept.map((c) => c.id)
      )
      // a total cap: 3 quota-grade rows at 50/50 → largest remainder gives grade 1 two, grade 2 one
      const capped = yield* GradeQuota.make({ shares: { 1: 0.5, 2: 0.5 }, total: 3, others: "drop", seed: 4 }).apply(
        items
      )
      assert.deepStrictEqual(
        [capped.statistics!["kept.1"], capped.statistics!["kept.2"], capped.statistics!["kept.3"]],
        [2, 1, 0]
      )
      assert.deepStrictEqual(capped.counts.reasons, { "over-quota": 4, "grade-not-in-quota": 3 })
      // a share-bearing grade with no candidates zeroes every quota: the rejections say which grade and why
      const lonely = yield* GradeQuota.make({ shares: { 1: 0.5, 2: 0.5 }, seed: 4 }).apply(many(1, 10))
      assert.strictEqual(lonely.kept.length, 0)
      assert.strictEqual(lonely.statistics!.emptyQuotaGrades, 1)
      assert.include(lonely.rejected[0]!.verdicts.at(-1)!.reason!, "grade 2 has no candidates")
    })
  )

  it.effect("lift mode: grades 1 and 2 reach 15% of existing + kept where candidates suffice", () =>
    Effect.gen(function* () {
      // existing 100 rows (60/3/2/35); rest = 95 → N = 95 / 0.7 = 135.71 → F1 = F2 = round(20.36) = 20
      // grade 1 needs 20 − 3 = 17 (30 available); grade 2 needs 18 but only 10 exist → 10
      const items = [...many(1, 30), ...many(2, 10), ...many(3, 5)]
      const r = yield* GradeQuota.make({
        shares: { 1: 0.15, 2: 0.15 },
        existing: { 0: 60, 1: 3, 2: 2, 3: 35 },
        others: "drop",
        seed: 1
      }).apply(items)
      assert.strictEqual(r.statistics!["kept.1"], 17)
      assert.strictEqual(r.statistics!["kept.2"], 10)
      assert.strictEqual(r.statistics!["kept.3"], 0)
      assert.deepStrictEqual(r.counts.reasons, { "over-quota": 13, "grade-not-in-quota": 5 })
      assert.closeTo(r.statistics!["share.1"]!, 20 / 127, 1e-12)
      assert.closeTo(r.statistics!["share.2"]!, 12 / 127, 1e-12)
    })
  )

  it.effect("rejects malformed candidates with a reason", () =>
    Effect.gen(function* () {
      const r = yield* GradeQuota.make({ shares: { 1: 1 } }).apply([candidate("bad", "d", "", 1), ...many(1, 2)])
      assert.strictEqual(r.kept.length, 2)
      assert.deepStrictEqual(r.counts.reasons, { "empty-query": 1 })
    })
  )

  it("rejects impossible shares", () => {
    assert.throws(() => GradeQuota.make({ shares: { 1: 0.6, 2: 0.5 }, existing: { 0: 10 } }))
    assert.throws(() => GradeQuota.make({ shares: {} }))
    assert.throws(() => GradeQuota.make({ shares: { 1: -0.1 } }))
  })
})
