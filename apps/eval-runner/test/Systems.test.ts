import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { it } from "@effect/vitest"
import { DualEncoder, Featurizer } from "@ssra/embedding"
import { ResultFile } from "@ssra/evaluation"
import { startOpenAiServer } from "@ssra/test-support"
import { Console, Effect, Layer } from "effect"
import { assert, describe } from "vitest"
import { Cli } from "../src/index.js"

const dir = mkdtempSync(join(tmpdir(), "ssra-eval-systems-"))
const pairsFile = new URL("../../../data/kuake_qtr/pair_test.jsonl", import.meta.url).pathname
writeFileSync(join(dir, "pairs.jsonl"), readFileSync(pairsFile, "utf8").split("\n").slice(0, 240).join("\n") + "\n")

const quiet: Console.Console = { ...globalThis.console, log: () => {}, error: () => {} }
const run = (argv: ReadonlyArray<string>) =>
  Cli.run(argv).pipe(
    Effect.provideService(Console.Console, quiet),
    Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici))
  )

/** An OpenAI-compatible /v1/embeddings server (the wire format of vLLM/OpenAI): hashed character bigrams. */
const startServer = () =>
  Effect.promise(() =>
    startOpenAiServer({
      usage: { promptTokens: 1 },
      embed: (input) =>
        input.map((text) => {
          const v = new Array<number>(256).fill(0)
          const cs = [...text]
          for (let i = 0; i + 1 < cs.length; i++)
            v[((cs[i]!.codePointAt(0)! * 31 + cs[i + 1]!.codePointAt(0)!) >>> 0) % 256]! += 1
          return v
        })
    })
  )

describe("systems", () => {
  it.effect("a DualEncoder checkpoint and a remote embeddings endpoint run as systems (128-dim pair preset)", () =>
    Effect.gen(function* () {
      const model = DualEncoder.make(
        {
          featurizer: { ...Featurizer.defaultConfig, buckets: 4096, words: false },
          dimensions: 256,
          matryoshkaDimensions: [128, 256]
        },
        7
      )
      yield* DualEncoder.save(model, join(dir, "model"))
      const server = yield* startServer()
      writeFileSync(
        join(dir, "suite.yaml"),
        `name: systems
output: out
datasets: [{ name: kuake-small, pairs: pairs.jsonl }]
systems:
  - { name: trained, kind: checkpoint, path: model }
  - { name: remote, kind: remote, model: test-embedder, baseUrl: "${server.url}", apiKeyEnv: SSRA_EVAL_TEST_KEY, dimensions: 256 }
bootstrap: { resamples: 100, permutations: 200 }
`
      )
      process.env.SSRA_EVAL_TEST_KEY = "sk-test"
      const code = yield* run(["run", join(dir, "suite.yaml")])
      yield* Effect.promise(() => server.close())
      assert.strictEqual(code, 0)
      const results = yield* ResultFile.read(join(dir, "out", "results.json"))
      const trained = results.find((r) => r.ssra.model_name === "trained")!
      const remote = results.find((r) => r.ssra.model_name === "remote")!
      assert.strictEqual(trained.ssra.config.dimensions, 128)
      assert.strictEqual(remote.ssra.config.dimensions, 128)
      for (const r of [trained, remote]) {
        assert.isNumber(r.ssra.metrics.ap_ge_1)
        assert.isNumber(r.ssra.metrics.max_ap_ge_1)
      }
      assert.isAbove(server.requests.length, 0)
      delete process.env.SSRA_EVAL_TEST_KEY
      const noKey = yield* run(["run", join(dir, "suite.yaml")])
      assert.strictEqual(noKey, 4)
    })
  )
})
