import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { PairwiseConsistencyFilter, PairwiseJudge } from "@ssra/filters"
import { LlamaCpp } from "@ssra/llm"
import { writeTinyLlamaGguf } from "@ssra/test-support"
import { Effect } from "effect"
import { candidate } from "./fixtures.js"

// The real local-GGUF path: node-llama-cpp loads a tiny random-weight llama written by the test; the judge's
// JSON-schema grammar ({"better": "A" | "B" | "tie"}) makes even random weights answer in the expected form.
describe("PairwiseJudge over a local GGUF (node-llama-cpp)", () => {
  it("answers every question in both orders and the filter accounts for every pair", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "judge-gguf-"))
    const file = path.join(dir, "tiny.gguf")
    try {
      writeTinyLlamaGguf(file)
      const result = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const client = yield* LlamaCpp.make({
              modelPath: file,
              threads: 1,
              gpu: false,
              contextSize: 2048,
              maxTokens: 24
            })
            const judge = PairwiseJudge.fromChat(client, { concurrency: 1 })
            const answers = yield* judge.compare([{ doc: "蜜蜂纪录片", first: "蜜蜂", second: "汽车" }])
            const filtered = yield* PairwiseConsistencyFilter.make({ judge }).apply([
              candidate("hi", "d", "蜜蜂纪录片", 3, "蜜蜂纪录片"),
              candidate("lo", "d", "昆虫", 1, "蜜蜂纪录片")
            ])
            return { answers, filtered }
          })
        )
      )
      assert.strictEqual(result.answers.length, 1)
      assert.include(["First", "Second", "Tie"], result.answers[0]!._tag)
      const s = result.filtered.statistics!
      assert.strictEqual(s.pairs, 1)
      assert.strictEqual(s.consistent! + s.contradicted! + s.ties! + s.positionFlips! + s.invalidPairs!, 1)
      assert.strictEqual(result.filtered.counts.input, 2)
      assert.strictEqual(result.filtered.kept.length + result.filtered.rejected.length, 2)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
