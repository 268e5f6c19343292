import { assert, describe, it } from "@effect/vitest"
import { TrainingArgs } from "@ssra/embedding"
import { PipelineConfig } from "@ssra/pipeline"
import { Effect } from "effect"

const withTraining = (training: Record<string, unknown>) => PipelineConfig.merge(PipelineConfig.defaults, { training })

describe("PipelineConfig training section", () => {
  it.effect("keeps its keys and defaults; epochs, batchSize and learningRate are the trainer's field schemas", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(PipelineConfig.defaults.training, {
        dimensions: 64,
        buckets: 1 << 18,
        epochs: 2,
        batchSize: 64,
        weightScheme: "raw",
        hardNegatives: 0,
        // the lexical channel is on by default, α selected on held-out labeled queries
        lexical: { ...PipelineConfig.lexicalDefaults }
      })
      const fields = PipelineConfig.Config.fields.training.fields
      assert.strictEqual(fields.epochs, TrainingArgs.TrainingArgs.fields.epochs)
      assert.strictEqual(fields.batchSize, TrainingArgs.TrainingArgs.fields.batchSize)
      const ok = yield* PipelineConfig.decodeResolved(withTraining({ epochs: 3, batchSize: 2, learningRate: 0.1 }))
      assert.deepInclude(ok.training, { epochs: 3, batchSize: 2, learningRate: 0.1 })
      const defaulted = yield* PipelineConfig.decodeResolved(PipelineConfig.defaults)
      assert.notProperty(defaulted.training, "learningRate")
      for (const [training, field, words] of [
        [{ batchSize: 1 }, "batchSize", "an integer ≥ 2"],
        [{ epochs: 0 }, "epochs", "a positive integer"],
        [{ learningRate: 0 }, "learningRate", "a number > 0"],
        [{ learningRate: -0.5 }, "learningRate", "a number > 0"]
      ] as const) {
        const error = yield* Effect.flip(PipelineConfig.decodeResolved(withTraining(training)))
        assert.include(error.message, `["training"]["${field}"]`)
        assert.include(error.message, words)
      }
    })
  )
})
