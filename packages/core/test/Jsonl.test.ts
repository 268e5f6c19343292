import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { type DatasetError, Grade, Jsonl, Pair, SyntheticQuery, TrainingRow } from "@ssra/core"
import { Effect, Stream } from "effect"
import { labeledRows, syntheticRows, trainingRows, unlabeledRows } from "./fixtures/rows.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-core-"))

const good = '{"qid":"q1","did":"d1","query":"蜜蜂纪录片","doc":"搞笑蜜蜂猫咪","label":1}'

/** Writes `content` to a fresh file and reads it as labeled pairs, returning the error. */
const readError = (content: string | Uint8Array, options: Jsonl.ReadOptions = {}) =>
  Effect.gen(function* () {
    const file = path.join(tmp(), "bad.jsonl")
    fs.writeFileSync(file, content)
    const error = yield* Effect.flip(Jsonl.readAll(file, Pair.LabeledPair, options))
    assert.strictEqual(error._tag, "DatasetError")
    assert.strictEqual(error.file, file)
    assert.include(error.message, file)
    return error
  })

describe("Jsonl", () => {
  it.effect("round trips every core row schema", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const cases = [
        [Pair.LabeledPair, labeledRows],
        [Pair.UnlabeledPair, unlabeledRows],
        [SyntheticQuery.SyntheticQuery, syntheticRows],
        [TrainingRow.TrainingRow, trainingRows]
      ] as const
      for (const [i, [schema, rows]] of cases.entries()) {
        const file = path.join(dir, `${i}.jsonl`)
        const summary = yield* Jsonl.writeAll(file, rows as unknown as ReadonlyArray<unknown>, {
          schema: schema as never
        })
        assert.strictEqual(summary.rows, rows.length)
        assert.strictEqual(summary.bytes, fs.statSync(file).size)
        const back = yield* Jsonl.readAll(file, schema as never)
        assert.deepStrictEqual(back, rows)
      }
    })
  )

  it.effect(
    "a stream can be run twice, and handles CRLF, blank lines, no final newline and lines across read chunks",
    () =>
      Effect.gen(function* () {
        const file = path.join(tmp(), "a.jsonl")
        const long = { qid: "q", did: "d", query: "长", doc: "文".repeat(700_000), label: 3 }
        fs.writeFileSync(file, `${good}\r\n\n   \n${JSON.stringify(long)}\n${good}`)
        const stream = Jsonl.read(file, Pair.LabeledPair)
        const first = yield* Stream.runCollect(stream)
        const second = yield* Stream.runCollect(stream)
        assert.strictEqual(first.length, 3)
        assert.deepStrictEqual(first, second)
        assert.strictEqual(first[1]!.doc.length, 700_000)
      })
  )

  describe("bad input names file, line and field", () => {
    it.effect("malformed line", () =>
      Effect.gen(function* () {
        const error = yield* readError(`${good}\n{"qid":"q2","did":\n`)
        assert.strictEqual(error.reason, "malformed")
        assert.strictEqual(error.line, 2)
        assert.include(error.message, ":2:")
        assert.include(error.detail, "malformed JSON")
      })
    )

    it.effect("wrong type", () =>
      Effect.gen(function* () {
        const error = yield* readError(`${good}\n${good}\n{"qid":"q","did":"d","query":"a","doc":"b","label":"2"}\n`)
        assert.strictEqual(error.reason, "invalid")
        assert.strictEqual(error.line, 3)
        assert.strictEqual(error.field, "label")
        assert.include(error.detail, "Expected number")
        assert.include(error.detail, 'got "2"')
      })
    )

    it.effect("missing field", () =>
      Effect.gen(function* () {
        const error = yield* readError('{"qid":"q","did":"d","query":"a","label":2}\n')
        assert.strictEqual(error.line, 1)
        assert.strictEqual(error.field, "doc")
        assert.include(error.detail, "Missing key")
      })
    )

    it.effect("grade 7", () =>
      Effect.gen(function* () {
        const error = yield* readError(`${good}\n{"qid":"q","did":"d","query":"a","doc":"b","label":7}\n`)
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "label")
        assert.include(error.detail, "between 0 and 3")
        assert.include(error.detail, "got 7")
        assert.include(error.message, `${error.file}:2:`)
      })
    )

    it.effect("grade 3 in a set graded 0–2", () =>
      Effect.gen(function* () {
        const file = path.join(tmp(), "qbqtc.jsonl")
        fs.writeFileSync(file, `${good}\n{"qid":"q","did":"d","query":"a","doc":"b","label":3}\n`)
        const error = yield* Effect.flip(Jsonl.readAll(file, Pair.labeledPairOn(Grade.scale(2, "qbqtc"))))
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "label")
        assert.include(error.detail, "0..2 scale (qbqtc)")
        assert.include(error.detail, "got 3")
      })
    )

    it.effect("empty text", () =>
      Effect.gen(function* () {
        const error = yield* readError(`${good}\n{"qid":"q","did":"d","query":"   ","doc":"b","label":1}\n`)
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "query")
        assert.include(error.detail, "non-empty text")
      })
    )

    it.effect("empty text nested in an array names the element path", () =>
      Effect.gen(function* () {
        const file = path.join(tmp(), "d2q.jsonl")
        fs.writeFileSync(
          file,
          '{"did":"d","doc":"文档","queries":[{"query":"a","grade":1,"origin":"human"},{"query":"","grade":2,"origin":"human"}]}\n'
        )
        const error = yield* Effect.flip(Jsonl.readAll(file, Pair.D2QGroup))
        assert.strictEqual(error.line, 1)
        assert.strictEqual(error.field, "queries[1].query")
      })
    )

    it.effect("invalid UTF-8", () =>
      Effect.gen(function* () {
        const bytes = Buffer.concat([
          Buffer.from(`${good}\n{"qid":"q","did":"d","query":"`),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('","doc":"b","label":1}\n')
        ])
        const error = yield* readError(bytes)
        assert.strictEqual(error.reason, "encoding")
        assert.strictEqual(error.line, 2)
        assert.include(error.detail, "invalid UTF-8")
        assert.include(error.hint ?? "", "iconv")
      })
    )

    it.effect("GBK text is reported as invalid UTF-8 on its line", () =>
      Effect.gen(function* () {
        // "蜜蜂" in GBK
        const bytes = Buffer.concat([
          Buffer.from(`${good}\n${good}\n{"qid":"q","did":"d","query":"`),
          Buffer.from([0xc3, 0xdb, 0xb7, 0xe4]),
          Buffer.from('","doc":"b","label":1}\n')
        ])
        const error = yield* readError(bytes)
        assert.strictEqual(error.reason, "encoding")
        assert.strictEqual(error.line, 3)
      })
    )

    it.effect("a BOM", () =>
      Effect.gen(function* () {
        const error = yield* readError(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${good}\n`)]))
        assert.strictEqual(error.reason, "encoding")
        assert.strictEqual(error.line, 1)
        assert.include(error.detail, "byte-order mark")
        assert.include(error.hint ?? "", "allowBom")
      })
    )

    it.effect("a BOM is accepted with allowBom", () =>
      Effect.gen(function* () {
        const file = path.join(tmp(), "bom.jsonl")
        fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${good}\n${good}\n`)]))
        const rows = yield* Jsonl.readAll(file, Pair.LabeledPair, { allowBom: true })
        assert.strictEqual(rows.length, 2)
        assert.strictEqual(rows[0]!.qid, "q1")
      })
    )

    it.effect("a 10 MB line", () =>
      Effect.gen(function* () {
        const huge = JSON.stringify({ qid: "q", did: "d", query: "a", doc: "x".repeat(10_000_000), label: 1 })
        const error = yield* readError(`${good}\n${huge}\n${good}\n`)
        assert.strictEqual(error.reason, "too-large")
        assert.strictEqual(error.line, 2)
        assert.include(error.detail, "8388608-byte limit")
        assert.include(error.hint ?? "", "maxLineBytes")
      })
    )

    it.effect("an empty file", () =>
      Effect.gen(function* () {
        const error = yield* readError("")
        assert.strictEqual(error.reason, "empty")
        assert.include(error.detail, "no rows")
      })
    )

    it.effect("a file of blank lines is empty too; allowEmpty accepts it", () =>
      Effect.gen(function* () {
        const error = yield* readError("\n\n  \n")
        assert.strictEqual(error.reason, "empty")
        const file = path.join(tmp(), "empty.jsonl")
        fs.writeFileSync(file, "")
        assert.deepStrictEqual(yield* Jsonl.readAll(file, Pair.LabeledPair, { allowEmpty: true }), [])
      })
    )

    it.effect("a missing file and a directory", () =>
      Effect.gen(function* () {
        const dir = tmp()
        const missing = yield* Effect.flip(Jsonl.readAll(path.join(dir, "nope.jsonl"), Pair.LabeledPair))
        assert.strictEqual(missing.reason, "not-found")
        const directory = yield* Effect.flip(Jsonl.readAll(dir, Pair.LabeledPair))
        assert.include(directory.detail, "is a directory")
      })
    )
  })

  it.effect("onInvalid: skip writes rejects with reasons and reports counts", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const file = path.join(dir, "mixed.jsonl")
      const rejectsFile = path.join(dir, "mixed.rejects.jsonl")
      const huge = JSON.stringify({ qid: "q", did: "d", query: "a", doc: "x".repeat(2000), label: 1 })
      fs.writeFileSync(
        file,
        Buffer.concat([
          Buffer.from(
            `${good}\n{"qid":"q","did":"d","query":"a","doc":"b","label":7}\nnot json\n${good}\n{"qid":"q","did":"d","query":"`
          ),
          Buffer.from([0xff]),
          Buffer.from(`","doc":"b","label":1}\n${huge}\n{"qid":"q","did":"d","query":"a","label":1}\n${good}\n`)
        ])
      )
      let summary: Jsonl.ReadSummary | undefined
      const rows = yield* Jsonl.readAll(file, Pair.LabeledPair, {
        onInvalid: "skip",
        rejectsFile,
        maxLineBytes: 1000,
        onSummary: (s) => {
          summary = s
        }
      })
      assert.strictEqual(rows.length, 3)
      assert.deepStrictEqual(summary, { file, rows: 3, rejected: 5, rejectsFile })
      const rejects = fs
        .readFileSync(rejectsFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as DatasetError.Rejection)
      assert.deepStrictEqual(
        rejects.map((r) => r.line),
        [2, 3, 5, 6, 7]
      )
      assert.strictEqual(rejects[0]!.field, "label")
      assert.include(rejects[0]!.reason, "got 7")
      assert.include(rejects[1]!.reason, "malformed JSON")
      assert.include(rejects[2]!.reason, "invalid UTF-8")
      assert.include(rejects[3]!.reason, "1000-byte limit")
      assert.strictEqual(rejects[4]!.field, "doc")
      assert.include(rejects[0]!.raw, '"label":7')
    })
  )

  it.effect("a line over maxLineBytes inside valid UTF-8 is rejected on its own line", () =>
    Effect.gen(function* () {
      const file = path.join(tmp(), "long.jsonl")
      const long = JSON.stringify({ qid: "q", did: "d", query: "长", doc: "文".repeat(700), label: 1 })
      fs.writeFileSync(file, `${good}\n${long}\n${good}\n`)
      let rejected = 0
      const rows = yield* Jsonl.readAll(file, Pair.LabeledPair, {
        onInvalid: "skip",
        maxLineBytes: 1000,
        onSummary: (s) => (rejected = s.rejected)
      })
      assert.strictEqual(rows.length, 2)
      assert.strictEqual(rejected, 1)
      const error = yield* Effect.flip(Jsonl.readAll(file, Pair.LabeledPair, { maxLineBytes: 1000 }))
      assert.strictEqual(error.reason, "too-large")
      assert.strictEqual(error.line, 2)
    })
  )

  it.effect("a file whose rows are all invalid is an error even when skipping", () =>
    Effect.gen(function* () {
      const error = yield* readError('{"qid":"q"}\n', { onInvalid: "skip" })
      assert.strictEqual(error.reason, "empty")
      assert.include(error.detail, "1 rejected")
    })
  )

  it.effect("never writes NaN, naming the row and field, and leaves the old file", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const file = path.join(dir, "syn.jsonl")
      fs.writeFileSync(file, "old\n")
      const nan = {
        ...syntheticRows[0]!,
        judged: { ...syntheticRows[0]!.judged!, probabilities: [0.5, Number.NaN, 0.5] }
      }
      const error = yield* Effect.flip(
        Jsonl.writeAll(file, [syntheticRows[1]!, nan], { schema: SyntheticQuery.SyntheticQuery })
      )
      assert.strictEqual(error.line, 2)
      assert.strictEqual(error.field, "judged.probabilities[1]")
      assert.include(error.message, "row 2: judged.probabilities[1] is not a finite number (NaN or infinite)")
      const noSchema = yield* Effect.flip(Jsonl.writeAll(file, [{ score: Number.POSITIVE_INFINITY }]))
      assert.strictEqual(noSchema.field, "score")
      assert.strictEqual(fs.readFileSync(file, "utf8"), "old\n")
    })
  )

  it.effect("writing with a schema validates rows and leaves no file on failure", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const file = path.join(dir, "out.jsonl")
      const bad = [labeledRows[0]!, { ...labeledRows[1]!, label: 9 as 0 }]
      const error = yield* Effect.flip(Jsonl.writeAll(file, bad, { schema: Pair.LabeledPair }))
      assert.strictEqual(error.reason, "invalid")
      assert.strictEqual(error.line, 2)
      assert.strictEqual(error.field, "label")
      assert.include(error.detail, "got 9")
      assert.isFalse(fs.existsSync(file))
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    })
  )
})
