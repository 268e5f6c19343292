import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Faults, startOpenAiServer } from "@ssra/test-support"
import { Effect, Exit } from "effect"
import { DocumentRewrite, Pipeline, PipelineConfig, Plan, Prepare } from "../src/index.js"

// the bundled made-up short-video rows: title + OCR + ASR
const videoSample = path.resolve(import.meta.dirname, "../../../data/video_sample")
const documents = fs
  .readFileSync(path.join(videoSample, "documents.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as { id: string; title: string })

// A stand-in for a chat model behind the OpenAI wire format: a description built from the title in the prompt,
// except for the guitar video, whose answer is garbage (a JSON code block instead of prose).
const describe_ = (prompt: string) => {
  const title = /标题：(.*)\n/.exec(prompt)?.[1] ?? ""
  return title.includes("吉他") ? '```json\n{"description": null}\n```' : `这个视频讲的是${title}的要点。`
}
const userPrompt = (request: { messages: Array<{ content: string }> }) => request.messages.at(-1)!.content

const config = (runDir: string, baseUrl: string) =>
  PipelineConfig.merge(PipelineConfig.defaults, {
    runDir,
    seed: 7,
    data: { dir: videoSample },
    documents: { rewrite: "llm" },
    backends: { llm: { baseUrl, model: "m", maxAttempts: 1 } },
    generation: { chunkSize: 4 }
  }) as PipelineConfig.Config

const prepare = (c: PipelineConfig.Config) =>
  Effect.runPromiseExit(
    Pipeline.run({ config: c, systems: ["base"], references: false, until: "prepare" }).pipe(
      Effect.provide(NodeHttpClient.layerUndici)
    )
  )

const preparedDocuments = (runDir: string) => {
  const dir = fs.readdirSync(path.join(runDir, "artifacts")).find((n) => n.startsWith("prepare-"))!
  return fs
    .readFileSync(path.join(runDir, "artifacts", dir, "documents.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { id: string; title: string; text: string })
}

describe("documents.rewrite: llm (OCR + ASR → description, title appended)", () => {
  it("rewrites every video of the bundled sample; garbage keeps the template; the rerun asks nothing", async () => {
    const server = await startOpenAiServer({ models: ["m"], chat: (request) => describe_(userPrompt(request)) })
    try {
      const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ssra-rewrite-")), "run")
      const c = config(runDir, server.url)
      // the plan counts one call per video before anything is sent
      const dataset = await Effect.runPromise(
        Effect.flatMap(Prepare.dataFiles(c), (files) => Prepare.loadFiles(c, files, path.join(runDir, "rejects")))
      )
      const planned = Plan.make(c, dataset.dataset, ["base"]).find((s) => s.stage === "prepare")!
      assert.strictEqual(planned.backend, "llm")
      assert.strictEqual(planned.calls, documents.length)
      assert.isAbove(planned.estimate!.promptTokens, 0)

      assert.isTrue(Exit.isSuccess(await prepare(c)))
      assert.strictEqual(server.calls(), documents.length)
      const rows = preparedDocuments(runDir)
      assert.strictEqual(rows.length, documents.length)
      for (const d of rows) {
        if (d.title.includes("吉他")) {
          // not prose: the template rendering (title, OCR, ASR) is kept
          assert.isTrue(d.text.startsWith(d.title) && d.text.includes("画面文字："), d.text)
        } else assert.strictEqual(d.text, `这个视频讲的是${d.title}的要点。\n${d.title}`)
      }
      const manifest = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
      const stage = manifest.stages.find((s: { stage: string }) => s.stage === "prepare")
      assert.strictEqual(stage.counts.rewritten, documents.length - 1)
      assert.strictEqual(stage.counts.rewriteKeptTemplate, 1)
      const component = stage.components.find((x: { name: string }) => x.name === "document-rewrite")
      assert.strictEqual(component.id, DocumentRewrite.promptVersion)
      assert.deepStrictEqual(
        { promptId: component.config.promptId, model: component.config.model },
        { promptId: "ocr-asr-description", model: "m" }
      )

      assert.isTrue(Exit.isSuccess(await prepare(c)))
      assert.strictEqual(server.calls(), documents.length, "the rerun makes no new call")
    } finally {
      await server.close()
    }
  }, 60_000)

  it("a run stopped mid-rewrite loses no answer: the rerun asks only what was never answered", async () => {
    // first run: the server fails for good on one video (maxAttempts 1), so the stage stops there
    let failing = true
    const answered = new Set<string>()
    const server = await startOpenAiServer({
      models: ["m"],
      respond: (request) =>
        failing && request.path.includes("/chat/completions") && userPrompt(request.body).includes("绿萝")
          ? Faults.status(500)
          : undefined,
      chat: (request) => {
        answered.add(userPrompt(request))
        return describe_(userPrompt(request))
      }
    })
    try {
      const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ssra-rewrite-resume-")), "run")
      const c = config(runDir, server.url)
      assert.isTrue(Exit.isFailure(await prepare(c)))
      const before = server.calls()
      const answeredBefore = answered.size
      assert.isBelow(answeredBefore, documents.length)
      failing = false
      assert.isTrue(Exit.isSuccess(await prepare(c)))
      // what the first run received came back from its committed chunks or the response cache; only answers still
      // in flight in the failing chunk (chunkSize 4) when it stopped may be asked again
      const asked = server.calls() - before
      assert.isAtLeast(asked, documents.length - answeredBefore)
      assert.isAtMost(asked, documents.length - answeredBefore + 3)
      assert.strictEqual(answered.size, documents.length)
      assert.strictEqual(preparedDocuments(runDir).length, documents.length)
    } finally {
      await server.close()
    }
  }, 60_000)

  it("the rule for an answer", () => {
    const ok = (answer: string, finish = "stop") => DocumentRewrite.parse(answer, finish)
    assert.deepStrictEqual(ok("<think>先看OCR</think>描述：番茄炒蛋的做法。"), { description: "番茄炒蛋的做法。" })
    assert.deepStrictEqual(ok("   "), { reason: "empty" })
    assert.deepStrictEqual(ok("<think>想了很久"), { reason: "empty" })
    assert.deepStrictEqual(ok("番茄炒蛋的做", "length"), { reason: "truncated" })
    assert.deepStrictEqual(ok('{"description": "x"}'), { reason: "not-prose" })
    assert.deepStrictEqual(ok("…… 123"), { reason: "not-prose" })
    assert.deepStrictEqual(ok("标题：x\n画面文字（OCR）：y"), { reason: "echoes-prompt" })
    assert.deepStrictEqual(ok("很".repeat(401)), { reason: "too-long" })
    assert.strictEqual(DocumentRewrite.compose("描述。", " 标题 "), "描述。\n标题")
  })
})
