/**
 * CSV and TSV files with a header row, as Effect streams: the spreadsheet exports teams keep graded sets in. Each
 * row becomes an object keyed by the header's column names and is decoded with a Schema exactly as a JSONL line
 * is, so a bad row fails with the file, its physical line number and the field (or, with `onInvalid: "skip"`,
 * goes to the rejects side file).
 *
 * CSV follows RFC 4180: cells are comma-separated; a quoted cell may hold commas, line breaks and doubled quotes
 * (`"say ""hi"""`); a line break inside a quoted cell reads back as `\n`. TSV cells are split on tabs, with no
 * quoting. Blank lines and rows whose cells are all empty are skipped; columns the schema does not name are
 * ignored, as unknown JSONL keys are, and an empty cell in a column the schema does not require is an absent key. Cells are read as text, except the numeric columns (`label` by default),
 * whose integer or decimal text becomes a number so that grades get the same checks as in JSONL. The file is
 * read line by line, never whole, with JSONL's options (`allowBom`, `maxLineBytes`, `allowEmpty`, …).
 *
 * @since 0.1.0
 */

import { type Effect, Exit, Schema, SchemaAST, Stream } from "effect"
import { DatasetError } from "./DatasetError.js"
import { describeFailure } from "./internal/issues.js"
import { LineProblem, pending, type RecordParser, readLines } from "./internal/lines.js"
import type { ReadOptions as JsonlReadOptions } from "./Jsonl.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Format = "csv" | "tsv"

/**
 * The delimited format a file name says (`.csv`, `.tsv`), or `undefined`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const formatOf = (file: string): Format | undefined => {
  const lower = file.toLowerCase()
  if (lower.endsWith(".csv")) return "csv"
  if (lower.endsWith(".tsv")) return "tsv"
  return undefined
}

/**
 * JSONL's read options, plus the format (default: from the extension) and the columns read as numbers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions extends JsonlReadOptions {
  readonly format?: Format | undefined
  /** Columns whose numeric text becomes a number before decoding (default `["label"]`). */
  readonly numericColumns?: ReadonlyArray<string> | undefined
}

const NUMBER = /^\s*[+-]?\d+(\.\d+)?\s*$/
const QUOTE = 34
const COMMA = 44

/** A CSV record whose last cell is a quoted one still open at the end of a line. */
interface OpenRecord {
  readonly start: number
  readonly cells: Array<string>
  readonly cell: string
  readonly size: number
}

type Scanned = { readonly cells: Array<string> } | { readonly open: OpenRecord }

/** A quoted cell from `i` (just past its opening quote) to its closing quote, or the `rest` of the line when it goes on. */
const quotedCell = (
  text: string,
  i: number
): { readonly cell: string; readonly next: number } | { readonly rest: string } => {
  let cell = ""
  for (;;) {
    const q = text.indexOf('"', i)
    if (q === -1) return { rest: cell + text.slice(i) }
    cell += text.slice(i, q)
    if (text.charCodeAt(q + 1) !== QUOTE) return { cell, next: q + 1 }
    cell += '"'
    i = q + 2
  }
}

/**
 * Splits one physical CSV line into cells, continuing `open` when the previous line ended inside a quoted cell.
 * Plain code: this runs once per row.
 */
const scanCsv = (text: string, line: number, open: OpenRecord | undefined): Scanned => {
  if (open === undefined && text.indexOf('"') === -1) return { cells: text.split(",") }
  const start = open?.start ?? line
  const cells = open?.cells ?? []
  let prefix = open !== undefined ? `${open.cell}\n` : undefined
  let i = 0
  for (;;) {
    if (prefix === undefined && text.charCodeAt(i) === QUOTE) {
      prefix = ""
      i++
    }
    if (prefix !== undefined) {
      const quoted = quotedCell(text, i)
      if ("rest" in quoted)
        return { open: { start, cells, cell: prefix + quoted.rest, size: (open?.size ?? 0) + text.length + 1 } }
      cells.push(prefix + quoted.cell)
      prefix = undefined
      i = quoted.next
      if (i === text.length) return { cells }
      if (text.charCodeAt(i) !== COMMA)
        throw new LineProblem(
          "malformed",
          `unexpected ${JSON.stringify(text[i])} after the closing quote of cell ${cells.length}`,
          undefined,
          'a quote inside a quoted cell is written twice: "say ""hi"""',
          start
        )
      i++
      continue
    }
    const comma = text.indexOf(",", i)
    if (comma === -1) {
      cells.push(text.slice(i))
      return { cells }
    }
    cells.push(text.slice(i, comma))
    i = comma + 1
  }
}

/**
 * The columns a schema needs: the required keys of a struct (none for other schemas, which then report what is
 * missing row by row).
 */
const requiredColumns = (schema: Schema.Top): ReadonlyArray<string> => {
  const ast = schema.ast
  return SchemaAST.isObjects(ast)
    ? ast.propertySignatures.filter((p) => !SchemaAST.isOptional(p.type)).map((p) => String(p.name))
    : []
}

const isBlank = (text: string) => text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim().length === 0)

interface Header {
  readonly names: ReadonlyArray<string>
  readonly numeric: ReadonlyArray<boolean>
  /** Columns the schema does not require: an empty cell there is an absent key, as a spreadsheet cannot say so. */
  readonly optional: ReadonlyArray<boolean>
}

/** The header row: names trimmed, each at most once, every required column present — else a fatal error. */
const readHeader = (
  file: string,
  format: Format,
  cells: ReadonlyArray<string>,
  line: number,
  required: ReadonlyArray<string>,
  numeric: ReadonlySet<string>
): Header => {
  const names = cells.map((c) => c.trim())
  const fail = (field: string, detail: string, hint: string) =>
    new DatasetError({ file, line, field, reason: "invalid", detail, hint })
  const seen = new Set<string>()
  for (const name of names) {
    if (name !== "" && seen.has(name))
      throw fail(name, `the header names column "${name}" twice`, "give every column its own name")
    seen.add(name)
  }
  const missing = required.filter((c) => !seen.has(c))
  if (missing.length > 0) {
    const other = format === "csv" ? "\t" : ","
    const oneColumn = names.length === 1 && names[0]!.includes(other)
    throw fail(
      missing[0]!,
      `missing column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `"${c}"`).join(", ")}; the header has: ${names.map((n) => `"${n}"`).join(", ")}`,
      oneColumn
        ? `the header reads as one column: the file looks ${format === "csv" ? "tab" : "comma"}-separated, so name it .${format === "csv" ? "tsv" : "csv"}`
        : `the first row must name the columns (${required.join(", ")}), as the JSONL keys are named`
    )
  }
  return { names, numeric: names.map((n) => numeric.has(n)), optional: names.map((n) => !required.includes(n)) }
}

/** The object a data row stands for, keyed by the header (unnamed columns dropped, numeric cells as numbers). */
const rowObject = (format: Format, header: Header, cells: ReadonlyArray<string>, line: number) => {
  if (cells.length !== header.names.length)
    throw new LineProblem(
      "malformed",
      `the row has ${cells.length} cells, the header ${header.names.length} columns`,
      undefined,
      format === "csv"
        ? 'a cell holding a comma, a quote or a line break must be quoted: "a, b"'
        : "a TSV cell cannot hold a tab or a line break; use CSV with quoted cells for such text",
      line
    )
  const row: Record<string, unknown> = {}
  for (let j = 0; j < cells.length; j++) {
    const name = header.names[j]!
    if (name === "") continue
    const cell = cells[j]!
    if (cell === "" && header.optional[j]) continue
    row[name] = header.numeric[j] && NUMBER.test(cell) ? Number(cell) : cell
  }
  return row
}

const parser =
  <A>(file: string, format: Format, schema: Schema.Codec<A, unknown>, options: ReadOptions) =>
  (): RecordParser<A> => {
    const decode = Schema.decodeUnknownExit(schema)
    const required = requiredColumns(schema)
    const numeric = new Set(options.numericColumns ?? ["label"])
    const maxChars = options.maxLineBytes ?? 8 * 1024 * 1024
    let header: Header | undefined
    let open: OpenRecord | undefined
    const record = (text: string, line: number): { cells: Array<string>; start: number } | undefined => {
      if (format === "tsv") return isBlank(text) ? undefined : { cells: text.split("\t"), start: line }
      if (open === undefined && isBlank(text)) return undefined
      const before = open
      open = undefined
      const scanned = scanCsv(text, line, before)
      if ("cells" in scanned) return { cells: scanned.cells, start: before?.start ?? line }
      if (scanned.open.size > maxChars)
        throw new LineProblem(
          "malformed",
          `the quoted cell opened at line ${scanned.open.start} is still open after ${scanned.open.size} characters`,
          undefined,
          "a closing quote is probably missing",
          scanned.open.start
        )
      open = scanned.open
      return undefined
    }
    return {
      line: (text, line) => {
        const found = record(text, line)
        if (found === undefined) return pending
        if (header === undefined) {
          header = readHeader(file, format, found.cells, found.start, required, numeric)
          return pending
        }
        if (found.cells.every((c) => c.trim() === "")) return pending
        const row = rowObject(format, header, found.cells, found.start)
        const exit = decode(row)
        if (Exit.isSuccess(exit)) return exit.value
        const { field, detail } = describeFailure(exit, row)
        throw new LineProblem("invalid", detail, field, undefined, found.start)
      },
      end: () => {
        if (open === undefined) return
        const start = open.start
        open = undefined
        throw new LineProblem(
          "malformed",
          `the quoted cell opened at line ${start} never closes`,
          undefined,
          "a closing quote is missing",
          start
        )
      }
    }
  }

/**
 * Streams the rows of a CSV or TSV file (format from `options.format`, else the extension) decoded by `schema`.
 * The first non-blank row is the header; a required column it lacks fails at once, naming the column and the
 * header seen (even with `onInvalid: "skip"`).
 *
 * @since 0.1.0
 * @category reading
 */
export const read = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Stream.Stream<A, DatasetError> => {
  const format = options.format ?? formatOf(file) ?? "csv"
  return readLines(
    file,
    format.toUpperCase(),
    options,
    parser(file, format, schema as Schema.Codec<A, unknown>, options)
  )
}

/**
 * Reads a whole CSV or TSV file into an array (for files known to be small).
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Effect.Effect<Array<A>, DatasetError> => Stream.runCollect(read(file, schema, options))
