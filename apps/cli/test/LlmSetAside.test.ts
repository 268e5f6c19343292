import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Faults, startOpenAiServer } from "@ssra/test-support"
import { Effect } from "effect"
import { runCli, smallConfig, smallRunArgs } from "./support/runCli.js"

// An OpenAI-wire server (the boundary we do not own) acting as the pairwise judge of stage 2. Every question about
// the first document it is asked about fails with 500, on every attempt, on every run: one stage-2 document of ten
// that the LLM cannot serve.
const startJudge = async () => {
  let poisoned: string | undefined
  return startOpenAiServer({
    models: ["m"],
    record: false,
    respond: (request) => {
      if (!request.path.endsWith("/chat/completions")) return undefined
      const user = String(request.body.messages.at(-1).content)
      const doc = user.slice(0, user.indexOf("\n\nQuery A:"))
      poisoned ??= doc
      return doc === poisoned ? Faults.status(500, { message: "model crashed on this input" }) : undefined
    },
    chat: (request: { messages: Array<{ content: string }> }) =>
      JSON.stringify({ better: request.messages.at(-1)!.content.length % 2 === 0 ? "A" : "B" })
  })
}

const runWithBudget = (baseUrl: string, maxFailedFraction: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-cli-aside-"))
  const config = {
    ...smallConfig,
    backends: { llm: { baseUrl, model: "m", maxAttempts: 2, coolDownMs: 10, maxFailedFraction } },
    // one document per work unit, so the one that fails is one item of ten
    stage2: { documents: 10, judge: "llm" },
    generation: { chunkSize: 1 }
  }
  return runCli(["run", ...smallRunArgs(dir, config)])
}

describe("ssra run: an LLM that fails some items for good", () => {
  it("beyond backends.llm.maxFailedFraction: exit 5 with the set-aside count, the stage, the budget and what to do", async () => {
    const server = await startJudge()
    try {
      const { code, output } = await Effect.runPromise(runWithBudget(server.url, 0.05))
      assert.strictEqual(code, 5, output)
      assert.match(output, /1 of 10 items \(1 chunk\(s\)\) of stage2 set aside/)
      assert.include(output, "model crashed on this input")
      assert.include(output, "above the error budget of 5.0% (backends.llm.maxFailedFraction)")
      assert.include(output, "rerun the same command")
      assert.include(output, "raise backends.llm.maxFailedFraction")
    } finally {
      await server.close()
    }
  }, 300_000)

  it("within the budget: exit 0 and a warning naming the set-aside items and that the next run retries them", async () => {
    const server = await startJudge()
    try {
      const { code, output } = await Effect.runPromise(runWithBudget(server.url, 0.5))
      assert.strictEqual(code, 0, output)
      // the closing summary names the items, the stage, the error and what to do
      assert.match(
        output,
        /warning: {2}1 item\(s\) of stage2 left out: the LLM failed them for good \(.*model crashed on this input/
      )
      assert.include(output, "rerun the same command to retry just those items")
      assert.include(output, "| 1 |\n\n- stage2: 1 item(s) left out of this run, retried on the next run")
    } finally {
      await server.close()
    }
  }, 300_000)
})
