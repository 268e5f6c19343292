import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { startOpenAiServer } from "@ssra/test-support"
import { Effect } from "effect"
import { Backends, Pipeline } from "../src/index.js"
import { tinyConfig } from "./fixtures/tiny.js"

// A local server speaking the OpenAI chat-completions wire format (the boundary we do not own). It answers each
// request with a query cut from the document in the prompt, as a JSON object, like a structured-output LLM.
const startServer = () =>
  startOpenAiServer({
    models: ["m"],
    usage: { promptTokens: 40, completionTokens: 8 },
    chat: (
      request: {
        messages: Array<{ content: string }>
        response_format?: { json_schema?: { name?: string } }
      },
      i,
      call
    ) => {
      const calls = call + 1
      const prompt = request.messages.map((m) => m.content).join("\n")
      const last = request.messages.at(-1)!.content
      const han = (last.match(/\p{Script=Han}{4,}/gu) ?? ["查询"]).sort((a, b) => b.length - a.length)[0]!
      const name = request.response_format?.json_schema?.name ?? ""
      // a deterministic stand-in for a model: queries cut from the document, grades from text overlap
      return prompt.includes("画面文字（OCR）")
        ? `视频介绍${han.slice(0, 6)}`
        : name === "queries"
          ? JSON.stringify({ queries: [han.slice(0, 3 + ((calls + i) % 5))] })
          : /"better"/.test(prompt)
            ? JSON.stringify({ better: last.length % 2 === 0 ? "A" : "B" })
            : JSON.stringify({ grade: (last.length + i) % 4 })
    }
  })

/**
 * Prompt-only synthesis of 12 documents (36 calls) at 40 prompt + 8 completion tokens per call and 1000 / 2000 USD
 * per million tokens: 0.056 USD a call, capped at `maxCostUsd`.
 */
const budgetConfig = (runDir: string, baseUrl: string, maxCostUsd: number) =>
  tinyConfig(runDir, {
    backends: {
      // maxInFlight 4: the prompt query model keeps maxInFlight calls in flight, so the spend at the cap is fixed
      llm: {
        baseUrl,
        model: "m",
        maxAttempts: 1,
        maxInFlight: 4,
        pricePerMillionInput: 1000,
        pricePerMillionOutput: 2000,
        maxCostUsd
      }
    },
    stage1: { enabled: false },
    stage2: { enabled: false },
    synthesis: { documents: 12 }
  })

describe("LLM backends through an OpenAI-compatible endpoint", () => {
  it("sends the key from SSRA_LLM_API_KEY when the config names no apiKeyEnv (the flags-only way)", async () => {
    const server = await startServer()
    const before = process.env.SSRA_LLM_API_KEY
    process.env.SSRA_LLM_API_KEY = "sk-flags-only"
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-key-"))
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const { client } = yield* Backends.llm({ baseUrl: server.url, model: "m", maxAttempts: 1 }, runDir, "test")
            yield* client.complete({ messages: [{ role: "user", content: "头疼怎么办" }], stage: "test" })
          })
        ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      const chat = server.received.filter((r) => r.path.includes("/chat/completions"))
      assert.isAbove(chat.length, 0)
      assert.strictEqual(chat[0]!.headers.authorization, "Bearer sk-flags-only")
    } finally {
      if (before === undefined) delete process.env.SSRA_LLM_API_KEY
      else process.env.SSRA_LLM_API_KEY = before
      await server.close()
    }
  })

  it("generates, gates and trains the prompt-only system; the rerun answers from the cache", async () => {
    const server = await startServer()
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-llm-"))
      const config = tinyConfig(runDir, {
        backends: { llm: { baseUrl: server.url, model: "m", maxAttempts: 1 } },
        stage1: { enabled: false },
        stage2: { enabled: false },
        synthesis: { documents: 12 }
      })
      const result = await Effect.runPromise(
        Pipeline.run({ config, systems: ["base", "prompt-only"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      const row = result.rows.find((r) => r.system === "prompt-only")!
      assert.strictEqual(row.status, "ok")
      assert.isNumber(row.retrieval?.ssra.metrics.ndcg_at_10)
      const calls = server.calls()
      assert.strictEqual(calls, 12 * 3)
      const manifest = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"))
      const synthesis = manifest.stages.find((s: { stage: string }) => s.stage === "synthesis:prompt-only")
      assert.strictEqual(synthesis.counts.candidates, 36)
      // every stage records the process's peak memory so far, which never decreases along the run
      const peaks = manifest.stages.map((s: { maxRssMiB: number }) => s.maxRssMiB)
      assert.isTrue(peaks.every((p: number) => Number.isInteger(p) && p > 0))
      assert.deepStrictEqual(
        peaks,
        [...peaks].sort((a: number, b: number) => a - b)
      )
      assert.include(result.reportMarkdown, "prompt-only synthesis (LLM)")
      fs.rmSync(
        path.join(
          runDir,
          "artifacts",
          fs.readdirSync(path.join(runDir, "artifacts")).find((n) => n.startsWith("synthesis:prompt-only-"))!
        ),
        { recursive: true }
      )
      await Effect.runPromise(
        Pipeline.run({ config, systems: ["base", "prompt-only"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      assert.strictEqual(server.calls(), calls, "the rerun was served from the response cache")
    } finally {
      await server.close()
    }
  }, 120_000)
})

describe("LLM backends: the cost cap (maxCostUsd)", () => {
  it("maxCostUsd caps the run, not one invocation: spend adds up across reruns, a spent cap stops at once", async () => {
    const server = await startServer()
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-budget-"))
      // 40 prompt + 8 completion tokens per call at 1000 / 2000 USD per million: 0.056 USD a call; 4 calls in flight
      // reserve ≈ 1 USD of the cap, so a cap of 2 stops the first invocation part way
      const config = (maxCostUsd: number) => budgetConfig(runDir, server.url, maxCostUsd)
      const run = (cap: number) =>
        Effect.runPromise(
          Effect.flip(Pipeline.run({ config: config(cap), systems: ["base", "prompt-only"], references: false })).pipe(
            Effect.provide(NodeHttpClient.layerUndici)
          )
        )
      const manifest = () => JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))

      const first = await run(2)
      assert.strictEqual((first as { reason?: string }).reason, "budget")
      const afterFirst = manifest()
      assert.strictEqual(afterFirst.status, "failed")
      assert.isAbove(afterFirst.totals.llmCalls, 0, "a failed invocation records what it spent")
      assert.strictEqual(afterFirst.llmCumulative.invocations, 1)
      assert.isAtMost(afterFirst.llmCumulative.costUsd, 2 + 1e-9)
      // requests the stopped invocation had already sent may still be arriving: let them land first
      await new Promise((resolve) => setTimeout(resolve, 300))
      const callsAfterFirst = server.calls()

      // the same cap again: already spent, so nothing is asked
      const second = await run(afterFirst.llmCumulative.costUsd)
      assert.strictEqual((second as { reason?: string }).reason, "budget")
      assert.include((second as Error).message, "already spent by earlier invocations")
      assert.strictEqual(server.calls(), callsAfterFirst)
      assert.deepStrictEqual(manifest().llmCumulative, afterFirst.llmCumulative)

      // a raised cap finishes; the cached answers cost nothing and nothing is asked twice
      const result = await Effect.runPromise(
        Pipeline.run({ config: config(10), systems: ["base", "prompt-only"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      const last = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"))
      assert.strictEqual(last.status, "complete")
      // nothing answered is asked twice; only calls cut off in flight by the stop (≤ 4 at once) are asked again
      assert.isAtLeast(server.calls(), 12 * 3)
      assert.isAtMost(server.calls(), 12 * 3 + 4)
      assert.strictEqual(last.llmCumulative.invocations, 2)
      assert.closeTo(last.llmCumulative.costUsd, afterFirst.llmCumulative.costUsd + last.totals.costUsd, 1e-9)
      assert.closeTo(last.llmCumulative.costUsd, 12 * 3 * 0.056, 1e-6)
    } finally {
      await server.close()
    }
  }, 120_000)

  it("a rerun that reaches the cap names the configured maxCostUsd, not the float-noisy budget left", async () => {
    const server = await startServer()
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-budget-message-"))
      // 0.056 USD a call, 36 calls to finish (see above); each call reserves its estimate (≈ 0.24 USD) while in flight,
      // so a cap of 3 stops the first invocation part way, after some answers were paid for
      const run = (maxCostUsd: number) =>
        Effect.runPromise(
          Effect.flip(
            Pipeline.run({
              config: budgetConfig(runDir, server.url, maxCostUsd),
              systems: ["base", "prompt-only"],
              references: false
            })
          ).pipe(Effect.provide(NodeHttpClient.layerUndici))
        )
      const first = await run(3)
      assert.strictEqual((first as { reason?: string }).reason, "budget")
      assert.include((first as Error).message, "budget of 3 USD reached")
      await new Promise((resolve) => setTimeout(resolve, 300))
      const spentBefore = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")).llmCumulative
        .costUsd as number
      assert.isAbove(spentBefore, 0)

      // a cap 0.1 to 0.2 USD above the spend: the rerun starts (the cap is not spent yet), and its first call, with
      // the cap less what was spent before as the budget left, is refused — the message still names the cap
      const cap = (Math.ceil(spentBefore * 10) + 1) / 10
      const rerun = await run(cap)
      const message = (rerun as Error).message
      assert.strictEqual((rerun as { reason?: string }).reason, "budget")
      assert.notInclude(message, "already spent by earlier invocations")
      assert.include(message, `budget of ${cap} USD reached (spent 0.0000 now and ${spentBefore.toFixed(4)} before`)
      assert.include(message, "raise backends.llm.maxCostUsd")
      // what an earlier version printed: the budget left, cap - spent, with binary-float noise
      assert.notInclude(message, `budget of ${cap - spentBefore} `)
      assert.notMatch(message, /budget of \d+\.\d{5,}/)
    } finally {
      await server.close()
    }
  }, 120_000)
})

describe("LLM backends: the LLM judge and the document rewrite", () => {
  it("runs the loop with an LLM judge as the score model and as the pairwise judge, recording tokens", async () => {
    const server = await startServer()
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-judge-"))
      const config = tinyConfig(runDir, {
        backends: {
          scoreModel: "llm",
          llm: { baseUrl: server.url, model: "m", maxAttempts: 1, pricePerMillionInput: 1, pricePerMillionOutput: 2 }
        },
        stage2: { judge: "llm", documents: 8 },
        synthesis: { documents: 10 },
        queryModel: { maxTrainingDocs: 20, candidatesPerDoc: 4 }
      })
      const result = await Effect.runPromise(
        Pipeline.run({ config, systems: ["base", "ssra"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      assert.strictEqual(result.rows.find((r) => r.system === "ssra")?.status, "ok")
      const manifest = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"))
      assert.isAbove(manifest.totals.llmCalls, 0)
      assert.isAbove(manifest.totals.promptTokens, 0)
      assert.isAbove(manifest.totals.costUsd, 0)
      const score = manifest.stages.find((s: { stage: string }) => s.stage === "score-model")
      assert.strictEqual(score.components[0].config.kind, "llm")
      const stage2 = manifest.stages.find((s: { stage: string }) => s.stage === "stage2")
      const judge = stage2.components.find((c: { name: string }) => c.name === "pairwise-judge")
      assert.strictEqual(judge.config.kind, "llm")
      assert.include(judge.id, server.url)
      assert.include(result.reportMarkdown, "LLM judge")
      // the judge's calls are booked under the stage that made them, not all under "score"
      const booked = Object.keys(manifest.llm.stages)
      for (const stage of ["score", "stage1", "query-model:v1", "stage2", "query-model:v2", "synthesis:v2"])
        assert.include(booked, stage)
    } finally {
      await server.close()
    }
  }, 120_000)

  it("rewrites OCR + ASR into a description with the title appended (documents.rewrite: llm)", async () => {
    const server = await startServer()
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-rewrite-"))
      const data = path.join(dir, "data")
      fs.mkdirSync(data)
      const source = path.resolve(import.meta.dirname, "../../../data/kuake_qtr")
      const take = (name: string, n: number) =>
        fs.readFileSync(path.join(source, name), "utf8").split("\n").filter(Boolean).slice(0, n)
      const labeled = take("labeled.jsonl", 120)
      const unlabeled = take("unlabeled.jsonl", 20)
      fs.writeFileSync(path.join(data, "labeled.jsonl"), `${labeled.join("\n")}\n`)
      fs.writeFileSync(path.join(data, "unlabeled.jsonl"), `${unlabeled.join("\n")}\n`)
      const docs = new Map<string, string>()
      for (const line of [...labeled, ...unlabeled]) {
        const row = JSON.parse(line) as { did: string; doc: string }
        docs.set(row.did, row.doc)
      }
      fs.writeFileSync(
        path.join(data, "documents.jsonl"),
        [...docs]
          .map(([id, title]) => JSON.stringify({ id, title, ocr: `字幕${title}`, asr: `主播说${title}` }))
          .join("\n") + "\n"
      )
      const config = tinyConfig(path.join(dir, "run"), {
        data: { dir: data, sample: null },
        documents: { rewrite: "llm" },
        backends: { llm: { baseUrl: server.url, model: "m", maxAttempts: 1 } },
        stage1: { enabled: false },
        stage2: { enabled: false },
        synthesis: { documents: 0 },
        // no test files: this run checks the rewrite only
        evaluation: { required: false }
      })
      const { sample: _sample, ...dataConfig } = config.data as typeof config.data & { sample?: unknown }
      const run = () =>
        Effect.runPromise(
          Pipeline.run({
            config: { ...config, data: dataConfig },
            systems: ["base"],
            references: false,
            until: "prepare"
          }).pipe(Effect.provide(NodeHttpClient.layerUndici))
        )
      await run()
      const calls = server.calls()
      assert.strictEqual(calls, docs.size)
      const prepared = fs.readdirSync(path.join(dir, "run", "artifacts")).find((n) => n.startsWith("prepare-"))!
      const rows = fs
        .readFileSync(path.join(dir, "run", "artifacts", prepared, "documents.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { title: string; text: string })
      for (const d of rows) {
        assert.match(d.text, /^视频介绍/)
        assert.isTrue(d.text.endsWith(`\n${d.title.normalize("NFKC").trim()}`) || d.text.endsWith(d.title), d.text)
      }
      await run()
      assert.strictEqual(server.calls(), calls, "a rerun reuses the prepared documents")
    } finally {
      await server.close()
    }
  }, 120_000)
})
