import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { type DatasetError, Pair, Parquet, SyntheticQuery, TrainingRow } from "@ssra/core"
import { Effect, Schema, Stream } from "effect"
import { parquetWriteBuffer } from "hyparquet-writer"
import { labeledRows, syntheticRows, trainingRows, unlabeledRows } from "./fixtures/rows.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-parquet-"))

/** A Parquet file written column by column with the raw writer, as another tool would write it. */
const rawFile = (
  columns: Array<{ name: string; data: Array<unknown>; type: "STRING" | "INT32" | "DOUBLE" | "JSON" }>
) => {
  const file = path.join(tmp(), "raw.parquet")
  fs.writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: columns as never, rowGroupSize: 2 })))
  return file
}

const pairColumns = (overrides: Partial<Record<"qid" | "did" | "query" | "doc" | "label", Array<unknown>>> = {}) => {
  const base = {
    qid: ["q1", "q2", "q3", "q4"],
    did: ["d1", "d2", "d3", "d4"],
    query: ["蜜蜂", "科目一", "qq邮箱", "猫"],
    doc: ["蜜蜂纪录片", "驾考", "网页版", "猫咪视频"],
    label: [0, 1, 2, 1],
    ...overrides
  }
  return Object.entries(base).map(([name, data]) => ({
    name,
    data,
    type: (name === "label" ? (typeof data[0] === "number" ? "INT32" : "STRING") : "STRING") as "STRING" | "INT32"
  }))
}

const readError = (file: string, options: Parquet.ReadOptions = {}) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(Parquet.readAll(file, Pair.LabeledPair, options))
    assert.strictEqual(error.file, file)
    assert.include(error.message, file)
    return error
  })

describe("Parquet", () => {
  it("derives columns from the schema's encoded struct", () => {
    assert.deepStrictEqual(
      Parquet.columnsOf(Pair.LabeledPair).map((c) => `${c.name}:${c.type}${c.optional ? "?" : ""}`),
      ["qid:string", "did:string", "query:string", "doc:string", "label:int32", "src:string?"]
    )
    assert.deepStrictEqual(
      Parquet.columnsOf(SyntheticQuery.SyntheticQuery).map((c) => `${c.name}:${c.type}${c.optional ? "?" : ""}`),
      [
        "id:string",
        "did:string",
        "doc:string",
        "query:string",
        "stage:string",
        "targetGrade:int32",
        "generator:json",
        "judged:json?",
        "verdicts:json",
        "seed:int64",
        "parentRun:string?"
      ]
    )
    assert.deepStrictEqual(
      Parquet.columnsOf(TrainingRow.TrainingRow).map((c) => `${c.name}:${c.type}`),
      [
        "query:string",
        "positive:string",
        "negatives:json",
        "grade:int32",
        "weight:double",
        "origin:string",
        "qid:string",
        "did:string"
      ]
    )
  })

  it.effect("nullable, optional and non-struct schemas", () =>
    Effect.gen(function* () {
      const Row = Schema.Struct({
        a: Schema.NullOr(Schema.String),
        b: Schema.optionalKey(Schema.Number),
        c: Schema.optionalKey(Schema.Boolean),
        d: Schema.Literals(["x", "y"]),
        e: Schema.Array(Schema.Int)
      })
      assert.deepStrictEqual(
        Parquet.columnsOf(Row).map((c) => `${c.name}:${c.type}${c.optional ? "?" : ""}${c.nullable ? "|null" : ""}`),
        ["a:string|null", "b:double?", "c:boolean?", "d:string", "e:json"]
      )
      const rows: Array<typeof Row.Type> = [
        { a: null, d: "x", e: [] },
        { a: "文", b: 1.5, c: false, d: "y", e: [1, 2] },
        { a: "", b: -0.25, c: true, d: "x", e: [3] }
      ]
      const file = path.join(tmp(), "mixed.parquet")
      yield* Parquet.writeAll(file, rows, { schema: Row })
      assert.deepStrictEqual(yield* Parquet.readAll(file, Row), rows)
      assert.throws(() => Parquet.columnsOf(Schema.Record(Schema.String, Schema.Number)), /struct schema/)
      assert.throws(
        () => Parquet.columnsOf(Schema.Struct({ c: Schema.optionalKey(Schema.NullOr(Schema.Boolean)) })),
        /field c is both optional and nullable/
      )
      const error = yield* Effect.flip(Parquet.readAll(file, Schema.String))
      assert.strictEqual(error.reason, "invalid")
      assert.include(error.detail, "struct schema")
    })
  )

  it.effect("round trips every core row schema, one row group per row", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const cases = [
        [Pair.LabeledPair, labeledRows],
        [Pair.UnlabeledPair, unlabeledRows],
        [SyntheticQuery.SyntheticQuery, syntheticRows],
        [TrainingRow.TrainingRow, trainingRows]
      ] as const
      for (const [i, [schema, rows]] of cases.entries()) {
        const file = path.join(dir, `${i}.parquet`)
        const summary = yield* Parquet.writeAll(file, rows as unknown as ReadonlyArray<unknown>, {
          schema: schema as never,
          rowGroupSize: 1
        })
        assert.strictEqual(summary.rows, rows.length)
        assert.strictEqual(summary.rowGroups, rows.length)
        assert.strictEqual(summary.bytes, fs.statSync(file).size)
        const back = yield* Parquet.readAll(file, schema as never)
        assert.deepStrictEqual(back, rows)
      }
    })
  )

  it.effect("reads one row group at a time and writes row groups as the stream arrives", () =>
    Effect.gen(function* () {
      const file = path.join(tmp(), "many.parquet")
      const n = 25_000
      const rows = Stream.range(0, n - 1).pipe(
        Stream.map(
          (i): Pair.LabeledPair => ({
            qid: `q${i % 997}`,
            did: `d${i}`,
            query: `查询${i % 31}`,
            doc: `文档 ${i}`,
            label: (i % 4) as 0,
            ...(i % 5 === 0 ? { src: `s${i}` } : {})
          })
        )
      )
      const summary = yield* Parquet.write(file, rows, {
        schema: Pair.LabeledPair,
        rowGroupSize: 4_000,
        metadata: { producer: "test" }
      })
      assert.strictEqual(summary.rowGroups, 7)
      const meta = yield* Parquet.metadata(file)
      assert.strictEqual(meta.rows, n)
      assert.deepStrictEqual(meta.rowGroups, [4000, 4000, 4000, 4000, 4000, 4000, 1000])
      const chunkSizes: Array<number> = []
      let label = 0
      yield* Stream.runForEachArray(Parquet.read(file, Pair.LabeledPair), (chunk) =>
        Effect.sync(() => {
          chunkSizes.push(chunk.length)
          for (const row of chunk) label += row.label
        })
      )
      assert.deepStrictEqual(chunkSizes, [4000, 4000, 4000, 4000, 4000, 4000, 1000])
      assert.strictEqual(label, (n / 4) * (0 + 1 + 2 + 3))
      const tenth = yield* Stream.runCollect(Stream.take(Stream.drop(Parquet.read(file, Pair.LabeledPair), 9_999), 2))
      assert.deepStrictEqual(tenth, [
        { qid: `q${9999 % 997}`, did: "d9999", query: `查询${9999 % 31}`, doc: "文档 9999", label: 3 },
        {
          qid: `q${10000 % 997}`,
          did: "d10000",
          query: `查询${10000 % 31}`,
          doc: "文档 10000",
          label: 0,
          src: "s10000"
        }
      ])
    })
  )

  describe("bad input names file, row and field", () => {
    it.effect("grade 7", () =>
      Effect.gen(function* () {
        const error = yield* readError(rawFile(pairColumns({ label: [0, 1, 7, 1] })))
        assert.strictEqual(error.reason, "invalid")
        assert.strictEqual(error.line, 3)
        assert.strictEqual(error.field, "label")
        assert.include(error.detail, "row 3")
        assert.include(error.detail, "got 7")
      })
    )

    it.effect("wrong type", () =>
      Effect.gen(function* () {
        const error = yield* readError(rawFile(pairColumns({ label: ["0", "1", "2", "1"] })))
        assert.strictEqual(error.line, 1)
        assert.strictEqual(error.field, "label")
        assert.include(error.detail, "Expected number")
      })
    )

    it.effect("missing column", () =>
      Effect.gen(function* () {
        const file = rawFile(pairColumns().filter((c) => c.name !== "doc"))
        const error = yield* readError(file)
        assert.strictEqual(error.field, "doc")
        assert.include(error.detail, "missing column doc")
        assert.include(error.detail, "qid, did, query, label")
      })
    )

    it.effect("missing value in a required field", () =>
      Effect.gen(function* () {
        const error = yield* readError(rawFile(pairColumns({ doc: ["a", "b", "c", null] })))
        assert.strictEqual(error.line, 4)
        assert.strictEqual(error.field, "doc")
        assert.include(error.detail, "Missing key")
      })
    )

    it.effect("empty text", () =>
      Effect.gen(function* () {
        const error = yield* readError(rawFile(pairColumns({ query: ["a", " ", "c", "d"] })))
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "query")
        assert.include(error.detail, "non-empty text")
      })
    )

    it.effect("malformed JSON in a nested field", () =>
      Effect.gen(function* () {
        const file = rawFile([
          { name: "query", data: ["a", "b"], type: "STRING" },
          { name: "positive", data: ["p", "q"], type: "STRING" },
          { name: "negatives", data: ['["x"]', "[not json"], type: "STRING" },
          { name: "grade", data: [1, 2], type: "INT32" },
          { name: "weight", data: [1, 0.5], type: "DOUBLE" },
          { name: "origin", data: ["labeled", "labeled"], type: "STRING" }
        ])
        const error = yield* Effect.flip(Parquet.readAll(file, TrainingRow.TrainingRow))
        assert.strictEqual(error.reason, "malformed")
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "negatives")
      })
    )

    it.effect("an empty file, a file with no rows, a file that is not Parquet, a truncated file", () =>
      Effect.gen(function* () {
        const dir = tmp()
        const empty = path.join(dir, "empty.parquet")
        fs.writeFileSync(empty, "")
        assert.strictEqual((yield* readError(empty)).reason, "empty")

        const noRows = path.join(dir, "none.parquet")
        yield* Parquet.writeAll(noRows, [], { schema: Pair.LabeledPair })
        const none = yield* readError(noRows)
        assert.strictEqual(none.reason, "empty")
        assert.deepStrictEqual(yield* Parquet.readAll(noRows, Pair.LabeledPair, { allowEmpty: true }), [])

        const jsonl = path.join(dir, "pairs.parquet")
        fs.writeFileSync(jsonl, '{"qid":"q","did":"d","query":"a","doc":"b","label":1}\n')
        const notParquet = yield* readError(jsonl)
        assert.strictEqual(notParquet.reason, "malformed")
        assert.include(notParquet.detail, "PAR1")

        const good = path.join(dir, "good.parquet")
        yield* Parquet.writeAll(good, labeledRows, { schema: Pair.LabeledPair })
        const truncated = path.join(dir, "truncated.parquet")
        fs.writeFileSync(truncated, fs.readFileSync(good).subarray(0, 200))
        assert.strictEqual((yield* readError(truncated)).reason, "malformed")

        assert.strictEqual((yield* readError(path.join(dir, "missing.parquet"))).reason, "not-found")
      })
    )
  })

  it.effect("onInvalid: skip writes rejects with reasons and reports counts", () =>
    Effect.gen(function* () {
      const file = rawFile(pairColumns({ label: [0, 9, 2, 8], query: ["a", "b", "c", "d"] }))
      const rejectsFile = path.join(path.dirname(file), "rejects.jsonl")
      let summary: Parquet.ReadSummary | undefined
      const rows = yield* Parquet.readAll(file, Pair.LabeledPair, {
        onInvalid: "skip",
        rejectsFile,
        onSummary: (s) => {
          summary = s
        }
      })
      assert.deepStrictEqual(
        rows.map((r) => r.qid),
        ["q1", "q3"]
      )
      assert.deepStrictEqual(summary, { file, rows: 2, rejected: 2, rowGroups: 2, rejectsFile })
      const rejects = fs
        .readFileSync(rejectsFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as DatasetError.Rejection)
      assert.deepStrictEqual(
        rejects.map((r) => [r.line, r.field]),
        [
          [2, "label"],
          [4, "label"]
        ]
      )
      assert.include(rejects[0]!.reason, "got 9")
      assert.include(rejects[0]!.raw, '"label":9')
    })
  )

  it.effect("never writes NaN and leaves no file when a row is invalid", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const file = path.join(dir, "syn.parquet")
      const nan = { ...syntheticRows[0]!, judged: { ...syntheticRows[0]!.judged!, expected: Number.NaN } }
      const error = yield* Effect.flip(
        Parquet.writeAll(file, [syntheticRows[1]!, nan], { schema: SyntheticQuery.SyntheticQuery })
      )
      assert.strictEqual(error.line, 2)
      assert.strictEqual(error.field, "judged.expected")
      assert.include(error.message, "row 2: judged.expected is not a finite number (NaN or infinite)")
      assert.deepStrictEqual(fs.readdirSync(dir), [])

      const badGrade = yield* Effect.flip(
        Parquet.writeAll(file, [{ ...labeledRows[0]!, label: 5 as 0 }], { schema: Pair.LabeledPair })
      )
      assert.strictEqual(badGrade.field, "label")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    })
  )
})
