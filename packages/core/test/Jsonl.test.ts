import { Jsonl, Pair } from "@ssra/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-core-"))

describe("Jsonl", () => {
  it.effect("round trips labeled pairs", () =>
    Effect.gen(function* () {
      const file = path.join(tmp(), "a.jsonl")
      const rows: Array<Pair.LabeledPair> = [
        { qid: "q1", did: "d1", query: "蜜蜂", doc: "蜜蜂纪录片", label: 2 },
        { qid: "q2", did: "d2", query: "x", doc: "y", label: 0, src: "s" }
      ]
      const summary = yield* Jsonl.writeAll(file, rows, { schema: Pair.LabeledPair })
      assert.strictEqual(summary.rows, 2)
      const back = yield* Jsonl.readAll(file, Pair.LabeledPair)
      assert.deepStrictEqual(back, rows)
    }))

  it.effect("names file, line and field for a grade outside the scale", () =>
    Effect.gen(function* () {
      const file = path.join(tmp(), "bad.jsonl")
      fs.writeFileSync(file, '{"qid":"q","did":"d","query":"a","doc":"b","label":1}\n{"qid":"q","did":"d","query":"a","doc":"b","label":7}\n')
      const exit = yield* Effect.exit(Jsonl.readAll(file, Pair.LabeledPair))
      assert.isTrue(Exit.isFailure(exit))
      const message = String((exit as any).cause.reasons[0].error.message)
      assert.include(message, `${file}:2`)
      assert.include(message, "label")
    }))
})
