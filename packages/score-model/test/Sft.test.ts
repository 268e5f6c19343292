import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade } from "@ssra/core"
import { ScoreModelError, ScorePrompt, Sft } from "@ssra/score-model"
import { Effect } from "effect"

describe("Sft", () => {
  it.effect("writes one chat row per pair with the judge prompt and the grade as answer", () =>
    Effect.gen(function* () {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ssra-sft-")), "score-sft.jsonl")
      const pairs = [
        { query: "头疼", doc: "头疼怎么办", label: 2 },
        { query: "头疼", doc: "汽车保养", label: 0 }
      ]
      const written = yield* Sft.exportScoreSft(pairs, file)
      assert.deepStrictEqual(written, { rows: 2, promptVersion: ScorePrompt.version })
      const rows = fs
        .readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      assert.strictEqual(rows.length, 2)
      assert.deepStrictEqual(
        rows[0].messages.map((m: any) => m.role),
        ["system", "user", "assistant"]
      )
      assert.strictEqual(rows[0].messages[0].content, ScorePrompt.system(Grade.scale(2)))
      assert.strictEqual(rows[0].messages[1].content, "查询 Query: 头疼\n文档 Document: 头疼怎么办")
      assert.deepStrictEqual(JSON.parse(rows[0].messages[2].content), { grade: 2 })
      assert.deepStrictEqual(JSON.parse(rows[1].messages[2].content), { grade: 0 })
      const off = yield* Effect.flip(
        Sft.exportScoreSft([{ query: "a", doc: "b", label: 3 }], file, { scale: Grade.scale(2) })
      )
      assert.instanceOf(off, ScoreModelError.ScoreTrainingError)
    })
  )
})

describe("ScorePrompt", () => {
  it("states only the scale's grades, top grade merged on a 0–2 scale", () => {
    const two = ScorePrompt.system(Grade.scale(2))
    assert.include(two, "0 到 2")
    assert.notInclude(two, "\n3: ")
    assert.include(two, `2: ${Grade.definitions[3]}, or ${Grade.definitions[2]}`)
    const three = ScorePrompt.system(Grade.scale(3))
    assert.include(three, `3: ${Grade.definitions[3]} / ${ScorePrompt.definitionsZh[3]}`)
  })

  it("draws few-shot examples per grade, seeded", () => {
    const labeled = Array.from({ length: 40 }, (_, i) => ({ query: `q${i}`, doc: `d${i}`, label: i % 4 }))
    const a = ScorePrompt.fewShot(labeled, Grade.scale(3), 2, 7)
    const b = ScorePrompt.fewShot(labeled, Grade.scale(3), 2, 7)
    const c = ScorePrompt.fewShot(labeled, Grade.scale(3), 2, 8)
    assert.deepStrictEqual(a, b)
    assert.notDeepEqual(a, c)
    assert.deepStrictEqual(
      [0, 1, 2, 3].map((g) => a.filter((e) => e.grade === g).length),
      [2, 2, 2, 2]
    )
    assert.strictEqual(ScorePrompt.fewShot(labeled, Grade.scale(2), 1, 7).length, 3)
  })
})
