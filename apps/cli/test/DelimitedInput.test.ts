/**
 * Graded sets kept in spreadsheets (issue 15 item 8): CSV and TSV files with a header row are read wherever JSONL
 * is — `data validate|stats`, `run --dry-run`, folder discovery — and `data convert` turns them into JSONL or
 * Parquet with the same rows.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ExitCode } from "../src/index.js"
import { runCli } from "./support/runCli.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-csv-"))
const bundled = path.resolve(import.meta.dirname, "../../../data/kuake_qtr")

const jsonlRows = (file: string): Array<Record<string, unknown>> =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l))

/** RFC 4180: a cell with a comma, a quote or a line break is quoted, its quotes doubled. */
const csvCell = (value: unknown) => {
  const text = String(value ?? "")
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const toDelimited = (rows: ReadonlyArray<Record<string, unknown>>, separator: "," | "\t") => {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cell = separator === "," ? csvCell : (v: unknown) => String(v ?? "")
  return `${[columns.join(separator), ...rows.map((r) => columns.map((c) => cell(r[c])).join(separator))].join("\r\n")}\r\n`
}

const parts = { labeled: 160, unlabeled: 40, pair_test: 60 } as const

/** The first rows of the bundled Quark set, as JSONL in one folder and as CSV (unlabeled as TSV) in another. */
const sliceBothWays = () => {
  const jsonlDir = tmp()
  const csvDir = tmp()
  const rows: Record<string, Array<Record<string, unknown>>> = {}
  for (const [name, n] of Object.entries(parts)) {
    rows[name] = jsonlRows(path.join(bundled, `${name}.jsonl`)).slice(0, n)
    fs.writeFileSync(path.join(jsonlDir, `${name}.jsonl`), rows[name].map((r) => JSON.stringify(r)).join("\n"))
    const tsv = name === "unlabeled"
    fs.writeFileSync(path.join(csvDir, `${name}.${tsv ? "tsv" : "csv"}`), toDelimited(rows[name], tsv ? "\t" : ","))
  }
  return { jsonlDir, csvDir, rows }
}

describe("CSV and TSV input", () => {
  it.effect("the bundled slice as CSV/TSV: a quoted cell is really exercised, validate and stats match JSONL", () =>
    Effect.gen(function* () {
      const { jsonlDir, csvDir, rows } = sliceBothWays()
      assert.isTrue(
        rows.labeled!.some((r) => /[,"]/.test(String(r.doc))),
        "the slice holds a document with a comma or a quote, so the CSV copy has quoted cells"
      )
      const validate = yield* runCli(["data", "validate", "--data", csvDir])
      assert.strictEqual(validate.code, 0, validate.output)
      assert.include(validate.output, `ok  ${path.join(csvDir, "labeled.csv")}: 160 rows`)
      assert.include(validate.output, `ok  ${path.join(csvDir, "unlabeled.tsv")}: 40 rows`)
      assert.include(validate.output, `ok  ${path.join(csvDir, "pair_test.csv")}: 60 rows`)
      const stats = (dir: string) =>
        Effect.map(runCli(["data", "stats", "--data", dir, "--json"]), (r) => {
          assert.strictEqual(r.code, 0, r.output)
          return JSON.parse(r.output.replaceAll(dir, "DIR").replace(/\.(csv|tsv)"/g, '.jsonl"'))
        })
      assert.deepStrictEqual(yield* stats(csvDir), yield* stats(jsonlDir))
    })
  )

  it.effect("run --dry-run plans a CSV/TSV folder as it plans the JSONL one, and writes nothing", () =>
    Effect.gen(function* () {
      const { jsonlDir, csvDir } = sliceBothWays()
      const plan = (dir: string) =>
        Effect.map(runCli(["run", "--data", dir, "--dry-run", "--run-dir", path.join(dir, "run")]), (r) => {
          assert.strictEqual(r.code, 0, r.output)
          assert.isFalse(fs.existsSync(path.join(dir, "run")))
          return r.output.replaceAll(dir, "DIR").replace(/\.(csv|tsv)\b/g, ".jsonl")
        })
      const fromCsv = yield* plan(csvDir)
      assert.include(fromCsv, "data: 160 labeled, 40 unlabeled, 0 retrieval-test, 60 pair-test rows; grades 0..3")
      assert.strictEqual(fromCsv, yield* plan(jsonlDir))
    })
  )

  it.effect("a bad grade in a CSV fails at its physical line, field label; two formats of one file are refused", () =>
    Effect.gen(function* () {
      const { csvDir } = sliceBothWays()
      const file = path.join(csvDir, "labeled.csv")
      // line 1 is the header; a quoted line break puts the bad row on physical line 4, though it is the third row
      fs.writeFileSync(file, 'qid,did,query,doc,label\nq1,d1,a,"two\nlines",1\nq1,d2,a,b,7\n')
      const bad = yield* runCli(["data", "validate", "--data", csvDir])
      assert.strictEqual(bad.code, ExitCode.codes.input, bad.output)
      assert.include(bad.output, `${file}:4: label: Expected a value between 0 and 3, got 7`)
      fs.writeFileSync(file, "qid,did,query,doc\nq1,d1,a,b\n")
      const noLabel = yield* runCli(["data", "validate", "--labeled", file])
      assert.strictEqual(noLabel.code, ExitCode.codes.input, noLabel.output)
      assert.include(noLabel.output, `${file}:1: field label: missing column "label"; the header has: "qid", "did"`)
      fs.writeFileSync(path.join(csvDir, "labeled.jsonl"), '{"qid":"q","did":"d","query":"a","doc":"b","label":1}\n')
      for (const argv of [
        ["data", "validate", "--data", csvDir],
        ["run", "--data", csvDir, "--dry-run", "--run-dir", path.join(csvDir, "run")]
      ]) {
        const twice = yield* runCli(argv)
        assert.strictEqual(twice.code, ExitCode.codes.input, twice.output)
        assert.include(twice.output, `${csvDir} holds labeled.jsonl and labeled.csv: the same file in 2 formats`)
      }
    })
  )

  it.effect(
    "data convert: CSV → JSONL and TSV → Parquet → JSONL give back the bundled rows; CSV output is refused",
    () =>
      Effect.gen(function* () {
        const { csvDir, rows } = sliceBothWays()
        const out = tmp()
        const convert = (...argv: ReadonlyArray<string>) =>
          Effect.map(runCli(["data", "convert", ...argv]), (r) => {
            assert.strictEqual(r.code, 0, r.output)
            return r.output
          })
        assert.include(
          yield* convert("-i", path.join(csvDir, "labeled.csv"), "-o", path.join(out, "labeled.jsonl")),
          "wrote 160 rows"
        )
        assert.deepStrictEqual(jsonlRows(path.join(out, "labeled.jsonl")), rows.labeled)
        const parquet = path.join(out, "unlabeled.parquet")
        yield* convert("-i", path.join(csvDir, "unlabeled.tsv"), "-o", parquet, "--kind", "unlabeled")
        yield* convert("-i", parquet, "-o", path.join(out, "unlabeled.jsonl"), "--kind", "unlabeled")
        assert.deepStrictEqual(jsonlRows(path.join(out, "unlabeled.jsonl")), rows.unlabeled)
        // a spreadsheet's "CSV UTF-8" starts with a byte-order mark: --allow-bom reads past it
        const bom = path.join(out, "bom.csv")
        fs.writeFileSync(bom, `\uFEFF${fs.readFileSync(path.join(csvDir, "pair_test.csv"), "utf8")}`)
        const refused = yield* runCli(["data", "convert", "-i", bom, "-o", path.join(out, "p.jsonl")])
        assert.strictEqual(refused.code, ExitCode.codes.input, refused.output)
        assert.include(refused.output, "--allow-bom")
        yield* convert("-i", bom, "-o", path.join(out, "p.jsonl"), "--allow-bom")
        assert.deepStrictEqual(jsonlRows(path.join(out, "p.jsonl")), rows.pair_test)
        const toCsv = yield* runCli(["data", "convert", "-i", path.join(out, "p.jsonl"), "-o", path.join(out, "p.csv")])
        assert.strictEqual(toCsv.code, ExitCode.codes.usage, toCsv.output)
        assert.include(toCsv.output, "writing CSV is not supported")
        assert.isFalse(fs.existsSync(path.join(out, "p.csv")))
      })
  )
})
