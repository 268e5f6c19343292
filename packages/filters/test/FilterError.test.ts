import { assert, describe, it } from "@effect/vitest"
import { Failure } from "@ssra/core"
import {
  DuplicateFilter,
  Filter,
  FilterError,
  GradeQuota,
  LengthFilter,
  PairwiseConsistencyFilter,
  ScoreAgreementFilter,
  ScriptFilter
} from "@ssra/filters"
import { thrown } from "@ssra/test-support"
import { Effect } from "effect"

const grader = { id: "g", scale: { max: 3 }, grade: () => Effect.die("unused"), gradeBatch: () => Effect.die("unused") }

describe("FilterError", () => {
  it("every constructor throws FilterError (invalid-option, usage) for an option out of range", () => {
    const cases: ReadonlyArray<readonly [() => unknown, string, RegExp]> = [
      [() => DuplicateFilter.make({ threshold: 0 }), "duplicate", /threshold must be in \(0, 1\]/],
      [() => DuplicateFilter.make({ ngram: 0 }), "duplicate", /ngram/],
      [() => DuplicateFilter.make({ permutations: 64, bands: 10 }), "duplicate", /bands \(10\)/],
      [() => DuplicateFilter.make({ scope: "document", existing: ["x"] }), "duplicate", /scope "global"/],
      [() => GradeQuota.make({ shares: {} }), "grade-quota", /positive share/],
      [() => GradeQuota.make({ shares: { 1: -0.1 } }), "grade-quota", /must be in \[0, 1\]/],
      [() => GradeQuota.make({ shares: { 5: 0.5 } as never }), "grade-quota", /grades are 0..3/],
      [() => GradeQuota.make({ shares: { 1: 0.6, 2: 0.5 }, existing: { 0: 10 } }), "grade-quota", /lift mode/],
      [() => GradeQuota.make({ shares: { 1: 1 }, total: -1 }), "grade-quota", /total/],
      [() => LengthFilter.make({ minChars: 5, maxChars: 2 }), "length", /length bounds/],
      [() => ScriptFilter.make({ script: "Klingonish" }), "script", /unknown Unicode script/],
      [() => ScriptFilter.make({ minRatio: 2 }), "script", /minRatio/],
      [
        () => ScoreAgreementFilter.make({ grader: grader as never, minProbability: 1.5 }),
        "score-agreement",
        /minProbability/
      ],
      [() => ScoreAgreementFilter.make({ grader: grader as never, minMargin: -1 }), "score-agreement", /minMargin/],
      [() => ScoreAgreementFilter.make({ grader: grader as never, batchSize: 0 }), "score-agreement", /batchSize/],
      [
        () => PairwiseConsistencyFilter.make({ judge: {} as never, maxPairsPerDocument: 0 }),
        "pairwise-consistency",
        /maxPairsPerDocument/
      ]
    ]
    for (const [f, filter, message] of cases) {
      const e = thrown(f)
      assert.instanceOf(e, FilterError.FilterError)
      assert.strictEqual((e as FilterError.FilterError).reason, "invalid-option")
      assert.strictEqual((e as FilterError.FilterError).filter, filter)
      assert.match((e as Error).message, message)
      assert.strictEqual(Failure.classify(e).class, "usage")
    }
  })

  it("collect: decisions that do not line up with the candidates are the filter's bug (internal)", () => {
    const e = thrown(() => Filter.collect("mine", [], [Filter.keep()]))
    assert.instanceOf(e, FilterError.FilterError)
    assert.strictEqual((e as Error).message, "filter mine: 1 decisions for 0 candidates")
    assert.deepStrictEqual(Failure.classify(e), { class: "internal", retryable: false })
  })
})
