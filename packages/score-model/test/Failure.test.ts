import { assert, describe, it } from "@effect/vitest"
import { Failure } from "@ssra/core"
import { LlmJudge, ScoreModelError } from "@ssra/score-model"

describe("Failure.classify over @ssra/score-model's errors", () => {
  it("ScoreTrainingError: bad pairs input, a bad option usage, divergence internal", () => {
    const training = (reason: ScoreModelError.ScoreTrainingError["reason"]) =>
      Failure.classify(new ScoreModelError.ScoreTrainingError({ reason, detail: "d" }))
    for (const reason of ["no-pairs", "empty-text", "label-off-scale"] as const)
      assert.strictEqual(training(reason).class, "input", reason)
    assert.strictEqual(training("invalid-option").class, "usage")
    assert.strictEqual(training("diverged").class, "internal")
  })

  it("ScoreCheckpointError: io io, a missing or other embedder usage, a bad checkpoint input", () => {
    const checkpoint = (reason: ScoreModelError.ScoreCheckpointError["reason"]) =>
      Failure.classify(new ScoreModelError.ScoreCheckpointError({ dir: "/m", file: "f", reason, detail: "d" }))
    assert.strictEqual(checkpoint("io").class, "io")
    assert.strictEqual(checkpoint("embedder-missing").class, "usage")
    assert.strictEqual(checkpoint("embedder-mismatch").class, "usage")
    for (const reason of ["not-found", "malformed", "incompatible", "corrupt"] as const)
      assert.strictEqual(checkpoint(reason).class, "input", reason)
  })

  it("distinct class names matching their tags", () => {
    assert.strictEqual(
      new ScoreModelError.ScoreTrainingError({ reason: "no-pairs", detail: "d" })._tag,
      "ScoreTrainingError"
    )
    assert.strictEqual(ScoreModelError.ScoreTrainingError.name, "ScoreTrainingError")
    assert.strictEqual(ScoreModelError.ScoreCheckpointError.name, "ScoreCheckpointError")
  })

  it("LlmJudge options out of range throw ScoreOptionError (usage)", () => {
    for (const [options, option] of [
      [{ samples: 1 }, "samples"],
      [{ invalidRetries: -1 }, "invalidRetries"]
    ] as const) {
      try {
        LlmJudge.make({ client: { model: "m" } as never, scale: { max: 2 }, ...options })
        assert.fail("expected a throw")
      } catch (e) {
        assert.instanceOf(e, ScoreModelError.ScoreOptionError)
        assert.strictEqual((e as ScoreModelError.ScoreOptionError).option, option)
        assert.strictEqual(Failure.classify(e).class, "usage")
      }
    }
  })
})
