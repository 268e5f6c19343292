import { assert, describe, it } from "@effect/vitest"
import type { Models } from "@ssra/core"
import { ScoreAgreementFilter } from "@ssra/filters"
import { Effect } from "effect"
import { candidate, tableGrader } from "./fixtures.js"

describe("ScoreAgreementFilter", () => {
  it.effect("keeps a query only when the judged grade equals the target, with probability and margin checks", () =>
    Effect.gen(function* () {
      const grader = tableGrader([
        ["感冒药", "D", [0.05, 0.05, 0.1, 0.8]], // grade 3, p = 0.8, margin 0.7
        ["感冒", "D", [0.1, 0.5, 0.3, 0.1]], // grade 1
        ["药", "D", [0.3, 0.4, 0.2, 0.1]], // grade 1, p = 0.4
        ["感冒药品", "D", [0, 0, 0.45, 0.55]] // grade 3, p = 0.55, margin 0.1
      ])
      const items = [
        candidate("ok", "d", "感冒药", 3, "D"),
        candidate("mismatch", "d", "感冒", 2, "D"),
        candidate("lowp", "d", "药", 1, "D"),
        candidate("lowmargin", "d", "感冒药品", 3, "D"),
        candidate("nodoc", "d", "感冒药", 3, "   ")
      ]
      const r = yield* ScoreAgreementFilter.make({ grader, minProbability: 0.5, minMargin: 0.2 }).apply(items)
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["ok"]
      )
      assert.deepStrictEqual(r.counts.reasons, {
        "grade-mismatch": 1,
        "low-probability": 1,
        "low-margin": 1,
        "empty-document": 1
      })
      const byId = new Map(r.rejected.map((c) => [c.id, c]))
      assert.strictEqual(byId.get("mismatch")!.verdicts[0]!.reason, "grade-mismatch: judged 1, target 2")
      assert.strictEqual(byId.get("lowp")!.verdicts[0]!.reason, "low-probability: p(1) = 0.400 < 0.5")
      assert.strictEqual(byId.get("lowmargin")!.verdicts[0]!.reason, "low-margin: top-2 margin 0.100 < 0.2")
      assert.strictEqual(byId.get("nodoc")!.judged, undefined)
      const judged = r.kept[0]!.judged!
      assert.deepStrictEqual(
        [judged.grade, judged.probabilities, judged.scorer],
        [3, [0.05, 0.05, 0.1, 0.8], "table-grader"]
      )
      assert.closeTo(judged.expected, 2.65, 1e-12)
      assert.strictEqual(r.statistics!.graded, 4)
      assert.strictEqual(r.statistics!.gradeAgreement, 0.75)
      assert.strictEqual(r.statistics!.keptRate, 0.25)
    })
  )

  it.effect("rejects targets outside the grader's scale without asking it (QBQTC stops at 2)", () =>
    Effect.gen(function* () {
      const grader = tableGrader([["q", "D", [0.1, 0.2, 0.7]]], 2)
      const r = yield* ScoreAgreementFilter.make({ grader }).apply([
        candidate("a", "d", "q", 3, "D"),
        candidate("b", "d", "q", 2, "D")
      ])
      assert.deepStrictEqual(
        r.kept.map((c) => c.id),
        ["b"]
      )
      assert.strictEqual(
        r.rejected[0]!.verdicts[0]!.reason,
        "target-off-scale: target grade 3 is outside the scale 0..2"
      )
    })
  )

  it.effect("batches grader calls", () =>
    Effect.gen(function* () {
      const grader = tableGrader([["q", "D", [0, 0, 0, 1]]])
      const items = Array.from({ length: 5 }, (_, i) => candidate(`c${i}`, "d", "q", 3, "D"))
      const r = yield* ScoreAgreementFilter.make({ grader, batchSize: 2 }).apply(items)
      assert.strictEqual(r.kept.length, 5)
      assert.strictEqual(grader.calls, 3)
    })
  )

  it.effect("fails with a typed error when the grader answers NaN or the wrong count", () =>
    Effect.gen(function* () {
      const nan: Models.Grader = {
        id: "nan",
        scale: { max: 3 },
        grade: (pairs) =>
          Effect.succeed(pairs.map(() => ({ grade: 3 as const, probabilities: [Number.NaN, 0, 0, 1], expected: 3 })))
      }
      const e1 = yield* Effect.flip(
        ScoreAgreementFilter.make({ grader: nan }).apply([candidate("a", "d", "q", 3, "D")])
      )
      assert.strictEqual(e1._tag, "ModelError")
      assert.strictEqual(e1.reason, "invalid-output")
      assert.match(e1.message, /candidate a: probability NaN/)
      const short: Models.Grader = { id: "short", scale: { max: 3 }, grade: () => Effect.succeed([]) }
      const e2 = yield* Effect.flip(
        ScoreAgreementFilter.make({ grader: short }).apply([candidate("a", "d", "q", 3, "D")])
      )
      assert.match(e2.message, /0 judgments for 1 pairs/)
    })
  )

  it("rejects bad options at construction", () => {
    const grader = tableGrader([])
    assert.throws(() => ScoreAgreementFilter.make({ grader, minProbability: 1.5 }))
    assert.throws(() => ScoreAgreementFilter.make({ grader, batchSize: 0 }))
  })
})
