import { assert, describe, it } from "@effect/vitest"
import { DatasetError, Document, Failure, Grade, Models, Trec } from "@ssra/core"
import { thrown } from "@ssra/test-support"
import { Effect } from "effect"

const dataset = (reason: DatasetError.DatasetError["reason"], hint?: string) =>
  new DatasetError.DatasetError({ file: "x.jsonl", line: 2, reason, detail: "bad", ...(hint ? { hint } : {}) })

/** What `f` throws (the test fails when it returns). */
describe("Failure", () => {
  it("an unclassified throwable is internal and not retryable", () => {
    for (const value of [
      new Error("boom"),
      new TypeError("x"),
      "a string",
      42,
      null,
      undefined,
      { _tag: "LlmError" }
    ]) {
      assert.deepStrictEqual(Failure.classify(value), { class: "internal", retryable: false })
      assert.isFalse(Failure.isClassifiable(value))
    }
  })

  it("make defaults retryable to false and leaves out absent fields", () => {
    assert.deepStrictEqual(Failure.make("io"), { class: "io", retryable: false })
    assert.deepStrictEqual(Failure.make("budget", { retryable: true, label: "l", hint: "h" }), {
      class: "budget",
      retryable: true,
      label: "l",
      hint: "h"
    })
    assert.strictEqual(Failure.classes.length, 8)
  })

  it("DatasetError: io is io, every other reason input; the generic hint only without the error's own", () => {
    const io = Failure.classify(dataset("io"))
    assert.strictEqual(io.class, "io")
    assert.strictEqual(io.label, "I/O error")
    assert.include(io.hint, "disk has space")
    assert.isUndefined(Failure.classify(dataset("io", "free space")).hint)
    for (const reason of ["not-found", "empty", "malformed", "invalid", "encoding", "too-large"] as const) {
      const c = Failure.classify(dataset(reason))
      assert.strictEqual(c.class, "input", reason)
      assert.isFalse(c.retryable)
      assert.strictEqual(c.label, "invalid input")
    }
    assert.include(Failure.classify(dataset("invalid")).hint, "--skip-invalid")
    assert.isUndefined(Failure.classify(dataset("invalid", "fix the label")).hint)
    assert.isUndefined(Failure.classify(dataset("not-found")).hint)
  })

  it("ModelError: unavailable is a retryable unreachable backend unless its cause says otherwise", () => {
    const model = (reason: Models.ModelError["reason"], cause?: unknown) =>
      new Models.ModelError({ backend: "judge", reason, message: "m", ...(cause !== undefined ? { cause } : {}) })
    const down = Failure.classify(model("unavailable"))
    assert.strictEqual(down.class, "backend-unreachable")
    assert.isTrue(down.retryable)
    assert.strictEqual(down.label, "model backend judge failed (unavailable)")
    assert.include(down.hint, "reachable")
    // a cause that classifies itself as not retryable (e.g. a rejected API key) decides retryable
    assert.isFalse(Failure.classify(model("unavailable", dataset("io"))).retryable)
    assert.isTrue(Failure.classify(model("unavailable", new Error("socket"))).retryable)
    assert.strictEqual(Failure.classify(model("budget-exceeded")).class, "budget")
    for (const reason of ["invalid-output", "invalid-input", "internal"] as const)
      assert.strictEqual(Failure.classify(model(reason)).class, "internal", reason)
  })

  it.effect("TrecReadError classifies as its DatasetError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Trec.readQrelsPacked("/nonexistent/ssra-failure-test.trec"))
      assert.instanceOf(error, Trec.TrecReadError)
      assert.deepStrictEqual(Failure.classify(error), Failure.classify(error.toDatasetError()))
      assert.strictEqual(Failure.classify(error).class, "input")
    })
  )

  it("core constructors throw typed, classified errors instead of RangeError", () => {
    const empty = thrown(() => Document.make({ id: "d1", title: "　" }))
    assert.instanceOf(empty, Document.EmptyDocumentError)
    assert.strictEqual((empty as Error).message, "document d1 renders to empty text")
    assert.strictEqual(Failure.classify(empty).class, "input")

    assert.throws(() => Grade.inferScale([0, 4]), Grade.GradeRangeError, "grade 4 is outside 0..3")
    assert.strictEqual(Failure.classify(thrown(() => Grade.inferScale([5]))).class, "input")
  })
})
