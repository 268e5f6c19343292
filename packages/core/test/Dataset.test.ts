import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Dataset, Grade, Pair, Trec } from "@ssra/core"
import { Effect, Schema, Stream } from "effect"

const dataDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../data")

/** Row counts from each folder's stats.json, which the source documents next to the files. */
const expected = {
  qbqtc: { scale: 2, labeled: 26_550, unlabeled: 7_560, retrievalTest: 3_582, pairTest: 2_063 },
  kuake_qtr: { scale: 3, labeled: 21_339, unlabeled: 5_455, retrievalTest: 527, pairTest: 1_772 }
} as const

describe("Dataset", () => {
  for (const [name, counts] of Object.entries(expected)) {
    it.effect(`the bundled ${name} set decodes fully`, () =>
      Effect.gen(function* () {
        const set = yield* Dataset.open(path.join(dataDir, name))
        assert.strictEqual(set.name, name)
        assert.strictEqual(set.scale.max, counts.scale)
        assert.strictEqual(yield* Stream.runCount(Dataset.labeled(set)), counts.labeled)
        assert.strictEqual(yield* Stream.runCount(Dataset.labeled(set, "retrievalTest")), counts.retrievalTest)
        assert.strictEqual(yield* Stream.runCount(Dataset.labeled(set, "pairTest")), counts.pairTest)
        // the qrels hold the same judgments as retrieval_test.jsonl
        const qrels = yield* Stream.runCollect(Dataset.qrels(set))
        assert.strictEqual(qrels.length, counts.retrievalTest)
        const test = yield* Stream.runCollect(Dataset.labeled(set, "retrievalTest"))
        const byPair = new Map(test.map((p) => [`${p.qid} ${p.did}`, p.label]))
        for (const q of qrels) assert.strictEqual(byPair.get(`${q.qid} ${q.did}`), q.grade)

        let summary: { rows: number; rejected: number } | undefined
        const unlabeled = yield* Stream.runCount(
          Dataset.unlabeled(set, { onInvalid: "skip", onSummary: (s) => (summary = s) })
        )
        assert.strictEqual(unlabeled + summary!.rejected, counts.unlabeled)
      })
    )
  }

  it.effect("the one bad row of the bundled data (an empty title in kuake_qtr/unlabeled.jsonl) is named exactly", () =>
    Effect.gen(function* () {
      const set = yield* Dataset.open(path.join(dataDir, "kuake_qtr"))
      const error = yield* Effect.flip(Stream.runDrain(Dataset.unlabeled(set)))
      assert.strictEqual(error.file, set.files.unlabeled)
      assert.strictEqual(error.line, 3994)
      assert.strictEqual(error.field, "doc")
      assert.include(error.detail, "non-empty text")
    })
  )

  it.effect("files() names what is missing and what the folder has", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-dataset-"))
      fs.writeFileSync(path.join(dir, "labeled.jsonl"), '{"qid":"q","did":"d","query":"a","doc":"b","label":1}\n')
      const error = yield* Effect.flip(Dataset.files(dir))
      assert.strictEqual(error.reason, "not-found")
      assert.strictEqual(error.file, path.join(dir, "unlabeled.jsonl"))
      assert.include(
        error.detail,
        "missing unlabeled.jsonl, retrieval_test.jsonl, pair_test.jsonl, retrieval_qrels.trec"
      )
      assert.include(error.detail, "it has: labeled.jsonl")
      const onlyLabeled = yield* Dataset.files(dir, { require: ["labeled"] })
      assert.strictEqual(onlyLabeled.labeled, path.join(dir, "labeled.jsonl"))
      // one layout: the optional documents file is part of it, but not required unless asked for
      assert.strictEqual(onlyLabeled.documents, path.join(dir, "documents.jsonl"))
      assert.notInclude(error.detail, "documents.jsonl")
      assert.include(
        (yield* Effect.flip(Dataset.files(dir, { require: ["documents"] }))).detail,
        "missing documents.jsonl"
      )
      assert.deepStrictEqual(
        Dataset.rowParts.map((p) => Dataset.fileNames[p]),
        ["labeled.jsonl", "unlabeled.jsonl", "documents.jsonl", "retrieval_test.jsonl", "pair_test.jsonl"]
      )
      const opened = yield* Dataset.open(dir, { require: [] })
      assert.deepStrictEqual(opened.scale, { max: 1, name: path.basename(dir) })
      assert.strictEqual((yield* Effect.flip(Dataset.files(path.join(dir, "nope")))).reason, "not-found")
    })
  )

  it.effect("a set's reader rejects a grade beyond the inferred scale", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-dataset-"))
      fs.writeFileSync(path.join(dir, "labeled.jsonl"), '{"qid":"q","did":"d","query":"a","doc":"b","label":2}\n')
      fs.writeFileSync(path.join(dir, "pair_test.jsonl"), '{"qid":"q","did":"d","query":"a","doc":"b","label":3}\n')
      fs.writeFileSync(path.join(dir, "retrieval_qrels.trec"), "q 0 d 3\n")
      const set = yield* Dataset.open(dir, { require: ["pairTest", "qrels"] })
      assert.strictEqual(set.scale.max, 2)
      const pairError = yield* Effect.flip(Stream.runDrain(Dataset.labeled(set, "pairTest")))
      assert.strictEqual(pairError.field, "label")
      assert.include(pairError.detail, "0..2 scale")
      const qrelsError = yield* Effect.flip(Stream.runDrain(Dataset.qrels(set)))
      assert.strictEqual(qrelsError.field, "grade")
    })
  )

  it("labeledPairOn checks the scale, the plain schema only 0..3", () => {
    const row = { qid: "q", did: "d", query: "a", doc: "b", label: 3 }
    assert.doesNotThrow(() => decode(Pair.LabeledPair, row))
    assert.doesNotThrow(() => decode(Pair.labeledPairOn(Grade.ssraScale), row))
    assert.throws(() => decode(Pair.labeledPairOn(Grade.scale(2)), row), /0\.\.2 scale/)
    assert.throws(() => decode(Pair.labeledPairOn(Grade.scale(2)), { ...row, label: 1.5 }), /integer/)
  })

  it.effect("inferScale reads the labels", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* Dataset.inferScale(path.join(dataDir, "qbqtc", "labeled.jsonl"))).max, 2)
      const qrels = yield* Trec.readQrelsMap(path.join(dataDir, "kuake_qtr", "retrieval_qrels.trec"), {
        scale: Grade.ssraScale
      })
      assert.strictEqual(qrels.size, 48)
    })
  )
})

const decode = (schema: Schema.Top, value: unknown) => Schema.decodeUnknownSync(schema as never)(value)
