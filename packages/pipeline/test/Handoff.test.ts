import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { startOpenAiServer } from "@ssra/test-support"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { Pipeline, type PipelineConfig, PipelineError } from "../src/index.js"
import { snapshot } from "./fixtures/snapshot.js"
import { tinyConfig } from "./fixtures/tiny.js"

// Served fine-tuned models are a boundary we do not own: a real OpenAI-wire server on 127.0.0.1 stands in for
// `transformers serve` / vLLM. The score model answers a grade from text overlap, the query model a query cut
// from the document, and every fourth query request gets prose instead of JSON (a model's bad answer).
const startServed = () =>
  startOpenAiServer({
    models: ["score-sft", "query-sft"],
    chat: (request: { model?: string; messages: Array<{ content: string }> }, i) => {
      const last = request.messages.at(-1)!.content
      if (request.model === "query-sft") {
        const doc = last.match(/Document:\n([\s\S]*)\nGrade: (\d)/)
        const text = (doc?.[1] ?? "查询").replace(/\s+/g, "")
        const grade = Number(doc?.[2] ?? 0)
        if (text.length % 4 === 0) return "I cannot write a query for that."
        return JSON.stringify({ queries: [text.slice(grade, grade + 4 + (i % 3))] })
      }
      if (request.messages.some((m) => m.content.includes('"better"')))
        return JSON.stringify({ better: last.length % 2 === 0 ? "A" : "B" })
      const chars = [...new Set(last.replace(/\s+/g, ""))]
      return JSON.stringify({ grade: chars.length % 4 })
    }
  })

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-handoff-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const fineTuned = (runDir: string, endpoints: Record<string, unknown> = {}): PipelineConfig.Config =>
  tinyConfig(runDir, {
    backends: {
      scoreModel: "fine-tuned",
      queryModel: "fine-tuned",
      external: { baseModel: "tiny/base", ...endpoints }
    },
    // the paper's LLM pairwise judge, with no backends.llm: the served score model judges
    stage2: { documents: 8, judge: "llm" },
    synthesis: { documents: 12 }
  })

const manifestOf = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))

const stopsAt = async (config: PipelineConfig.Config) => {
  const error = await Effect.runPromise(
    Effect.flip(Pipeline.run({ config, systems: ["base", "ssra"], references: false })).pipe(
      Effect.provide(NodeHttpClient.layerUndici)
    )
  )
  assert.instanceOf(error, PipelineError.PipelineError)
  return error as PipelineError.PipelineError
}

const exited = (p: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on("exit", (code, signal) => resolve({ code, signal }))
  )

describe("hand-off to external training (backends: fine-tuned)", () => {
  it("stops at each model with its SFT kit, goes on with each served endpoint, and survives a kill -9 after the last", async () => {
    const server = await startServed()
    try {
      const runDir = path.join(root, "run")
      const score = { baseUrl: server.url, model: "score-sft" }
      const v1 = { baseUrl: server.url, model: "query-sft" }
      const v2 = { baseUrl: server.url, model: "query-sft", temperature: 0.7 }

      // 1. no endpoint: the score model's kit, the manifest says what to do, the run says awaiting-training
      const first = await stopsAt(fineTuned(runDir))
      assert.strictEqual(first.reason, "awaiting-training")
      assert.strictEqual(first.stage, "score-model")
      assert.include(first.message, "--score-model-endpoint")
      let manifest = manifestOf(runDir)
      assert.strictEqual(manifest.status, "awaiting-training")
      assert.strictEqual(manifest.handoffs.length, 1)
      const scoreKit = manifest.handoffs[0].kit as string
      assert.strictEqual(manifest.handoffs[0].status, "awaiting")
      for (const file of ["train.jsonl", "sft_config.json", "sft_train.py", "launch.sh", "serve.sh", "README.md"])
        assert.isTrue(fs.existsSync(path.join(scoreKit, file)), file)
      const rows = fs
        .readFileSync(path.join(scoreKit, "train.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      assert.strictEqual(rows.length, manifest.handoffs[0].rows)
      assert.match(rows[0].messages.at(-1).content, /^\{"grade": ?[0-3]\}$/)
      assert.strictEqual(JSON.parse(fs.readFileSync(path.join(scoreKit, "sft_config.json"), "utf8")).model, "tiny/base")
      // the kit is content-addressed: a rerun without the endpoint leaves it (and whatever was trained in it) alone
      fs.mkdirSync(path.join(scoreKit, "output"))
      fs.writeFileSync(path.join(scoreKit, "output", "marker"), "trained here")
      await stopsAt(fineTuned(runDir))
      assert.isTrue(fs.existsSync(path.join(scoreKit, "output", "marker")))

      // 2. score model served: Stage 1 runs with it, then query model v1 hands off
      const second = await stopsAt(fineTuned(runDir, { scoreModel: score }))
      assert.strictEqual(second.stage, "query-model:v1")
      manifest = manifestOf(runDir)
      const byModel = Object.fromEntries(manifest.handoffs.map((h: { model: string }) => [h.model, h]))
      assert.strictEqual(byModel["score model"].status, "served")
      assert.strictEqual(byModel["score model"].endpoint, `${server.url}#score-sft`)
      assert.strictEqual(byModel["query model v1"].status, "awaiting")
      const v1Rows = fs.readFileSync(path.join(byModel["query model v1"].kit, "train.jsonl"), "utf8").trim().split("\n")
      assert.match(JSON.parse(v1Rows[0]!).messages.at(-1).content, /^\{"queries": ?\[/)
      const judged = manifest.stages.find((s: { stage: string }) => s.stage === "score-model")
      assert.strictEqual(judged.components[0].config.kind, "fine-tuned")

      // 3. v1 served: Stage 2 generates with it, then v2 hands off
      const third = await stopsAt(fineTuned(runDir, { scoreModel: score, queryModelV1: v1 }))
      assert.strictEqual(third.stage, "query-model:v2")
      const stage2 = manifestOf(runDir).stages.find((s: { stage: string }) => s.stage === "stage2")
      const judge = stage2.components.find((c: { name: string }) => c.name === "pairwise-judge")
      assert.strictEqual(judge.config.kind, "llm")
      assert.include(judge.id, "#score-sft")

      // 4. v2 served, in a child process killed with SIGKILL once synthesis has committed a chunk; the rerun
      //    finishes with the same bytes as an uninterrupted run that had every endpoint from the start
      const all = { scoreModel: score, queryModelV1: v1, queryModelV2: v2 }
      const configFile = path.join(root, "config.json")
      fs.writeFileSync(configFile, JSON.stringify(fineTuned(runDir, all)))
      const proc = spawn(
        process.execPath,
        [
          "--conditions=@ssra/source",
          "--import",
          "tsx",
          path.join(import.meta.dirname, "fixtures", "run-config.ts"),
          configFile
        ],
        { cwd: path.join(import.meta.dirname, ".."), stdio: ["ignore", "ignore", "pipe"] }
      )
      let stderr = ""
      proc.stderr!.on("data", (d) => {
        stderr += String(d)
      })
      const done = exited(proc)
      let killed = false
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const artifacts = path.join(runDir, "artifacts")
          const name = fs.readdirSync(artifacts).find((n) => n.startsWith("synthesis:v2-"))
          const chunks =
            name === undefined ? path.join(runDir, "none") : path.join(artifacts, name, "chunks", "generation")
          if (fs.existsSync(chunks) && fs.readdirSync(chunks).some((f) => f.startsWith("chunk-"))) {
            proc.kill("SIGKILL")
            killed = !fs.existsSync(path.join(artifacts, name!, "artifact.json"))
            clearInterval(timer)
            resolve()
          }
        }, 2)
        void done.then(() => {
          clearInterval(timer)
          resolve()
        })
      })
      const exit = await done
      assert.strictEqual(exit.signal, "SIGKILL", `the child ended on its own: ${stderr}`)
      assert.isTrue(killed, "killed while synthesis was half done")
      const resumed = await Effect.runPromise(
        Pipeline.run({ config: fineTuned(runDir, all), systems: ["base", "ssra"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      assert.strictEqual(resumed.rows.find((r) => r.system === "ssra")?.status, "ok")
      manifest = manifestOf(runDir)
      assert.strictEqual(manifest.status, "complete")
      assert.deepStrictEqual(
        manifest.handoffs.map((h: { status: string }) => h.status),
        ["served", "served", "served"]
      )
      const endpoint = JSON.parse(fs.readFileSync(path.join(runDir, "query-model", "endpoint.json"), "utf8"))
      assert.strictEqual(endpoint.model, "query-sft")

      const reference = path.join(root, "reference")
      await Effect.runPromise(
        Pipeline.run({ config: fineTuned(reference, all), systems: ["base", "ssra"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      assert.deepStrictEqual(snapshot(runDir, ["model", "query-model"]), snapshot(reference, ["model", "query-model"]))
    } finally {
      await server.close()
    }
  }, 300_000)
})
