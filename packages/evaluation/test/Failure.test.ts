import { Failure, Models } from "@ssra/core"
import { thrown } from "@ssra/test-support"
import { describe, expect, it } from "vitest"
import { EvaluationError, Metrics, Statistics } from "../src/index.js"

const error = (reason: EvaluationError.EvaluationError["reason"], extra: { file?: string; cause?: unknown } = {}) =>
  new EvaluationError.EvaluationError({ reason, detail: "d", ...extra })

describe("Failure.classify over @ssra/evaluation's errors", () => {
  it("EvaluationError: io, model, usage, input by reason (and file)", () => {
    expect(Failure.classify(error("io")).class).toBe("io")
    expect(Failure.classify(error("model")).class).toBe("backend-unreachable")
    expect(Failure.classify(error("model")).retryable).toBe(false)
    const down = new Models.ModelError({ backend: "judge", reason: "unavailable", message: "down" })
    expect(Failure.classify(error("model", { cause: down })).retryable).toBe(true)
    expect(Failure.classify(error("invalid-option")).class).toBe("usage")
    expect(Failure.classify(error("malformed")).class).toBe("usage")
    expect(Failure.classify(error("malformed", { file: "run.trec" })).class).toBe("input")
    for (const reason of [
      "unknown-query",
      "duplicate-document",
      "nan-score",
      "empty",
      "grade-out-of-scale",
      "mismatch"
    ] as const)
      expect(Failure.classify(error(reason)).class, reason).toBe("input")
  })

  it("metrics and statistics throw EvaluationError, not RangeError", () => {
    const nan = thrown(() => Metrics.ndcgAtK({ a: 1 }, { a: Number.NaN }, 10))
    expect(nan).toBeInstanceOf(EvaluationError.EvaluationError)
    expect((nan as EvaluationError.EvaluationError).reason).toBe("nan-score")
    expect((nan as EvaluationError.EvaluationError).id).toBe("a")
    const cases: ReadonlyArray<readonly [() => unknown, EvaluationError.EvaluationError["reason"], RegExp]> = [
      [() => Metrics.averagePrecision([0, 1], [0.1, Number.NaN]), "nan-score", /index 1 is NaN/],
      [() => Metrics.averagePrecision([0, 1], [0.1]), "mismatch", /2 labels but 1 scores/],
      [() => Metrics.accuracy([0, 1], [0]), "mismatch", /2 labels but 1 predictions/],
      [() => Metrics.confusionMatrix([0], [0, 1]), "mismatch", /1 labels but 2 predictions/],
      [() => Statistics.pairedRandomization([1], [1, 2]), "mismatch", /differ in length/],
      [() => Statistics.pairedRandomization([], []), "empty", /empty/],
      [() => Statistics.pairedRandomization([1, 2], [2, 3], { permutations: 0 }), "invalid-option", /permutations/],
      [() => Statistics.bootstrapInterval(3, () => 1, { resamples: 0 }), "invalid-option", /resamples/]
    ]
    for (const [f, reason, message] of cases) {
      const e = thrown(f)
      expect(e).toBeInstanceOf(EvaluationError.EvaluationError)
      expect((e as EvaluationError.EvaluationError).reason).toBe(reason)
      expect((e as Error).message).toMatch(message)
    }
    expect(Failure.classify(thrown(() => Statistics.bootstrapInterval(3, () => 1, { resamples: 0 }))).class).toBe(
      "usage"
    )
  })
})
