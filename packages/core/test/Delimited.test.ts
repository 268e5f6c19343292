import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Dataset, Delimited, Jsonl, Pair } from "@ssra/core"
import { Effect, Stream } from "effect"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-delimited-"))

const put = (name: string, content: string | Uint8Array) => {
  const file = path.join(tmp(), name)
  fs.writeFileSync(file, content)
  return file
}

const readError = (file: string, options: Delimited.ReadOptions = {}) =>
  Effect.map(Effect.flip(Delimited.readAll(file, Pair.LabeledPair, options)), (error) => {
    assert.strictEqual(error.file, file)
    return error
  })

const header = "qid,did,query,doc,label"

describe("Delimited", () => {
  it.effect("CSV: quoted commas, doubled quotes, line breaks inside quotes, CRLF, extra columns, numeric ids", () =>
    Effect.gen(function* () {
      const file = put(
        "labeled.csv",
        [
          "qid,did,query,doc,label,annotator",
          'q1,d1,"bees, the film","a ""funny"" bee",2,ann',
          'q1,d2,bees,"line one',
          'line two, still the doc",0,ann',
          "",
          "7,42,plain,text,1,",
          ",,,,,",
          'q2,d3,"q",d,3,"x"'
        ].join("\r\n")
      )
      const rows = yield* Delimited.readAll(file, Pair.LabeledPair)
      assert.deepStrictEqual(rows, [
        { qid: "q1", did: "d1", query: "bees, the film", doc: 'a "funny" bee', label: 2 },
        { qid: "q1", did: "d2", query: "bees", doc: "line one\nline two, still the doc", label: 0 },
        { qid: "7", did: "42", query: "plain", doc: "text", label: 1 },
        { qid: "q2", did: "d3", query: "q", doc: "d", label: 3 }
      ])
    })
  )

  it.effect("TSV: split on tabs, quotes kept as text, a file without a final newline", () =>
    Effect.gen(function* () {
      const file = put("unlabeled.tsv", `qid\tdid\tquery\tdoc\nu1\td1\t"quoted"\ta, b\nu2\td2\tq\td`)
      const rows = yield* Delimited.readAll(file, Pair.UnlabeledPair)
      assert.deepStrictEqual(rows, [
        { qid: "u1", did: "d1", query: '"quoted"', doc: "a, b" },
        { qid: "u2", did: "d2", query: "q", doc: "d" }
      ])
    })
  )

  it.effect("a byte-order mark is an error as in JSONL, and read past with allowBom", () =>
    Effect.gen(function* () {
      const file = put("bom.csv", `\uFEFF${header}\nq,d,a,b,1\n`)
      const error = yield* readError(file)
      assert.strictEqual(error.reason, "encoding")
      assert.strictEqual(error.line, 1)
      assert.include(error.message, "--allow-bom")
      const rows = yield* Delimited.readAll(file, Pair.LabeledPair, { allowBom: true })
      assert.deepStrictEqual(rows, [{ qid: "q", did: "d", query: "a", doc: "b", label: 1 }])
    })
  )

  it.effect("a bad label fails at its physical line with the field and JSONL's message", () =>
    Effect.gen(function* () {
      // the bad row is the third record but on line 5: the second record spans lines 3-4
      const csv = put("bad.csv", `${header}\nq,d1,a,b,1\nq,d2,a,"two\nlines",2\nq,d3,a,b,high\n`)
      const error = yield* readError(csv)
      assert.strictEqual(error.line, 5)
      assert.strictEqual(error.field, "label")
      assert.strictEqual(error.reason, "invalid")
      assert.include(error.message, `${csv}:5:`)
      const jsonl = put("bad.jsonl", '{"qid":"q","did":"d3","query":"a","doc":"b","label":"high"}\n')
      const fromJsonl = yield* Effect.flip(Jsonl.readAll(jsonl, Pair.LabeledPair))
      assert.strictEqual(error.detail, fromJsonl.detail)
      const outOfScale = yield* readError(put("scale.csv", `${header}\nq,d,a,b,4\n`))
      assert.strictEqual(outOfScale.line, 2)
      assert.strictEqual(outOfScale.field, "label")
      const fraction = yield* readError(put("fraction.csv", `${header}\nq,d,a,b,1.5\n`))
      assert.strictEqual(fraction.field, "label")
    })
  )

  it.effect("a missing column is one error naming the file, the column and the header seen, even when skipping", () =>
    Effect.gen(function* () {
      const file = put("nolabel.csv", "qid,did,query,doc\nq,d,a,b\n")
      for (const options of [{}, { onInvalid: "skip" as const }]) {
        const error = yield* readError(file, options)
        assert.strictEqual(error.line, 1)
        assert.strictEqual(error.field, "label")
        assert.include(error.message, `${file}:1:`)
        assert.include(error.message, 'missing column "label"; the header has: "qid", "did", "query", "doc"')
      }
      const tabs = yield* readError(put("tabs.csv", "qid\tdid\tquery\tdoc\tlabel\nq\td\ta\tb\t1\n"))
      assert.include(tabs.message, "name it .tsv")
    })
  )

  it.effect("malformed CSV: an unclosed quote, text after a closing quote, a wrong cell count", () =>
    Effect.gen(function* () {
      const unclosed = yield* readError(put("open.csv", `${header}\nq,d,a,b,1\nq,d,"never closed,b,1\nq,d,a,b,1\n`))
      assert.strictEqual(unclosed.line, 3)
      assert.include(unclosed.message, "the quoted cell opened at line 3 never closes")
      const after = yield* readError(put("after.csv", `${header}\nq,d,"a"x,b,1\n`))
      assert.strictEqual(after.line, 2)
      assert.include(after.message, 'unexpected "x" after the closing quote of cell 3')
      const count = yield* readError(put("count.csv", `${header}\nq,d,a, b, c,1\n`))
      assert.strictEqual(count.line, 2)
      assert.include(count.message, "the row has 6 cells, the header 5 columns")
      assert.include(count.message, "must be quoted")
      const huge = yield* readError(put("huge.csv", `${header}\nq,d,"${"x\n".repeat(100)}`), { maxLineBytes: 50 })
      assert.include(huge.message, "a closing quote is probably missing")
    })
  )

  it.effect("skip mode: bad rows go to the rejects file with their physical lines", () =>
    Effect.gen(function* () {
      const file = put("mixed.csv", `${header}\nq,d1,a,"x\ny",1\nq,d2,a,b,9\nq,d3,a,b\nq,d4,a,b,0\n`)
      const rejectsFile = path.join(path.dirname(file), "mixed.rejects.jsonl")
      const rows = yield* Delimited.readAll(file, Pair.LabeledPair, { onInvalid: "skip", rejectsFile })
      assert.deepStrictEqual(
        rows.map((r) => r.did),
        ["d1", "d4"]
      )
      const rejects = fs
        .readFileSync(rejectsFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      assert.deepStrictEqual(
        rejects.map((r) => [r.line, r.field]),
        [
          [4, "label"],
          [5, undefined]
        ]
      )
    })
  )

  it.effect("streams a file larger than one read chunk, quoted line breaks across chunk edges included", () =>
    Effect.gen(function* () {
      const n = 30_000
      const lines = [header]
      for (let i = 0; i < n; i++) lines.push(`q${i},d${i},"query, ${i}","doc ""${i}""\n${"文".repeat(20)}",${i % 4}`)
      const file = put("big.csv", `${lines.join("\n")}\n`)
      assert.isAbove(fs.statSync(file).size, 2 * (1 << 20))
      let count = 0
      let labels = 0
      yield* Stream.runForEach(Delimited.read(file, Pair.LabeledPair), (row) =>
        Effect.sync(() => {
          assert.strictEqual(row.doc, `doc "${row.did.slice(1)}"\n${"文".repeat(20)}`)
          count++
          labels += row.label
        })
      )
      assert.strictEqual(count, n)
      assert.strictEqual(labels, (n / 4) * (0 + 1 + 2 + 3))
    })
  )

  it.effect("Dataset.readRows picks the reader from the extension", () =>
    Effect.gen(function* () {
      const row = { qid: "q", did: "d", query: "a", doc: "b", label: 1 }
      const dir = tmp()
      fs.writeFileSync(path.join(dir, "l.csv"), `${header}\nq,d,a,b,1\n`)
      fs.writeFileSync(path.join(dir, "l.tsv"), `${header.replaceAll(",", "\t")}\nq\td\ta\tb\t1\n`)
      fs.writeFileSync(path.join(dir, "l.jsonl"), `${JSON.stringify(row)}\n`)
      for (const name of ["l.csv", "l.tsv", "l.jsonl"])
        assert.deepStrictEqual(yield* Dataset.readAllRows(path.join(dir, name), Pair.LabeledPair), [row])
      assert.strictEqual(Dataset.rowFormatOf("X.TSV"), "tsv")
      assert.strictEqual(Dataset.rowFormatOf("x.ndjson"), "jsonl")
      const empty = yield* Effect.flip(Delimited.readAll(put("h.csv", `${header}\n`), Pair.LabeledPair))
      assert.strictEqual(empty.reason, "empty")
    })
  )
})
