import { assert, describe, it } from "@effect/vitest"
import { Failure } from "@ssra/core"
import { FineTunedQueryModel, PromptQueryModel, QueryModelError, SftData } from "@ssra/query-model"
import { thrown } from "@ssra/test-support"

describe("Failure.classify over @ssra/query-model's errors", () => {
  it("QueryTrainingError: a bad option usage, the rest input", () => {
    const training = (reason: QueryModelError.QueryTrainingError["reason"]) =>
      Failure.classify(new QueryModelError.QueryTrainingError({ reason, detail: "d" }))
    assert.strictEqual(training("invalid-option").class, "usage")
    for (const reason of ["no-groups", "empty-pool", "grade-off-scale", "no-candidates"] as const)
      assert.strictEqual(training(reason).class, "input", reason)
  })

  it("QueryCheckpointError: io io, the rest input; names distinct and equal to the tags", () => {
    const checkpoint = (reason: QueryModelError.QueryCheckpointError["reason"]) =>
      new QueryModelError.QueryCheckpointError({ dir: "/m", file: "f", reason, detail: "d" })
    assert.strictEqual(Failure.classify(checkpoint("io")).class, "io")
    for (const reason of ["not-found", "malformed", "incompatible"] as const)
      assert.strictEqual(Failure.classify(checkpoint(reason)).class, "input", reason)
    assert.strictEqual(checkpoint("io")._tag, QueryModelError.QueryCheckpointError.name)
    assert.strictEqual(QueryModelError.QueryTrainingError.name, "QueryTrainingError")
  })

  it("options out of range throw QueryOptionError (usage), not RangeError", () => {
    const client = { id: "c", model: "m" } as never
    for (const [f, option] of [
      [() => PromptQueryModel.make({ client, invalidRetries: -1 }), "invalidRetries"],
      [() => FineTunedQueryModel.make({ client, maxRounds: 0 }), "maxRounds"],
      [() => SftData.dedupLabeled([], { maxDocsPerQuery: 0 }), "maxDocsPerQuery"]
    ] as const) {
      const e = thrown(f)
      assert.instanceOf(e, QueryModelError.QueryOptionError)
      assert.strictEqual((e as QueryModelError.QueryOptionError).option, option)
      assert.include((e as Error).message, option)
      assert.strictEqual(Failure.classify(e).class, "usage")
    }
  })
})
