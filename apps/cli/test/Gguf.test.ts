// `ssra run --gguf FILE`: the LLM-backed stages on a local GGUF run in-process by node-llama-cpp. The model is a tiny
// random-weight llama written by the test (@ssra/test-support's writeTinyLlamaGguf): its grades are noise, but JSON-schema grammars make
// them parseable, so the whole loop runs on the real local-model code path.
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { writeTinyLlamaGguf } from "@ssra/test-support"
import { Effect } from "effect"
import { ExitCode } from "../src/index.js"
import { runCli } from "./support/runCli.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-gguf-"))
const bundled = path.resolve(import.meta.dirname, "../../../data/kuake_qtr")

// the run export tests' small config (runSmall), smaller still: every grading is a local generation
const smallRun = (dir: string, extra: ReadonlyArray<string>) => {
  const config = {
    data: { sample: { labeledQueries: 16, unlabeledRows: 8 } },
    backends: { llm: { threads: 1, contextSize: 8192 } },
    queryModel: { maxTrainingDocs: 2, candidatesPerDoc: 2 },
    stage1: { enabled: false },
    stage2: { enabled: false },
    synthesis: { documents: 3 },
    training: { dimensions: 16, buckets: 2048, epochs: 1, batchSize: 16 },
    evaluation: { bootstrapSamples: 20 },
    generation: { chunkSize: 4 }
  }
  fs.writeFileSync(path.join(dir, "ssra.json"), JSON.stringify(config))
  const runDir = path.join(dir, "run")
  const argv = ["run", "--config", path.join(dir, "ssra.json"), "--data", bundled, "--skip-invalid"]
  return Effect.map(runCli([...argv, "--run-dir", runDir, ...extra]), (result) => ({ ...result, runDir }))
}

describe("ssra run --gguf", () => {
  it.effect(
    "runs the LLM score model on a local GGUF in-process; the manifest names the file and its hash",
    () =>
      Effect.gen(function* () {
        const dir = tmp()
        const model = path.join(dir, "tiny.gguf")
        writeTinyLlamaGguf(model)
        const sha256 = createHash("sha256").update(fs.readFileSync(model)).digest("hex")
        const run = yield* smallRun(dir, ["--gguf", model, "--score-model", "llm"])
        assert.strictEqual(run.code, 0, run.output)
        const manifest = JSON.parse(fs.readFileSync(path.join(run.runDir, "manifest.json"), "utf8"))
        assert.strictEqual(manifest.status, "complete")
        assert.strictEqual(manifest.config.backends.llm.gguf, model)
        assert.strictEqual(manifest.config.backends.scoreModel, "llm")
        const score = manifest.stages.find((s: { stage: string }) => s.stage === "score-model")
        assert.strictEqual(score.components[0].config.kind, "llm")
        assert.include(JSON.stringify(score.components), `tiny.gguf@sha256:${sha256}`)
        assert.isAbove(manifest.totals.llmCalls, 0)
        assert.isAbove(manifest.totals.completionTokens, 0)
        // grammar-constrained answers parse even from random weights: nothing was set aside as unparseable
        assert.strictEqual(manifest.llm.stages.score.failedCalls, 0)
        assert.notInclude(JSON.stringify(score.counts), '"rejected":1')
        // a rerun answers from the run's response cache: no new generation
        const again = yield* smallRun(dir, ["--gguf", model, "--score-model", "llm"])
        assert.strictEqual(again.code, 0, again.output)
        const second = JSON.parse(fs.readFileSync(path.join(run.runDir, "manifest.json"), "utf8"))
        assert.strictEqual(second.totals.completionTokens, 0)
      }),
    300_000
  )

  it.effect("a missing or non-GGUF file is a usage error naming the path, before any work", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const missing = path.join(dir, "nope.gguf")
      const run = yield* smallRun(dir, ["--gguf", missing, "--score-model", "llm"])
      assert.strictEqual(run.code, ExitCode.codes.usage)
      assert.include(run.output, `backends.llm.gguf ${missing}: no such file`)
      assert.isFalse(fs.existsSync(path.join(run.runDir, "artifacts")), "nothing was prepared")
      const corrupt = path.join(dir, "corrupt.gguf")
      fs.writeFileSync(corrupt, "not a model")
      const bad = yield* smallRun(dir, ["--gguf", corrupt, "--score-model", "llm"])
      assert.strictEqual(bad.code, ExitCode.codes.usage)
      assert.include(bad.output, `backends.llm.gguf ${corrupt}: is not a GGUF file`)
    })
  )
})
