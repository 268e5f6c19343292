import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade, Jsonl, type TrainingRow } from "@ssra/core"
import { Export, TrainingSet } from "@ssra/embedding"
import { Effect, Schema } from "effect"
import { loadGroups, tmp } from "./helpers.js"

const rowsOf = Effect.map(loadGroups("kuake_qtr", "labeled.jsonl", 40), (pairs) =>
  TrainingSet.fromLabeledPairs(pairs, { scheme: "negatives-kept", scale: Grade.ssraScale })
)

describe("Export", () => {
  it.effect("sentence-transformers rows validate against their schema and carry the weights", () =>
    Effect.gen(function* () {
      const rows = yield* rowsOf
      const file = path.join(tmp(), "st.jsonl")
      const summary = yield* Export.sentenceTransformers(rows, file, { negatives: 2 })
      assert.strictEqual(summary.rows + summary.skipped, rows.length)
      const back = yield* Jsonl.readAll(file, Export.SentenceTransformersRow(2))
      assert.strictEqual(back.length, summary.rows)
      const first = JSON.parse(fs.readFileSync(file, "utf8").split("\n")[0]!)
      assert.deepStrictEqual(Object.keys(first), ["anchor", "positive", "negative_1", "negative_2", "score"])
      const source = rows.find((r) => r.query === first.anchor && r.positive === first.positive)!
      assert.strictEqual(first.score, source.weight)
      for (const r of back) assert.notStrictEqual(r.negative_1, r.positive)
      // a row missing negative_2 fails the schema
      fs.writeFileSync(file, JSON.stringify({ anchor: "a", positive: "b", negative_1: "c", score: 1 }) + "\n")
      const error = yield* Effect.flip(Jsonl.readAll(file, Export.SentenceTransformersRow(2)))
      assert.include(error.message, "negative_2")
    })
  )

  it.effect("FlagEmbedding rows validate; fill: skip drops rows without enough negatives", () =>
    Effect.gen(function* () {
      const rows = yield* rowsOf
      const file = path.join(tmp(), "flag.jsonl")
      const filled = yield* Export.flagEmbedding(rows, file, { negatives: 3, prompt: "为这个查询检索相关文档：" })
      const back = yield* Jsonl.readAll(file, Export.FlagEmbeddingRow)
      assert.strictEqual(back.length, filled.rows)
      assert.isAbove(filled.filled, 0)
      for (const r of back) {
        assert.strictEqual(r.neg.length, 3)
        assert.strictEqual(r.pos_scores.length, 1)
        assert.deepStrictEqual(r.neg_scores, [0, 0, 0])
        assert.strictEqual(r.prompt, "为这个查询检索相关文档：")
      }
      const skipped = yield* Export.flagEmbedding(rows, file, { negatives: 3, fill: "skip" })
      assert.isBelow(skipped.rows, filled.rows)
      assert.strictEqual(skipped.filled, 0)
      const bad = Schema.decodeUnknownExit(Export.FlagEmbeddingRow)({
        query: "q",
        pos: ["p"],
        neg: ["n"],
        pos_scores: [],
        neg_scores: [0]
      })
      assert.strictEqual(bad._tag, "Failure")
      const zero: Array<TrainingRow.TrainingRow> = [
        { query: "q", positive: "p", negatives: [], grade: 0, weight: 0, origin: "labeled" }
      ]
      assert.strictEqual((yield* Effect.flip(Export.flagEmbedding(zero, file)))._tag, "TrainingError")
    })
  )

  it.effect("launch kit: config validates, script compiles, command line uses torchrun", () =>
    Effect.gen(function* () {
      const rows = yield* rowsOf
      const dir = path.join(tmp(), "kit")
      const kit = yield* Export.launchKit(dir, { rows, config: { nproc_per_node: 4 } })
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [
        "README.md",
        "config.json",
        "launch.sh",
        "train.jsonl",
        "train_weighted.py"
      ])
      const config = Schema.decodeUnknownSync(Export.LaunchConfig)(
        JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
      )
      assert.strictEqual(config.lora.r, 32)
      assert.strictEqual(config.learning_rate, 1e-5)
      assert.strictEqual(config.global_batch_size, 512)
      assert.strictEqual(config.temperature_init, 0.03)
      assert.isTrue(config.learn_temperature)
      const train = yield* Jsonl.readAll(
        path.join(dir, "train.jsonl"),
        Export.SentenceTransformersRow(config.negatives_per_row)
      )
      assert.strictEqual(train.length, kit.data.rows)
      const launch = fs.readFileSync(path.join(dir, "launch.sh"), "utf8")
      assert.include(
        launch,
        'torchrun --standalone --nnodes=1 --nproc_per_node="$NPROC" train_weighted.py --config config.json'
      )
      assert.include(launch, 'NPROC="$' + '{NPROC:-4}"')
      const script = fs.readFileSync(path.join(dir, "train_weighted.py"), "utf8")
      assert.include(script, "(weights * loss_i).sum() / b")
      // syntax check with the interpreter the kit targets, when this machine has one (torch need not be installed)
      const python = spawnSync("python3", ["-m", "py_compile", path.join(dir, "train_weighted.py")], {
        encoding: "utf8"
      })
      if (python.error === undefined) assert.strictEqual(python.status, 0, python.stderr)
      const badBatch = yield* Effect.flip(
        Export.launchKit(path.join(tmp(), "k2"), { rows, config: { nproc_per_node: 3 } })
      )
      assert.include(badBatch.message, "not a multiple")
    })
  )
})
