import { assert, describe, it } from "@effect/vitest"
import { Grade } from "@ssra/core"
import { Baselines } from "@ssra/score-model"
import { Effect } from "effect"

describe("Baselines", () => {
  it("fits thresholds that separate perfectly separable scores", () => {
    const scores = [0.1, 0.2, 0.3, 1.1, 1.2, 1.3, 2.1, 2.2, 2.3]
    const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    const t = Baselines.fitThresholds(scores, labels, 3, 9)
    assert.strictEqual(t.length, 2)
    assert.isTrue(t[0]! > 0.3 && t[0]! <= 1.1, `t0=${t[0]}`)
    assert.isTrue(t[1]! > 1.3 && t[1]! <= 2.1, `t1=${t[1]}`)
  })

  it("majority predicts the most frequent training grade with the prior as probabilities", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const g = Baselines.majority([0, 1, 1, 2], Grade.scale(3))
        const [j] = yield* g.grade([{ query: "q", doc: "d" }])
        assert.strictEqual(j!.grade, 1)
        assert.deepStrictEqual(j!.probabilities, [0.25, 0.5, 0.25, 0])
      })
    ))

  it("BM25-threshold grades by BM25 against thresholds fit on training pairs", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const pairs = [
          { query: "感冒药", doc: "感冒药推荐", label: 2 },
          { query: "感冒药", doc: "感冒了怎么办", label: 1 },
          { query: "感冒药", doc: "汽车保养", label: 0 },
          { query: "头疼", doc: "头疼怎么缓解", label: 2 },
          { query: "头疼", doc: "头部按摩", label: 1 },
          { query: "头疼", doc: "天气预报", label: 0 }
        ]
        const g = Baselines.bm25Threshold(pairs, Grade.scale(2))
        const judged = yield* g.grade(pairs)
        assert.deepStrictEqual(
          judged.map((j) => j.grade),
          [2, 1, 0, 2, 1, 0]
        )
        assert.deepStrictEqual(judged[0]!.probabilities, [0, 0, 1])
      })
    ))
})
