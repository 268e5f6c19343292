import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Pair, SyntheticQuery } from "@ssra/core"
import { SftData } from "@ssra/query-model"
import { Effect } from "effect"

const lp = (qid: string, did: string, query: string, doc: string, label: number): Pair.LabeledPair => ({
  qid,
  did,
  query,
  doc,
  label
})

const labeled = [
  lp("q1", "d1", "感冒吃什么药", "感冒了吃什么药好", 3),
  lp("q1", "d2", "感冒吃什么药", "感冒药的种类", 3),
  lp("q1", "d3", "感冒吃什么药", "感冒药说明书", 3),
  lp("q1", "d4", "感冒吃什么药", "发烧怎么办", 1),
  lp("q2", "d1", "头疼怎么办", "感冒了吃什么药好", 0),
  lp("q1", "d1", "感冒吃什么药", "感冒了吃什么药好", 3) // exact repeat
]

describe("SftData", () => {
  it("vanilla takes every labeled pair once and counts the repeats", () => {
    const set = SftData.vanilla(labeled)
    assert.strictEqual(set.examples.length, 5)
    assert.deepStrictEqual(set.counts, { "labeled.kept": 5, "labeled.dropped.duplicate": 1 })
    assert.deepStrictEqual(set.examples[0], {
      did: "d1",
      doc: "感冒了吃什么药好",
      grade: 3,
      query: "感冒吃什么药",
      origin: "human"
    })
    const graded = SftData.vanilla(labeled, { grades: [1, 2, 3] })
    assert.strictEqual(graded.counts["labeled.dropped.grade-not-selected"], 1)
  })

  it("dedupLabeled keeps one document per (query, grade), seeded", () => {
    const a = SftData.dedupLabeled(labeled, { seed: 3 })
    const b = SftData.dedupLabeled(labeled, { seed: 3 })
    assert.deepStrictEqual(a, b)
    // (感冒吃什么药, 3) has 4 rows (one an exact repeat) → 1; (感冒吃什么药, 1) → 1; (头疼怎么办, 0) → 1
    assert.strictEqual(a.length, 3)
    assert.strictEqual(a.filter((p) => p.label === 3).length, 1)
    assert.strictEqual(
      SftData.dedupLabeled(labeled, { maxDocsPerQuery: 2, seed: 3 }).filter((p) => p.label === 3).length,
      2
    )
    assert.throws(() => SftData.dedupLabeled(labeled, { maxDocsPerQuery: 0 }))
  })

  it("stage1 merges D2Q groups with the de-duplicated labeled data without repeating a pair", () => {
    const d2q: Array<Pair.D2QGroup> = [
      {
        did: "d1",
        doc: "感冒了吃什么药好",
        queries: [
          { query: "感冒吃什么药", grade: 3, origin: "human" },
          { query: "感冒药", grade: 2, origin: "score-model", probabilities: [0.1, 0.2, 0.6, 0.1] }
        ]
      }
    ]
    const set = SftData.stage1(d2q, [
      lp("q1", "d1", "感冒吃什么药", "感冒了吃什么药好", 3),
      lp("q3", "d9", "咳嗽", "咳嗽怎么办", 2)
    ])
    assert.deepStrictEqual(
      set.examples.map((e) => [e.query, e.grade, e.origin]),
      [
        ["感冒吃什么药", 3, "human"],
        ["感冒药", 2, "score-model"],
        ["咳嗽", 2, "human"]
      ]
    )
    assert.deepStrictEqual(set.counts, { "d2q.kept": 2, "labeled.dropped.duplicate": 1, "labeled.kept": 1 })
  })

  it("stage2 adds only the survivors every filter kept", () => {
    const survivor = (id: string, query: string, keep: boolean): SyntheticQuery.SyntheticQuery => ({
      id,
      did: "d5",
      doc: "鼻炎的治疗方法",
      query,
      stage: "stage1",
      targetGrade: 1,
      generator: { id: "g", promptVersion: "v" },
      verdicts: [
        { filter: "score-agreement", keep: true },
        { filter: "pairwise-consistency", keep }
      ],
      seed: 1
    })
    const base = SftData.vanilla(labeled.slice(0, 1))
    const set = SftData.stage2(base, [survivor("s1", "鼻炎", true), survivor("s2", "鼻塞", false)])
    assert.deepStrictEqual(
      set.examples.map((e) => [e.query, e.origin]),
      [
        ["感冒吃什么药", "human"],
        ["鼻炎", "synthetic"]
      ]
    )
    assert.strictEqual(set.counts["synthetic.dropped.rejected-by-filter"], 1)
  })

  it.effect("writes chat JSONL atomically: system, user (document + grade), assistant (the query)", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sft-"))
      const file = path.join(dir, "stage1.jsonl")
      const summary = yield* SftData.writeChatJsonl(SftData.vanilla(labeled), file, { scale: { max: 3 } })
      assert.strictEqual(summary.rows, 5)
      const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n")
      assert.strictEqual(lines.length, 5)
      const row = JSON.parse(lines[0]!)
      assert.deepStrictEqual(
        row.messages.map((m: any) => m.role),
        ["system", "user", "assistant"]
      )
      assert.strictEqual(row.messages[1].content, "Document:\n感冒了吃什么药好\nGrade: 3")
      assert.deepStrictEqual(JSON.parse(row.messages[2].content), { queries: ["感冒吃什么药"] })
      assert.deepStrictEqual(fs.readdirSync(dir), ["stage1.jsonl"]) // no temporary file left behind
    })
  )
})
