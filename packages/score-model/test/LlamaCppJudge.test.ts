import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade } from "@ssra/core"
import { LlamaCpp } from "@ssra/llm"
import { LlmJudge } from "@ssra/score-model"
import { writeTinyLlamaGguf } from "@ssra/test-support"
import { Effect } from "effect"

describe("LlmJudge on a local GGUF (node-llama-cpp)", () => {
  it("grades through the JSON-schema grammar and falls back to samples (no logprobs locally)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-judge-gguf-"))
    const file = path.join(dir, "tiny.gguf")
    try {
      writeTinyLlamaGguf(file)
      const { outcomes, counts } = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const client = yield* LlamaCpp.make({ modelPath: file, threads: 1, gpu: false, contextSize: 4096 })
            const judge = LlmJudge.make({
              client,
              scale: Grade.scale(2),
              samples: 3,
              seed: 5,
              maxTokens: 64,
              concurrency: 1
            })
            return yield* judge.judge([
              { query: "bee film", doc: "bee documentary" },
              { query: "cat", doc: "car repair" }
            ])
          })
        )
      )
      // a random-weight model: what is checked is the path, not the grade
      assert.strictEqual(outcomes.length, 2)
      assert.strictEqual(counts.judged + counts.rejected, 2)
      for (const o of outcomes) {
        if (o._tag === "Judged") {
          assert.strictEqual(o.method, "samples")
          assert.strictEqual(o.judgment.probabilities.length, 3)
          assert.closeTo(
            o.judgment.probabilities.reduce((s, p) => s + p, 0),
            1,
            1e-12
          )
          assert.strictEqual(o.validSamples + o.invalidSamples, 3)
        } else {
          assert.include(
            ["empty", "no-json", "missing-grade", "not-an-integer", "out-of-scale", "no-valid-sample"],
            o.reason
          )
        }
      }
      // the grammar built from the grade schema (enum 0..2) only lets valid answers through
      assert.strictEqual(counts.judged, 2)
      assert.strictEqual(counts.invalidSamples, 0)
      assert.deepStrictEqual(counts.byMethod, { logprobs: 0, samples: 2 })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
