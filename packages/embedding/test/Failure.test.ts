import { assert, describe, it } from "@effect/vitest"
import { Failure, Models } from "@ssra/core"
import {
  CheckpointError,
  DualEncoder,
  EmbeddingOptionError,
  Featurizer,
  Lexical,
  Loss,
  TrainingError
} from "@ssra/embedding"
import { thrown } from "@ssra/test-support"

const small = () =>
  DualEncoder.make({ featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 10 }, dimensions: 32 }, 3)

describe("Failure.classify over @ssra/embedding's errors", () => {
  it("TrainingError: bad arguments usage, bad rows input, divergence internal, a failed guard its cause's", () => {
    const training = (reason: TrainingError.TrainingError["reason"], cause?: unknown) =>
      Failure.classify(new TrainingError.TrainingError({ reason, detail: "d", ...(cause ? { cause } : {}) }))
    for (const reason of ["invalid-args", "batch-size"] as const) assert.strictEqual(training(reason).class, "usage")
    for (const reason of ["empty", "grade", "weight", "featurize", "resume"] as const)
      assert.strictEqual(training(reason).class, "input", reason)
    assert.strictEqual(training("non-finite").class, "internal")
    const down = new Models.ModelError({ backend: "judge", reason: "unavailable", message: "down" })
    assert.strictEqual(training("model", down).class, "backend-unreachable")
    assert.isTrue(training("model", down).retryable)
    assert.strictEqual(training("model").class, "internal")
  })

  it("CheckpointError: io io, every other reason input", () => {
    const checkpoint = (reason: CheckpointError.CheckpointError["reason"]) =>
      Failure.classify(new CheckpointError.CheckpointError({ path: "/m", reason, detail: "d" }))
    assert.strictEqual(checkpoint("io").class, "io")
    for (const reason of ["not-found", "corrupt", "invalid", "version", "non-finite", "mismatch"] as const)
      assert.strictEqual(checkpoint(reason).class, "input", reason)
  })

  it("the dual encoder and the loss throw EmbeddingOptionError (usage), not RangeError", () => {
    const model = small()
    const cases: ReadonlyArray<readonly [() => unknown, string, RegExp]> = [
      [() => DualEncoder.make({ pooling: "max" as never }), "config", /invalid DualEncoder config/],
      [
        () => DualEncoder.make({ dimensions: 32, matryoshkaDimensions: [16, 8, 32] }),
        "matryoshkaDimensions",
        /must ascend/
      ],
      [() => DualEncoder.encodeTexts(model, ["a"], "query", 64), "dimensions", /dimensions must be an integer/],
      [() => DualEncoder.fitLexical(model, ["a"]), "lexical", /lexical config/],
      [() => DualEncoder.withLexicalWeight(model, 0.5), "lexical", /lexical channel/],
      [() => DualEncoder.fitFeatureWeights(model, ["a"]), "featureWeighting", /featureWeighting/],
      [() => Featurizer.make({ buckets: 3 }), "featurizer", /buckets must be an integer/],
      [() => Featurizer.make({ charNgrams: [], words: false }), "featurizer", /needs char n-grams or words/],
      [() => Lexical.make({ ...Lexical.defaultConfig, weight: 2 }), "lexical", /must be in \[0, 1\]/],
      [
        () =>
          Loss.compute(
            {
              size: 1,
              negativeCount: 0,
              width: 4,
              logTemperature: 0,
              queries: new Float64Array(4),
              positives: new Float64Array(4),
              negatives: new Float64Array(0),
              weights: new Float64Array([1])
            },
            { dimensions: [8], queryQuery: false, documentDocument: false, falseNegativeMargin: null }
          ),
        "dimensions",
        /Matryoshka dimension 8 is outside 1..4/
      ]
    ]
    for (const [f, option, message] of cases) {
      const e = thrown(f)
      assert.instanceOf(e, EmbeddingOptionError.EmbeddingOptionError)
      assert.strictEqual((e as EmbeddingOptionError.EmbeddingOptionError).option, option)
      assert.match((e as Error).message, message)
      assert.strictEqual(Failure.classify(e).class, "usage")
    }
  })

  it("FeaturizeError (a text with nothing to featurize) is bad input", () => {
    const e = thrown(() => Featurizer.make().featurize("   "))
    assert.instanceOf(e, Featurizer.FeaturizeError)
    assert.strictEqual(Failure.classify(e).class, "input")
  })
})
