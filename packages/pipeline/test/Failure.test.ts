import { assert, describe, it } from "@effect/vitest"
import { DatasetError, Failure, Models } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import { PipelineError } from "../src/index.js"
import { stageError } from "../src/internal/context.js"

describe("PipelineError and stage errors under Failure.classify", () => {
  it("PipelineError: the class of its reason (config is usage), hand-off labelled", () => {
    for (const reason of PipelineError.Reason.literals) {
      const c = Failure.classify(PipelineError.make(reason, "d", { stage: "s", hint: "h" }))
      assert.strictEqual(c.class, reason === "config" ? "usage" : reason, reason)
      assert.strictEqual(PipelineError.reasonOf(c.class), reason)
      assert.isUndefined(c.hint, "the hint is in the message")
    }
    assert.strictEqual(Failure.classify(PipelineError.make("awaiting-training", "d")).label, "hand-off")
  })

  it("stageError maps model, endpoint and dataset failures by their classification, keeps the rest", () => {
    const map = stageError("score-model")
    const llm = (reason: ChatClient.LlmError["reason"]) =>
      map(
        new ChatClient.LlmError({ reason, endpoint: "e", message: "m", retryable: false })
      ) as PipelineError.PipelineError
    for (const reason of [
      "connection",
      "timeout",
      "unavailable",
      "circuit-open",
      "server-error",
      "rate-limited"
    ] as const) {
      assert.strictEqual(llm(reason).reason, "backend-unreachable", reason)
      assert.include(llm(reason).hint, "reachable")
    }
    assert.strictEqual(llm("budget-exceeded").reason, "budget")
    assert.include(llm("budget-exceeded").hint, "maxCostUsd")
    assert.strictEqual(llm("auth").reason, "config")
    for (const reason of ["bad-request", "not-found", "invalid-output"] as const) {
      assert.strictEqual(llm(reason).reason, "internal", reason)
      assert.include(llm(reason).hint, "backends.llm")
    }
    const model = (reason: Models.ModelError["reason"]) =>
      map(new Models.ModelError({ backend: "b", reason, message: "m" })) as PipelineError.PipelineError
    assert.strictEqual(model("unavailable").reason, "backend-unreachable")
    assert.strictEqual(model("budget-exceeded").reason, "budget")
    assert.strictEqual(model("invalid-output").reason, "internal")
    assert.isUndefined(model("invalid-output").hint)
    assert.strictEqual(model("unavailable").stage, "score-model")
    const io = map(
      new DatasetError.DatasetError({ file: "f", reason: "invalid", detail: "d" })
    ) as PipelineError.PipelineError
    assert.strictEqual(io.reason, "io")
    const own = PipelineError.make("input", "kept")
    assert.strictEqual(map(own), own)
  })
})
