import { assert, describe, it } from "@effect/vitest"
import { DualEncoder, EmbeddingTrainer, Featurizer, TrainingArgs } from "@ssra/embedding"
import { Result } from "effect"

const decodeOk = (input: unknown) => {
  const decoded = TrainingArgs.decode(input)
  if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
  return decoded.success
}

const decodeError = (input: unknown) => {
  const decoded = TrainingArgs.decode(input)
  if (Result.isSuccess(decoded)) throw new Error(`accepted ${JSON.stringify(input)}`)
  return decoded.failure
}

describe("TrainingArgs", () => {
  it("absent keys take the defaults, in the field order the checkpoint records", () => {
    assert.deepStrictEqual(decodeOk({}), TrainingArgs.defaults)
    assert.strictEqual(EmbeddingTrainer.defaultArgs, TrainingArgs.defaults)
    const given = {
      seed: 42,
      hardNegatives: { k: 2, margin: 0.05, source: "start", dimensions: 64, guardMinGrade: 2 },
      epochs: 2,
      falseNegativeMargin: null
    } as const
    const decoded = decodeOk(given)
    // the provenance in config.json is this object as JSON: its bytes must be what `{ ...defaults, ...given }` gave
    assert.strictEqual(JSON.stringify(decoded), JSON.stringify({ ...TrainingArgs.defaults, ...given }))
    assert.deepStrictEqual(Object.keys(decoded), Object.keys(TrainingArgs.TrainingArgs.fields))
  })

  it("accepts the values the trainer always accepted at the edges", () => {
    const edges: ReadonlyArray<Record<string, unknown>> = [
      { batchSize: 2 },
      { maxNegativesPerRow: 0 },
      { falseNegativeMargin: 0 },
      { seed: -3 },
      { seed: 0 },
      { gradeScaleMax: 1 },
      { matryoshkaDimensions: [8] },
      { evaluateEvery: 1, checkpointEvery: 1, maxSteps: 1, earlyStoppingPatience: 1 },
      { hardNegatives: { k: 1, margin: 0, source: "current", dimensions: 1, guardMinGrade: -1 } },
      { learningRate: 1e-9, temperature: 1e3, temperatureLearningRate: 5 }
    ]
    for (const input of edges) assert.deepInclude(decodeOk(input), input)
  })

  it("names each bad field with what it must be and what it got", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ epochs: 0 }, "epochs: expected a positive integer, got 0"],
      [{ epochs: 1.5 }, "epochs: expected a positive integer, got 1.5"],
      [{ batchSize: 1 }, "batchSize: expected an integer ≥ 2 (in-batch negatives need another row), got 1"],
      [{ learningRate: Number.NaN }, "learningRate: expected a number > 0, got NaN"],
      [{ temperature: Number.POSITIVE_INFINITY }, "temperature: expected a number > 0, got Infinity"],
      [{ falseNegativeMargin: -0.1 }, "falseNegativeMargin: expected a number ≥ 0, got -0.1"],
      [{ maxNegativesPerRow: -1 }, "maxNegativesPerRow: expected an integer ≥ 0, got -1"],
      [{ gradeScaleMax: 5 }, "gradeScaleMax: expected 1 | 2 | 3, got 5"],
      [{ seed: 0.5 }, "seed: expected an integer, got 0.5"],
      [{ evaluateEvery: 0 }, "evaluateEvery: expected a positive integer, got 0"],
      [{ matryoshkaDimensions: [] }, "matryoshkaDimensions: expected a non-empty list"],
      [{ learnTemperature: "yes" }, 'learnTemperature: expected boolean, got "yes"'],
      [{ learningrate: 0.1 }, "learningrate: unexpected key"],
      [{ hardNegatives: { k: 2, margin: 1, source: "start", dimensions: 8, guardMinGrade: 2 } }, "hardNegatives.margin"]
    ]
    for (const [input, words] of cases) {
      const error = decodeError(input)
      assert.strictEqual(error._tag, "TrainingError")
      assert.strictEqual(error.reason, "invalid-args")
      assert.include(error.message, words)
    }
    // every bad field at once, and the hardNegatives hint
    const many = decodeError({ epochs: 0, hardNegatives: { k: 2 } })
    assert.include(many.detail, "epochs: expected a positive integer")
    assert.include(many.detail, "hardNegatives.source: missing key")
    assert.include(many.hint ?? "", "give every field of hardNegatives")
  })

  it("checkModel bounds the mined and loss prefixes by the model's width", () => {
    const model = DualEncoder.make(
      { featurizer: { ...Featurizer.defaultConfig, buckets: 64 }, dimensions: 16, matryoshkaDimensions: [8, 16] },
      1
    )
    assert.isUndefined(TrainingArgs.checkModel(TrainingArgs.defaults, model))
    const wide = TrainingArgs.checkModel({ ...TrainingArgs.defaults, matryoshkaDimensions: [32] }, model)
    assert.include(wide?.message ?? "", "matryoshkaDimensions [32] must be integers in 1..16")
    const mined = TrainingArgs.checkModel(
      {
        ...TrainingArgs.defaults,
        hardNegatives: { k: 2, margin: 0.05, source: "start", dimensions: 64, guardMinGrade: 2 }
      },
      model
    )
    assert.include(mined?.message ?? "", "hardNegatives.dimensions must be an integer in 1..16, got 64")
  })
})
