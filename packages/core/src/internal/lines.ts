/**
 * The line engine shared by the line-oriented formats (JSONL, TREC qrels and runs): splits a file's bytes into
 * lines without holding the file, enforces the line-size limit, rejects a BOM and invalid UTF-8, and turns each
 * line into a value with a format-specific parser — failing fast on the first bad line, or skipping it into a
 * rejects side file with its reason.
 */

import { Buffer, isUtf8 } from "node:buffer"
import * as fs from "node:fs"
import { Channel, Stream } from "effect"
import * as AtomicFile from "../AtomicFile.js"
import { DatasetError, type Rejection } from "../DatasetError.js"

/** Options every line-oriented reader accepts (mirrors `Jsonl.ReadOptions`). */
export interface LineReadOptions {
  readonly onInvalid?: "fail" | "skip" | undefined
  readonly rejectsFile?: string | undefined
  readonly maxLineBytes?: number | undefined
  readonly allowBom?: boolean | undefined
  readonly allowEmpty?: boolean | undefined
  readonly onSummary?:
    | ((summary: {
        readonly file: string
        readonly rows: number
        readonly rejected: number
        readonly rejectsFile?: string | undefined
      }) => void)
    | undefined
}

/**
 * Thrown by a line parser: what is wrong with the line, and where in it. `line` names an earlier line when the
 * problem belongs to a record that started there (a quoted CSV cell spanning lines).
 */
export class LineProblem {
  constructor(
    readonly reason: "malformed" | "invalid",
    readonly detail: string,
    readonly field?: string | undefined,
    readonly hint?: string | undefined,
    readonly line?: number | undefined
  ) {}
}

/** Parses the text of one non-blank line (1-based `line`) into a value, or throws a `LineProblem`. */
export type LineParser<A> = (text: string, line: number) => A

/** What a `RecordParser` returns for a line that completes no record (a header, or a record that goes on). */
export const pending: unique symbol = Symbol.for("@ssra/core/lines/pending")

/**
 * A parser whose records may span lines (CSV with quoted newlines): it sees every line, blank ones included, and
 * is told when the file ends so that a record left open fails.
 */
export interface RecordParser<A> {
  readonly line: (text: string, line: number) => A | typeof pending
  /** Called once after the last line; throws a `LineProblem` when a record is still open. */
  readonly end: () => void
}

const NEWLINE = 0x0a
const CR = 0x0d
const BATCH = 512
const CHUNK = 1 << 20

/** Fails with a clear error when `file` is missing or is a directory. */
export const checkFile = (file: string, format: string): void => {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw new DatasetError({
      file,
      reason: code === "ENOENT" ? "not-found" : "io",
      detail: code === "ENOENT" ? "file not found" : String((cause as Error).message),
      hint: "check the path"
    })
  }
  if (stat.isDirectory())
    throw new DatasetError({
      file,
      reason: "io",
      detail: `is a directory, expected a ${format} file`,
      hint: "pass the file inside it"
    })
}

/** Turns whatever an async iterable threw into a `DatasetError` for `file`. */
export const toDatasetError =
  (file: string) =>
  (error: unknown): DatasetError =>
    error instanceof DatasetError
      ? error
      : new DatasetError({ file, reason: "io", detail: String((error as Error)?.message ?? error) })

/**
 * A stream whose chunks are the batches an async generator yields (no per-element re-chunking). The generator is
 * created anew on every run of the stream.
 */
export const fromBatches = <A>(
  file: string,
  batches: () => AsyncGenerator<ReadonlyArray<A>>
): Stream.Stream<A, DatasetError> =>
  Stream.fromChannel(
    Channel.fromAsyncIterable(
      { [Symbol.asyncIterator]: () => batches() } as AsyncIterable<ReadonlyArray<A>>,
      toDatasetError(file)
    ) as unknown as Channel.Channel<readonly [A, ...Array<A>], DatasetError>
  )

const describeTooLong = (bytes: number, max: number) => `line is ${bytes} bytes, over the ${max}-byte limit`

/**
 * The rejects side file of a skipping read, opened at once (none when not skipping or no file is named), and the
 * guard its writes run under: a failure writing it names that file (not the input being read) and says what to do.
 */
const openRejects = (rejectsFile: string | undefined) => {
  const rejectsIo = <T>(f: () => T): T => {
    try {
      return f()
    } catch (error) {
      if (error instanceof DatasetError) throw error
      throw new DatasetError({
        file: rejectsFile!,
        reason: "io",
        detail: `cannot write the rejects file: ${error instanceof Error ? error.message : String(error)}`,
        hint: "check the disk has space and the directory is writable"
      })
    }
  }
  const rejects = rejectsFile !== undefined ? rejectsIo(() => AtomicFile.openSync(rejectsFile)) : undefined
  return { rejects, rejectsIo }
}

const bomError = (file: string, line: number) =>
  new DatasetError({
    file,
    line,
    reason: "encoding",
    detail: "file starts with a UTF-8 byte-order mark (BOM)",
    hint: "save the file as UTF-8 without BOM, or read past it: --allow-bom in the ssra CLI, allowBom: true in code"
  })

/** The rejects-file entry and the error of a line that is not valid UTF-8. */
const invalidUtf8 = (file: string, line: number, bytes: Uint8Array): [Rejection, DatasetError] => [
  { line, reason: "invalid UTF-8", raw: Buffer.from(bytes).toString("latin1").slice(0, 200) },
  new DatasetError({
    file,
    line,
    reason: "encoding",
    detail: "invalid UTF-8 byte sequence",
    hint: "convert the file to UTF-8 (e.g. iconv -f GB18030 -t UTF-8)"
  })
]

/** The rejects-file entry and the error of a line its parser refused (`at`: the line the problem belongs to). */
const parseProblem = (file: string, problem: LineProblem, at: number, text: string): [Rejection, DatasetError] => [
  {
    line: at,
    ...(problem.field !== undefined ? { field: problem.field } : {}),
    reason: problem.detail,
    raw: text.slice(0, 2000)
  },
  new DatasetError({
    file,
    line: at,
    ...(problem.field !== undefined ? { field: problem.field } : {}),
    reason: problem.reason,
    detail: problem.detail,
    ...(problem.hint !== undefined ? { hint: problem.hint } : {})
  })
]

const emptyError = (file: string, rejected: number) =>
  new DatasetError({
    file,
    reason: "empty",
    detail: rejected > 0 ? `no valid rows (${rejected} rejected)` : "file has no rows",
    hint: "check you passed the right file"
  })

/**
 * Streams the values of a line-oriented file. `makeParser` is called once per run, so a parser may keep state
 * (e.g. ids seen so far). Blank lines are ignored.
 */
export const readLines = <A>(
  file: string,
  format: string,
  options: LineReadOptions,
  makeParser: () => LineParser<A> | RecordParser<A>
): Stream.Stream<A, DatasetError> => {
  const maxLineBytes = options.maxLineBytes ?? 8 * 1024 * 1024
  const skip = options.onInvalid === "skip"
  async function* run(): AsyncGenerator<ReadonlyArray<A>> {
    checkFile(file, format)
    const parser = makeParser()
    const records = typeof parser === "function" ? undefined : parser
    const parse = typeof parser === "function" ? parser : parser.line
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
    const rejectsFile = skip ? options.rejectsFile : undefined
    const { rejects, rejectsIo } = openRejects(rejectsFile)
    let count = 0
    let rejected = 0
    let batch: Array<A> = []
    let line = 0
    const reject = (r: Rejection, error: DatasetError) => {
      if (!skip) throw error
      rejected++
      if (rejects !== undefined) rejectsIo(() => rejects.write(JSON.stringify(r) + "\n"))
    }
    // Handles one complete line (without its newline). Plain code: this runs once per row.
    const handle = (bytes: Uint8Array, textIfValid: string | undefined) => {
      line++
      if (line === 1 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        if (!options.allowBom) throw bomError(file, line)
        bytes = bytes.subarray(3)
        textIfValid = undefined
      }
      let text: string
      if (textIfValid !== undefined) {
        text = textIfValid
      } else {
        if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1)
        try {
          text = decoder.decode(bytes)
        } catch {
          reject(...invalidUtf8(file, line, bytes))
          return
        }
      }
      if (records === undefined && (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim().length === 0))) return
      let value: A | typeof pending
      try {
        value = parse(text, line)
      } catch (problem) {
        rejectProblem(problem, text)
        return
      }
      if (value === pending) return
      batch.push(value)
      count++
    }
    const rejectProblem = (problem: unknown, text: string) => {
      if (!(problem instanceof LineProblem)) throw problem
      reject(...parseProblem(file, problem, problem.line ?? line, text))
    }
    const tooLong = (bytes: number) => {
      line++
      const detail = describeTooLong(bytes, maxLineBytes)
      reject(
        { line, reason: detail, raw: "" },
        new DatasetError({ file, line, reason: "too-large", detail, hint: "split the record or raise maxLineBytes" })
      )
    }
    try {
      const stream = fs.createReadStream(file, { highWaterMark: CHUNK })
      let carry: Array<Buffer> = []
      let carryBytes = 0
      let overflow = 0
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let start = 0
        let nl = chunk.indexOf(NEWLINE)
        // The line that started in an earlier chunk.
        if (nl !== -1 && (carryBytes > 0 || overflow > 0)) {
          const piece = chunk.subarray(0, nl)
          if (overflow > 0 || carryBytes + piece.length > maxLineBytes) tooLong(overflow + carryBytes + piece.length)
          else handle(Buffer.concat([...carry, piece]), undefined)
          carry = []
          carryBytes = 0
          overflow = 0
          start = nl + 1
          nl = chunk.indexOf(NEWLINE, start)
        }
        if (nl !== -1) {
          // Fast path: the complete lines of this chunk, validated and decoded in one call when they are valid UTF-8.
          const lastNl = chunk.lastIndexOf(NEWLINE)
          const block = chunk.subarray(start, lastNl)
          const valid =
            isUtf8(block) &&
            !(line === 0 && block.length >= 3 && block[0] === 0xef && block[1] === 0xbb && block[2] === 0xbf)
          if (valid) {
            const texts = block.toString("utf8").split("\n")
            let offset = start
            for (let i = 0; i < texts.length; i++) {
              let text = texts[i]!
              const end = i === texts.length - 1 ? lastNl : chunk.indexOf(NEWLINE, offset)
              const length = end - offset
              if (length > maxLineBytes) tooLong(length)
              else {
                if (text.length > 0 && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
                handle(chunk.subarray(offset, end), text)
              }
              offset = end + 1
            }
          } else {
            for (let i = nl; i !== -1 && i <= lastNl; i = chunk.indexOf(NEWLINE, start)) {
              const piece = chunk.subarray(start, i)
              if (piece.length > maxLineBytes) tooLong(piece.length)
              else handle(piece, undefined)
              start = i + 1
            }
          }
          start = lastNl + 1
        }
        const rest = chunk.subarray(start)
        if (rest.length > 0) {
          if (overflow > 0 || carryBytes + rest.length > maxLineBytes) {
            overflow += carryBytes + rest.length
            carry = []
            carryBytes = 0
          } else {
            carry.push(Buffer.from(rest))
            carryBytes += rest.length
          }
        }
        if (batch.length >= BATCH) {
          yield batch
          batch = []
        }
      }
      if (overflow > 0) tooLong(overflow + carryBytes)
      else if (carryBytes > 0) handle(Buffer.concat(carry), undefined)
      if (records !== undefined) {
        try {
          records.end()
        } catch (problem) {
          rejectProblem(problem, "")
        }
      }
      if (batch.length > 0) yield batch
      batch = []
      if (count === 0 && !options.allowEmpty) throw emptyError(file, rejected)
      if (rejects !== undefined) rejectsIo(() => rejects.commit())
      options.onSummary?.({ file, rows: count, rejected, rejectsFile: rejects ? rejectsFile : undefined })
    } catch (error) {
      rejects?.abort()
      throw error
    }
  }
  return fromBatches(file, run)
}
