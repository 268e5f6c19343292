import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Failure } from "@ssra/core"
import { writeTinyLlamaGguf } from "@ssra/test-support"
import { Effect, Exit, Schema } from "effect"
import { LlamaCpp } from "../src/index.js"

const Verdict = Schema.Struct({ grade: Schema.Literals([0, 1, 2, 3]) })

describe("LlamaCpp", () => {
  it("a tiny random-weight GGUF written by the test answers a structured request and embeds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-gguf-"))
    const file = path.join(dir, "tiny.gguf")
    try {
      const bytes = writeTinyLlamaGguf(file)
      assert.isBelow(bytes, 1_000_000)
      const out = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const client = yield* LlamaCpp.make({
              modelPath: file,
              threads: 1,
              gpu: false,
              contextSize: 512,
              maxTokens: 48
            })
            const structured = yield* client.completeObject(
              {
                messages: [
                  { role: "system", content: "You grade relevance." },
                  { role: "user", content: "query: 蜜蜂 document: 蜜蜂纪录片" }
                ],
                seed: 3,
                temperature: 0.7
              },
              Verdict
            )
            const vectors = yield* client.embedder.embed(["蜜蜂", "document text"], { kind: "query" })
            return { structured, vectors, dims: client.embedder.dimensions }
          })
        )
      )
      assert.include([0, 1, 2, 3], out.structured.value.grade)
      assert.isAbove(out.structured.response.usage.promptTokens, 0)
      assert.strictEqual(out.vectors.length, 2)
      assert.strictEqual(out.vectors[0]!.length, out.dims)
      const norm = Math.sqrt(out.vectors[0]!.reduce((s, x) => s + x * x, 0))
      assert.closeTo(norm, 1, 1e-4)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("says how to install node-llama-cpp when it is absent", async () => {
    const exit = await Effect.runPromise(
      Effect.exit(Effect.scoped(LlamaCpp.make({ modelPath: "x.gguf", moduleName: "node-llama-cpp-not-installed" })))
    )
    assert.isTrue(Exit.isFailure(exit))
    const error = (exit as any).cause.reasons[0].error
    assert.strictEqual(error.reason, "not-installed")
    assert.strictEqual(Failure.classify(error).class, "backend-missing")
    assert.include(error.message, "install node-llama-cpp")
  })
})
