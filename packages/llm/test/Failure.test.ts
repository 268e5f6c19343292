import { assert, describe, it } from "@effect/vitest"
import { Failure } from "@ssra/core"
import { ChatClient, KitDirectory, SftKit } from "@ssra/llm"

const llm = (reason: ChatClient.LlmError["reason"], retryable = false) =>
  new ChatClient.LlmError({ reason, endpoint: "http://127.0.0.1:9/v1", message: "m", retryable })

describe("Failure.classify over @ssra/llm's errors", () => {
  it("LlmError: the class follows the reason, retryable is the error's own field; no message is read", () => {
    for (const reason of [
      "rate-limited",
      "server-error",
      "timeout",
      "connection",
      "circuit-open",
      "unavailable"
    ] as const) {
      const c = Failure.classify(llm(reason, true))
      assert.strictEqual(c.class, "backend-unreachable", reason)
      assert.isTrue(c.retryable, reason)
      assert.strictEqual(c.label, "LLM endpoint error")
      assert.include(c.hint, "reachable")
      assert.isTrue(ChatClient.isTransient(llm(reason)), reason)
    }
    assert.strictEqual(Failure.classify(llm("budget-exceeded")).class, "budget")
    assert.strictEqual(Failure.classify(llm("not-installed")).class, "backend-missing")
    assert.isFalse(ChatClient.isTransient(llm("not-installed")))
    assert.strictEqual(Failure.classify(llm("auth")).class, "usage")
    assert.include(Failure.classify(llm("auth")).hint, "API key")
    for (const reason of ["bad-request", "not-found", "invalid-output"] as const) {
      assert.strictEqual(Failure.classify(llm(reason)).class, "internal", reason)
      assert.isFalse(ChatClient.isTransient(llm(reason)), reason)
    }
    assert.isFalse(Failure.classify(llm("connection", false)).retryable)
    // a message that reads like a network failure does not make a bad request one
    const worded = new ChatClient.LlmError({
      reason: "bad-request",
      endpoint: "e",
      message: "connection refused timeout network unavailable",
      retryable: false
    })
    assert.strictEqual(Failure.classify(worded).class, "internal")
  })

  it("a ModelError made by toModelError: its cause decides retryable and transience", () => {
    const fromDown = ChatClient.toModelError("judge", llm("connection", true))
    assert.strictEqual(Failure.classify(fromDown).class, "backend-unreachable")
    assert.isTrue(Failure.classify(fromDown).retryable)
    assert.isTrue(ChatClient.isTransient(fromDown))
    const fromAuth = ChatClient.toModelError("judge", llm("auth"))
    assert.isFalse(Failure.classify(fromAuth).retryable)
    assert.isFalse(ChatClient.isTransient(fromAuth))
    assert.strictEqual(Failure.classify(ChatClient.toModelError("judge", llm("budget-exceeded"))).class, "budget")
    assert.isFalse(ChatClient.isTransient({ _tag: "LlmError", reason: "timeout" }))
  })

  it("KitDirectoryError and SftKitError", () => {
    const kit = (reason: KitDirectory.KitDirectoryError["reason"]) =>
      new KitDirectory.KitDirectoryError({ reason, file: "/k", detail: "d" })
    assert.strictEqual(Failure.classify(kit("exists")).class, "usage")
    assert.strictEqual(Failure.classify(kit("io")).class, "io")
    const sft = (reason: SftKit.SftKitError["reason"]) =>
      Failure.classify(new SftKit.SftKitError({ reason, detail: "d" }))
    assert.strictEqual(sft("exists").class, "usage")
    assert.strictEqual(sft("invalid-config").class, "usage")
    assert.strictEqual(sft("invalid-row").class, "input")
    assert.strictEqual(sft("empty").class, "input")
    assert.strictEqual(sft("io").class, "io")
    assert.strictEqual(sft("scripts").class, "internal")
  })
})
