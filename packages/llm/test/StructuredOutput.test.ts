import { assert, describe, it } from "@effect/vitest"
import { ChatClient, StructuredOutput } from "../src/index.js"

const found = (text: string, accept?: (value: unknown) => boolean) => {
  const r = StructuredOutput.extractJson(text, { accept })
  return r._tag === "Found" ? r.value : r
}

describe("StructuredOutput.extractJson", () => {
  it("reads bare, fenced, prose-wrapped and <think>-prefixed JSON", () => {
    assert.deepStrictEqual(found('{"grade": 2}'), { grade: 2 })
    assert.deepStrictEqual(found('```json\n{"grade": 1}\n```'), { grade: 1 })
    assert.deepStrictEqual(found('Answer: {"a": "}"} — done {"b": 1}'), { a: "}" })
    assert.deepStrictEqual(found('<think>maybe {"grade": 0}</think>\n{"grade": 3}'), { grade: 3 })
    assert.deepStrictEqual(found("[1, 2]"), [1, 2])
    assert.strictEqual(found("4"), 4)
  })

  it("skips values that accept rejects and says why nothing was found", () => {
    const objects = StructuredOutput.isJsonObject
    assert.deepStrictEqual(found('The grade is [2]. {"grade": 2}', objects), { grade: 2 })
    assert.deepStrictEqual(found("4", objects), {
      _tag: "NotFound",
      reason: "no JSON value found (only JSON values of another shape)"
    })
    assert.deepStrictEqual(StructuredOutput.extractJson("  "), { _tag: "NotFound", reason: "the answer is empty" })
    const prose = StructuredOutput.extractJson("two")
    assert.strictEqual(prose._tag, "NotFound")
    assert.include((prose as { reason: string }).reason, "no JSON value found")
    assert.strictEqual(StructuredOutput.extractJson("{better: A}")._tag, "NotFound")
  })
})

describe("ChatClient.toModelError", () => {
  it("maps LLM failures onto model errors, keeping the endpoint and raw text", () => {
    const error = (reason: ChatClient.LlmError["reason"], raw?: string) =>
      new ChatClient.LlmError({
        reason,
        endpoint: "http://x/v1",
        message: "m",
        retryable: false,
        ...(raw ? { raw } : {})
      })
    const invalid = ChatClient.toModelError("b", error("invalid-output", "{"))
    assert.strictEqual(invalid.reason, "invalid-output")
    assert.strictEqual(invalid.raw, "{")
    assert.strictEqual(invalid.message, "http://x/v1: m")
    assert.strictEqual(invalid.backend, "b")
    assert.strictEqual(ChatClient.toModelError("b", error("budget-exceeded")).reason, "budget-exceeded")
    assert.strictEqual(ChatClient.toModelError("b", error("bad-request")).reason, "invalid-input")
    assert.strictEqual(ChatClient.toModelError("b", error("timeout")).reason, "unavailable")
    assert.isFalse("raw" in ChatClient.toModelError("b", error("timeout")))
  })
})
