import { assert, describe, it } from "@effect/vitest"
import { ModelLoader, ServerConfig } from "@ssra/app-server"
import { DatasetError, Failure, Models } from "@ssra/core"
import { CheckpointError, TrainingError } from "@ssra/embedding"
import { ChatClient, KitDirectory, SftKit } from "@ssra/llm"
import { PipelineError, WorkUnits } from "@ssra/pipeline"
import { QueryModelError } from "@ssra/query-model"
import { ScoreModelError } from "@ssra/score-model"
import { Cause } from "effect"
import { HttpServerError } from "effect/http"
import { ExitCode } from "../src/index.js"

const llm = (reason: ChatClient.LlmError["reason"]) =>
  new ChatClient.LlmError({
    reason,
    endpoint: "http://127.0.0.1:9/v1",
    message: `${reason} happened`,
    retryable: false
  })

describe("ExitCode", () => {
  it("every failure class has its code from the table", () => {
    assert.deepStrictEqual(
      Failure.classes.map((c) => [c, ExitCode.codeOf[c]]),
      [
        ["usage", 2],
        ["input", 3],
        ["backend-missing", 4],
        ["backend-unreachable", 5],
        ["budget", 6],
        ["io", 7],
        ["awaiting-training", 8],
        ["internal", 1]
      ]
    )
  })

  it("maps each class to its code, whatever package the error comes from", () => {
    const cases: ReadonlyArray<readonly [unknown, number]> = [
      [ExitCode.usage("unknown --format x", "use jsonl"), 2],
      [new ServerConfig.ServerConfigError({ field: "port", message: "bad port" }), 2],
      [llm("auth"), 2],
      [new DatasetError.DatasetError({ file: "a.jsonl", line: 3, reason: "invalid", detail: "label: 9" }), 3],
      [new ModelLoader.ModelLoadError({ source: "/r", message: "no model" }), 3],
      [new ScoreModelError.ScoreTrainingError({ reason: "no-pairs", detail: "none" }), 3],
      [new QueryModelError.QueryCheckpointError({ dir: "/m", file: "q.json", reason: "malformed", detail: "d" }), 3],
      [new CheckpointError.CheckpointError({ path: "/m", reason: "corrupt", detail: "d" }), 3],
      [PipelineError.make("backend-missing", "needs an LLM backend"), 4],
      [new Models.ModelError({ backend: "judge", reason: "unavailable", message: "refused" }), 5],
      [llm("connection"), 5],
      [llm("circuit-open"), 5],
      [llm("budget-exceeded"), 6],
      [new Models.ModelError({ backend: "judge", reason: "budget-exceeded", message: "spent" }), 6],
      [new DatasetError.DatasetError({ file: "out.jsonl", reason: "io", detail: "ENOSPC" }), 7],
      [new KitDirectory.KitDirectoryError({ reason: "io", file: "/k", detail: "EACCES" }), 7],
      [new SftKit.SftKitError({ reason: "exists", detail: "occupied" }), 2],
      [new TrainingError.TrainingError({ reason: "invalid-args", detail: "occupied" }), 2],
      [PipelineError.make("awaiting-training", "train the score model"), 8],
      [llm("invalid-output"), 1],
      [new Error("a bug"), 1],
      ["a string", 1]
    ]
    for (const [error, code] of cases) {
      const got = ExitCode.classify(error)
      assert.strictEqual(got.code, code, got.message)
      if (Failure.isClassifiable(error)) assert.strictEqual(got.code, ExitCode.codeOf[Failure.classify(error).class])
    }
    for (const reason of PipelineError.Reason.literals)
      assert.strictEqual(
        ExitCode.classify(PipelineError.make(reason, "d")).code,
        ExitCode.codeOf[reason === "config" ? "usage" : reason],
        reason
      )
  })

  it("builds the message from the label, the error's message and the classification's hint", () => {
    assert.strictEqual(
      ExitCode.classify(ExitCode.usage("unknown --format x", "use jsonl")).message,
      "usage: unknown --format x\n  → use jsonl"
    )
    const bad = ExitCode.classify(
      new DatasetError.DatasetError({ file: "a.jsonl", line: 3, reason: "invalid", detail: "label: 9" })
    )
    assert.strictEqual(
      bad.message,
      'invalid input: a.jsonl:3: label: 9\n  → fix that row, or pass --skip-invalid to skip bad rows (in code: onInvalid: "skip"); each is written with its reason to a .rejects.jsonl file'
    )
    const io = ExitCode.classify(new DatasetError.DatasetError({ file: "out.jsonl", reason: "io", detail: "ENOSPC" }))
    assert.strictEqual(
      io.message,
      "I/O error: out.jsonl: ENOSPC\n  → check the path is accessible and the disk has space"
    )
    assert.strictEqual(
      ExitCode.classify(PipelineError.make("awaiting-training", "train it", { stage: "score-model" })).message,
      "hand-off: [score-model] train it"
    )
    assert.strictEqual(ExitCode.classify(PipelineError.make("input", "bad", { hint: "fix" })).message, "bad\n  → fix")
    assert.match(
      ExitCode.classify(new Models.ModelError({ backend: "judge", reason: "unavailable", message: "refused" })).message,
      /^model backend judge failed \(unavailable\): refused\n {2}→ check the endpoint is running/
    )
    assert.match(ExitCode.classify(llm("timeout")).message, /^LLM endpoint error: timeout happened\n {2}→ /)
    assert.strictEqual(
      ExitCode.classify(new ServerConfig.ServerConfigError({ field: "port", message: "bad port" })).message,
      "server config: bad port"
    )
    assert.match(
      ExitCode.classify(new ModelLoader.ModelLoadError({ source: "/r", message: "no model" })).message,
      /^cannot load models: no model\n {2}→ pass a finished run directory/
    )
    // a classified internal error names itself without a stack; an unclassified one keeps its stack for the report
    assert.strictEqual(ExitCode.classify(llm("bad-request")).message, "LLM endpoint error: bad-request happened")
    const bug = ExitCode.classify(new TypeError("x is undefined"))
    assert.match(bug.message, /^internal error: TypeError: x is undefined\n\s+at /)
  })

  it("a finished shard is no failure; a serve failure is I/O with what to do for its cause", () => {
    const pending = new WorkUnits.ShardPending({ stage: "stage1", shard: "1/2", done: 3, total: 6 })
    assert.deepStrictEqual(ExitCode.classify(pending), { code: 0, message: pending.message })
    const denied = Object.assign(new Error("listen EACCES: permission denied 0.0.0.0:80"), { code: "EACCES" })
    const serve = ExitCode.classify(new HttpServerError.ServeError({ cause: denied }))
    assert.strictEqual(serve.code, 7)
    assert.include(serve.message, "cannot serve: listen EACCES")
    assert.include(serve.message, "pick --port 8080 or above")
  })

  it("fromCause: interruption 130, otherwise the squashed failure's class", () => {
    assert.strictEqual(ExitCode.fromCause(Cause.interrupt()).code, 130)
    assert.strictEqual(ExitCode.fromCause(Cause.fail(llm("budget-exceeded"))).code, 6)
    assert.strictEqual(ExitCode.fromCause(Cause.die(new RangeError("a bug"))).code, 1)
  })
})
