import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { BatchJobs, FineTuningJobs } from "../src/index.js"
import { type Action, completion, type Received, startServer } from "./support/TestServer.js"

/** The file part of a multipart/form-data body. */
const multipartFile = (req: Received): { purpose: string; content: string } => {
  const boundary = /boundary=(.+)$/.exec(String(req.headers["content-type"]))![1]!
  const parts = req.raw.toString("utf8").split(`--${boundary}`)
  let purpose = ""
  let content = ""
  for (const part of parts) {
    const [head, ...rest] = part.split("\r\n\r\n")
    const body = rest.join("\r\n\r\n").replace(/\r\n$/, "")
    if (head!.includes('name="purpose"')) purpose = body
    if (head!.includes('name="file"')) content = body
  }
  return { purpose, content }
}

/** An OpenAI-compatible files + batches + fine-tuning service in memory. */
const jobsServer = (options: { failPolls?: () => boolean } = {}) => {
  const files = new Map<string, string>()
  const batches = new Map<string, { polls: number; input: string; output?: string }>()
  const counts = { uploads: 0, creates: 0, polls: 0, jobs: 0 }
  const handler = (req: Received): Action => {
    if (req.method === "POST" && req.path === "/v1/files") {
      counts.uploads++
      const { purpose, content } = multipartFile(req)
      const id = `file-${files.size + 1}`
      files.set(id, content)
      return { kind: "json", body: { id, object: "file", purpose, bytes: content.length, filename: "input.jsonl" } }
    }
    if (req.method === "POST" && req.path === "/v1/batches") {
      counts.creates++
      const id = `batch_${batches.size + 1}`
      batches.set(id, { polls: 0, input: req.body.input_file_id })
      return {
        kind: "json",
        body: {
          id,
          object: "batch",
          endpoint: req.body.endpoint,
          status: "validating",
          input_file_id: req.body.input_file_id
        }
      }
    }
    const batchMatch = /^\/v1\/batches\/(.+)$/.exec(req.path)
    if (req.method === "GET" && batchMatch) {
      counts.polls++
      if (options.failPolls?.()) return { kind: "text", status: 503, text: "unavailable" }
      const batch = batches.get(batchMatch[1]!)!
      batch.polls++
      if (batch.polls < 3)
        return { kind: "json", body: { id: batchMatch[1], status: batch.polls === 1 ? "validating" : "in_progress" } }
      if (batch.output === undefined) {
        const lines = files
          .get(batch.input)!
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
        const out = lines.map((line, i) =>
          i === 1
            ? {
                id: `r${i}`,
                custom_id: line.custom_id,
                response: { status_code: 500, request_id: "x", body: { error: { message: "boom" } } },
                error: null
              }
            : {
                id: `r${i}`,
                custom_id: line.custom_id,
                response: {
                  status_code: 200,
                  request_id: "x",
                  body: completion(`answer to ${line.body.messages[0].content}`)
                },
                error: null
              }
        )
        const outId = `file-${files.size + 1}`
        files.set(outId, out.map((o) => JSON.stringify(o)).join("\n") + "\n")
        batch.output = outId
      }
      return {
        kind: "json",
        body: {
          id: batchMatch[1],
          status: "completed",
          output_file_id: batch.output,
          error_file_id: null,
          request_counts: { total: 3, completed: 2, failed: 1 }
        }
      }
    }
    const fileMatch = /^\/v1\/files\/(.+)\/content$/.exec(req.path)
    if (req.method === "GET" && fileMatch) return { kind: "text", text: files.get(fileMatch[1]!)! }
    if (req.method === "POST" && req.path === "/v1/fine_tuning/jobs") {
      counts.jobs++
      const training = files.get(req.body.training_file)
      if (training === undefined) return { kind: "json", status: 400, body: { error: { message: "no such file" } } }
      return {
        kind: "json",
        body: {
          id: "ftjob-1",
          object: "fine_tuning.job",
          model: req.body.model,
          status: "validating_files",
          fine_tuned_model: null
        }
      }
    }
    if (req.method === "GET" && req.path === "/v1/fine_tuning/jobs/ftjob-1") {
      counts.polls++
      return counts.polls < 3
        ? { kind: "json", body: { id: "ftjob-1", status: "running", fine_tuned_model: null } }
        : {
            kind: "json",
            body: {
              id: "ftjob-1",
              status: "succeeded",
              fine_tuned_model: "ft:qwen3-8b:ssra:stage1:abc123",
              trained_tokens: 12345
            }
          }
    }
    return { kind: "json", status: 404, body: { error: { message: `no route ${req.method} ${req.path}` } } }
  }
  return { files, counts, handler }
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-llm-jobs-"))

describe("BatchJobs", () => {
  it("writes the Batch JSONL, uploads, creates, polls, downloads and joins by custom id; resumes from the state file", async () => {
    let failing = true
    const fake = jobsServer({ failPolls: () => failing })
    const server = await startServer(fake.handler)
    const dir = tmp()
    try {
      const config: BatchJobs.BatchJobsConfig = {
        preset: "openai",
        baseUrl: server.baseUrl,
        model: "gpt-4o-mini",
        apiKey: Redacted.make("sk-batch"),
        pollIntervalMs: 5,
        retry: { maxAttempts: 2, baseDelayMs: 1 }
      }
      const inputFile = path.join(dir, "input.jsonl")
      const items = ["q0", "q1", "q2"].map((q, i) => ({
        customId: `pair-${i}`,
        request: { messages: [{ role: "user" as const, content: q }], temperature: 0, seed: 1 }
      }))
      const written = await Effect.runPromise(BatchJobs.writeInput(inputFile, config, items))
      assert.strictEqual(written.rows, 3)
      const first = JSON.parse(fs.readFileSync(inputFile, "utf8").split("\n")[0]!)
      assert.deepStrictEqual(Object.keys(first).sort(), ["body", "custom_id", "method", "url"])
      assert.strictEqual(first.url, "/v1/chat/completions")
      assert.strictEqual(first.body.model, "gpt-4o-mini")

      const options = { inputFile, stateFile: path.join(dir, "state.json"), outputFile: path.join(dir, "output.jsonl") }
      // first run: upload + create succeed, polling keeps failing → the run fails, the state file remembers
      const crashed = await Effect.runPromise(
        Effect.exit(BatchJobs.run(config, options).pipe(Effect.provide(NodeHttpClient.layerUndici)))
      )
      assert.isTrue(Exit.isFailure(crashed))
      const state = JSON.parse(fs.readFileSync(options.stateFile, "utf8"))
      assert.strictEqual(state.batchId, "batch_1")
      // second run resumes: no second upload, no second batch
      failing = false
      const result = await Effect.runPromise(
        BatchJobs.run(config, options).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(fake.counts.uploads, 1)
      assert.strictEqual(fake.counts.creates, 1)
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual([...result.results.keys()].sort(), ["pair-0", "pair-2"])
      assert.strictEqual(result.results.get("pair-2")!.choices[0]!.text, "answer to q2")
      assert.include(result.errors.get("pair-1")!, "500")
      assert.isTrue(fs.existsSync(options.outputFile))
      // a third run reads the downloaded output instead of downloading again
      const hits = server.hits()
      const again = await Effect.runPromise(
        BatchJobs.run(config, options).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(again.results.size, 2)
      assert.strictEqual(server.hits(), hits + 1) // one status poll only
    } finally {
      await server.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("rejects duplicate custom ids and a state file of another input", async () => {
    const dir = tmp()
    try {
      const config = { model: "m" }
      const dup = await Effect.runPromise(
        Effect.exit(
          BatchJobs.writeInput(path.join(dir, "a.jsonl"), config, [
            { customId: "x", request: { messages: [] } },
            { customId: "x", request: { messages: [] } }
          ])
        )
      )
      assert.isTrue(Exit.isFailure(dup))
      assert.include((dup as any).cause.reasons[0].error.message, 'duplicate custom_id "x"')
      assert.isFalse(fs.existsSync(path.join(dir, "a.jsonl")))
      const input = path.join(dir, "b.jsonl")
      await Effect.runPromise(BatchJobs.writeInput(input, config, [{ customId: "y", request: { messages: [] } }]))
      fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ inputFile: "other.jsonl", inputSha256: "0" }))
      const exit = await Effect.runPromise(
        Effect.exit(
          BatchJobs.run(
            { ...config, baseUrl: "http://127.0.0.1:9/v1" },
            { inputFile: input, stateFile: path.join(dir, "state.json"), outputFile: path.join(dir, "o.jsonl") }
          ).pipe(Effect.provide(NodeHttpClient.layerUndici))
        )
      )
      assert.include((exit as any).cause.reasons[0].error.message, "different input")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("FineTuningJobs", () => {
  it("uploads the training file, creates the job, polls and returns the fine-tuned model id", async () => {
    const fake = jobsServer()
    const server = await startServer(fake.handler)
    const dir = tmp()
    try {
      const training = path.join(dir, "train.jsonl")
      fs.writeFileSync(
        training,
        JSON.stringify({
          messages: [
            { role: "user", content: "d" },
            { role: "assistant", content: "q" }
          ]
        }) + "\n"
      )
      const statuses: Array<string> = []
      const result = await Effect.runPromise(
        FineTuningJobs.run(
          { preset: "openai", baseUrl: server.baseUrl, apiKey: Redacted.make("sk-ft"), pollIntervalMs: 5 },
          { model: "qwen3-8b", trainingFile: training, suffix: "stage1", hyperparameters: { n_epochs: 2 } },
          { onStatus: (job) => statuses.push(job.status) }
        ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(result.fineTunedModel, "ft:qwen3-8b:ssra:stage1:abc123")
      assert.strictEqual(result.trainedTokens, 12345)
      assert.deepStrictEqual(statuses, ["validating_files", "running", "running", "succeeded"])
      assert.strictEqual([...fake.files.values()][0]!.trim(), fs.readFileSync(training, "utf8").trim())
      const create = server.received.find((r) => r.path === "/v1/fine_tuning/jobs")!
      assert.deepStrictEqual(create.body, {
        model: "qwen3-8b",
        training_file: "file-1",
        suffix: "stage1",
        hyperparameters: { n_epochs: 2 }
      })
      assert.strictEqual(server.received[0]!.headers.authorization, "Bearer sk-ft")
    } finally {
      await server.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
