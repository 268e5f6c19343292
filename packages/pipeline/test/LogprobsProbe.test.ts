import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { type ChatReply, startOpenAiServer } from "@ssra/test-support"
import { Effect } from "effect"
import { Backends, Pipeline, Plan, Prepare } from "../src/index.js"
import { tinyConfig } from "./fixtures/tiny.js"

// A local OpenAI-wire server (the boundary we do not own) that grades every pair 1; with `logprobs` it sends the
// grade token's alternatives, without it it sends none and answers one choice whatever `n` is (like ollama).
const startServer = (logprobs: boolean) =>
  startOpenAiServer({
    models: ["m"],
    choices: (request: { n?: number }): ReadonlyArray<ChatReply> =>
      logprobs
        ? Array.from({ length: Math.max(1, request.n ?? 1) }, () => ({
            content: '{"grade": 1}',
            logprobs: [
              { token: '{"grade": ', logprob: -0.01 },
              { token: "1", logprob: -0.2, top: [["1", -0.2] as const, ["2", -1.8] as const] },
              { token: "}", logprob: -0.01 }
            ]
          }))
        : ['{"grade": 1}']
  })

const chatRequests = (server: { received: ReadonlyArray<{ path: string; body: any }> }) =>
  server.received.filter((r) => r.path.endsWith("/chat/completions"))

const judgeConfig = (baseUrl: string, llm: Record<string, unknown> = {}) =>
  tinyConfig(fs.mkdtempSync(path.join(os.tmpdir(), "ssra-probe-")), {
    backends: { scoreModel: "llm", llm: { baseUrl, model: "m", maxInFlight: 8, ...llm } },
    stage2: { enabled: false }
  })

const systems = ["base", "ssra"] as const

const planOf = (config: ReturnType<typeof judgeConfig>, logprobs?: Backends.Logprobs) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const files = yield* Prepare.dataFiles(config)
      const { dataset } = yield* Prepare.loadFiles(config, files, fs.mkdtempSync(path.join(os.tmpdir(), "rj-")))
      return Plan.make(config, dataset, systems, logprobs)
    })
  )

const llmCalls = (plan: ReadonlyArray<Plan.PlannedStage>) =>
  plan.filter((s) => s.backend === "llm").map((s) => [s.stage, s.calls] as const)

describe("whether the endpoint returns logprobs: config, preset, else one probe request", () => {
  it("an endpoint without logprobs: one probe, the plan counts 5 sampled requests per grading, the manifest says probe", async () => {
    const server = await startServer(false)
    try {
      const config = judgeConfig(server.url)
      const answer = await Effect.runPromise(
        Backends.logprobsOf(config.backends.llm!).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.deepStrictEqual(answer, { value: false, source: "probe", maxN: 1 })
      const probes = chatRequests(server)
      assert.strictEqual(probes.length, 1)
      assert.deepInclude(probes[0]!.body, { logprobs: true, top_logprobs: 5, max_tokens: 1, model: "m" })
      // the same gradings, priced at one request each when logprobs come back and ⌈5 / 1⌉ when they do not
      const sampled = llmCalls(await planOf(config, answer))
      const one = llmCalls(await planOf(judgeConfig(server.url, { logprobs: true })))
      assert.isAbove(sampled.length, 0)
      assert.deepStrictEqual(
        sampled,
        one.map(([stage, calls]) => [stage, calls * 5] as const)
      )
      // the run asks once more, records the answer, and its judge samples without asking for logprobs again
      await Effect.runPromise(
        Pipeline.run({ config, systems, references: false, until: "score-model" }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      const manifest = JSON.parse(fs.readFileSync(path.join(config.runDir, "manifest.json"), "utf8"))
      assert.deepStrictEqual(manifest.llm.logprobs, { value: false, source: "probe", maxN: 1 })
      const after = chatRequests(server).slice(1)
      assert.strictEqual(after[0]!.body.max_tokens, 1) // the run's own probe
      assert.isAbove(after.length, 1)
      assert.isTrue(after.slice(1).every((r) => r.body.logprobs !== true))
    } finally {
      await server.close()
    }
  }, 300_000)

  it("an endpoint with logprobs: the probe says so and the plan counts one request per grading", async () => {
    const server = await startServer(true)
    try {
      const config = judgeConfig(server.url)
      const answer = await Effect.runPromise(
        Backends.logprobsOf(config.backends.llm!).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.deepStrictEqual(answer, { value: true, source: "probe" })
      assert.strictEqual(chatRequests(server).length, 1)
      const planned = llmCalls(await planOf(config, answer))
      assert.deepStrictEqual(planned, llmCalls(await planOf(judgeConfig(server.url, { logprobs: true }))))
      const judged = planned.find(([stage]) => stage === "score-model")
      assert.isDefined(judged)
      assert.isAbove(judged![1], 0)
    } finally {
      await server.close()
    }
  }, 120_000)

  it("the config's or the preset's word sends no probe; a local GGUF needs none", async () => {
    const server = await startServer(false)
    try {
      const said = await Effect.runPromise(
        Effect.all([
          Backends.logprobsOf({ baseUrl: server.url, model: "m", logprobs: true }),
          Backends.logprobsOf({ baseUrl: server.url, model: "m", logprobs: false }),
          Backends.logprobsOf({ baseUrl: server.url, model: "m", preset: "ollama" }),
          Backends.logprobsOf({ gguf: "models/x.gguf" })
        ]).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.deepStrictEqual(said, [
        { value: true, source: "config" },
        { value: false, source: "config" },
        { value: true, source: "preset" },
        { value: false, source: "gguf" }
      ])
      assert.strictEqual(chatRequests(server).length, 0)
    } finally {
      await server.close()
    }
  })

  it("a probe with no usable answer assumes no logprobs (the plan's upper bound) and says why", async () => {
    const server = await startOpenAiServer({ models: ["m"], respond: () => ({ kind: "error", status: 503 }) })
    try {
      const answer = await Effect.runPromise(
        Backends.logprobsOf({ baseUrl: server.url, model: "m" }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.deepStrictEqual(answer, { value: false, source: "assumed", detail: "the probe got HTTP 503" })
    } finally {
      await server.close()
    }
  })
})
