import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Document } from "@ssra/core"
import { LlamaCpp } from "@ssra/llm"
import { FineTunedQueryModel, PromptQueryModel } from "@ssra/query-model"
import { writeTinyLlamaGguf } from "@ssra/test-support"
import { Effect } from "effect"

// The real local-GGUF path: node-llama-cpp loads a tiny random-weight llama written by the test, and the query
// models call it through @ssra/llm's ChatClientShape with the JSON-schema grammar of {"queries": [...]}.
describe("query models over a local GGUF (node-llama-cpp)", () => {
  it("the fine-tuned and prompt-only writers run end to end and return well-formed provenance", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qm-gguf-"))
    const file = path.join(dir, "tiny.gguf")
    try {
      writeTinyLlamaGguf(file)
      const document = Document.make({ id: "d1", title: "蜜蜂纪录片" })
      const result = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const client = yield* LlamaCpp.make({
              modelPath: file,
              threads: 1,
              gpu: false,
              contextSize: 4096,
              maxTokens: 48
            })
            const fineTuned = FineTunedQueryModel.make({ client, maxRounds: 1, label: "stage1" })
            const prompt = PromptQueryModel.make({ client })
            const a = yield* Effect.exit(fineTuned.generate([{ document, targetGrade: 2, n: 1, seed: 3 }]))
            const b = yield* Effect.exit(prompt.generate([{ document, targetGrade: 1, n: 1, seed: 3 }]))
            return { a, b, id: client.id }
          })
        )
      )
      // random weights write random strings; under the grammar they are still {"queries": [...]}, so either the
      // writers return queries with provenance, or (a string never closed before the token limit) a typed
      // invalid-output error carrying the raw text
      for (const [exit, promptVersion, grade] of [
        [result.a, "ssra-sft-query/v1", 2],
        [result.b, "sycl-modified-query/v1", 1]
      ] as const) {
        if (exit._tag === "Success") {
          const [queries] = exit.value
          assert.isAtLeast(queries!.length, 1)
          for (const q of queries!) {
            assert.isAbove(q.query.trim().length, 0)
            assert.strictEqual(q.targetGrade, grade)
            assert.strictEqual(q.generator.promptVersion, promptVersion)
            assert.include(q.generator.id, result.id)
          }
        } else {
          const error = (exit.cause as any).reasons[0].error
          assert.strictEqual(error._tag, "ModelError")
          assert.strictEqual(error.reason, "invalid-output")
          // the grammar held: the raw text is the start of {"queries": [...]}, cut off at the token limit
          assert.match(error.raw, /^\{\s*"queries"\s*:\s*\[/)
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
