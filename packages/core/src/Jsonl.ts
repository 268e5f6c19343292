/**
 * JSON Lines as Effect streams. Reading never holds the whole file: bytes are split into lines, each line is
 * checked for size and UTF-8, parsed, and decoded with a Schema; a bad line fails with the file, line number,
 * field path and what was expected — or, with `onInvalid: "skip"`, goes to a rejects side file with its reason.
 * Writing is atomic (temp file + rename).
 *
 * @since 0.1.0
 */
import { Effect, Exit, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as AtomicFile from "./AtomicFile.js"
import { DatasetError, type Rejection } from "./DatasetError.js"
import { issuesOf } from "./internal/issues.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** `fail` (default) stops at the first bad line; `skip` drops it and records it. */
  readonly onInvalid?: "fail" | "skip" | undefined
  /** With `skip`: where rejected lines are written (JSONL: line, field, reason, raw). */
  readonly rejectsFile?: string | undefined
  /** Longest accepted line in bytes (default 8 MiB). */
  readonly maxLineBytes?: number | undefined
  /** Accept and drop a UTF-8 byte-order mark at the start of the file (default false: it is an error). */
  readonly allowBom?: boolean | undefined
  /** Accept a file with no rows (default false: it is an error). */
  readonly allowEmpty?: boolean | undefined
  /** Called once at the end with the counts. */
  readonly onSummary?: ((summary: ReadSummary) => void) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReadSummary {
  readonly file: string
  readonly rows: number
  readonly rejected: number
  readonly rejectsFile?: string | undefined
}

const NEWLINE = 0x0a
const BATCH = 512

type Decoder<A> = (value: unknown) => Exit.Exit<A, Schema.SchemaError>

/** Parses JSON, turning the engine's error into a position-bearing message. */
const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; message: string } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, message: `malformed JSON: ${(error as Error).message}` }
  }
}

async function* lines(file: string, maxLineBytes: number): AsyncGenerator<{ line: number; bytes: Uint8Array; tooLong: number }> {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 })
  let carry: Array<Buffer> = []
  let carryBytes = 0
  let overflow = 0
  let line = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0
    for (let i = chunk.indexOf(NEWLINE, start); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      line++
      const piece = chunk.subarray(start, i)
      start = i + 1
      if (overflow > 0 || carryBytes + piece.length > maxLineBytes) {
        yield { line, bytes: new Uint8Array(0), tooLong: overflow + carryBytes + piece.length }
      } else {
        yield { line, bytes: carryBytes === 0 ? piece : Buffer.concat([...carry, piece]), tooLong: 0 }
      }
      carry = []
      carryBytes = 0
      overflow = 0
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
  }
  if (carryBytes > 0 || overflow > 0) {
    line++
    yield overflow > 0
      ? { line, bytes: new Uint8Array(0), tooLong: overflow + carryBytes }
      : { line, bytes: Buffer.concat(carry), tooLong: 0 }
  }
}

/**
 * Streams the rows of a JSONL file decoded by `schema`. Blank lines are ignored.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Stream.Stream<A, DatasetError> => {
  const decode: Decoder<A> = Schema.decodeUnknownExit(schema as any) as any
  const maxLineBytes = options.maxLineBytes ?? 8 * 1024 * 1024
  const skip = options.onInvalid === "skip"
  async function* rows(): AsyncGenerator<ReadonlyArray<A>> {
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
    if (stat.isDirectory()) throw new DatasetError({ file, reason: "io", detail: "is a directory, expected a JSONL file" })
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
    const rejects = skip && options.rejectsFile !== undefined ? AtomicFile.openSync(options.rejectsFile) : undefined
    let count = 0
    let rejected = 0
    let batch: Array<A> = []
    const reject = (r: Rejection, error: DatasetError) => {
      if (!skip) throw error
      rejected++
      rejects?.write(JSON.stringify(r) + "\n")
    }
    try {
      for await (const { line, bytes: raw, tooLong } of lines(file, maxLineBytes)) {
        if (tooLong > 0) {
          reject(
            { line, reason: `line is ${tooLong} bytes, over the ${maxLineBytes}-byte limit`, raw: "" },
            new DatasetError({ file, line, reason: "too-large", detail: `line is ${tooLong} bytes, over the ${maxLineBytes}-byte limit`, hint: "split the record or raise maxLineBytes" })
          )
          continue
        }
        let bytes = raw
        if (line === 1 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
          if (!options.allowBom) {
            throw new DatasetError({ file, line, reason: "encoding", detail: "file starts with a UTF-8 byte-order mark (BOM)", hint: "save the file as UTF-8 without BOM, or pass allowBom / --allow-bom" })
          }
          bytes = bytes.subarray(3)
        }
        if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1)
        let text: string
        try {
          text = decoder.decode(bytes)
        } catch {
          reject(
            { line, reason: "invalid UTF-8", raw: Buffer.from(bytes).toString("latin1").slice(0, 200) },
            new DatasetError({ file, line, reason: "encoding", detail: "invalid UTF-8 byte sequence", hint: "convert the file to UTF-8 (e.g. iconv -f GB18030 -t UTF-8)" })
          )
          continue
        }
        if (text.trim().length === 0) continue
        const parsed = parseJson(text)
        if (!parsed.ok) {
          reject({ line, reason: parsed.message, raw: text.slice(0, 2000) }, new DatasetError({ file, line, reason: "malformed", detail: parsed.message, hint: "each line must be one JSON object" }))
          continue
        }
        const exit = decode(parsed.value)
        if (Exit.isFailure(exit)) {
          const error = exit.cause.reasons.find((r) => r._tag === "Fail")
          const issues = error && "error" in error ? issuesOf(error.error as Schema.SchemaError) : [{ field: "", message: "invalid row" }]
          const first = issues[0]!
          const detail = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; ")
          reject(
            { line, field: first.field, reason: detail, raw: text.slice(0, 2000) },
            new DatasetError({ file, line, field: first.field, reason: "invalid", detail })
          )
          continue
        }
        batch.push(exit.value)
        count++
        if (batch.length >= BATCH) {
          yield batch
          batch = []
        }
      }
      if (batch.length > 0) yield batch
      if (count === 0 && !options.allowEmpty) {
        throw new DatasetError({ file, reason: "empty", detail: rejected > 0 ? `no valid rows (${rejected} rejected)` : "file has no rows", hint: "check you passed the right file" })
      }
      rejects?.commit()
      options.onSummary?.({ file, rows: count, rejected, rejectsFile: rejects ? options.rejectsFile : undefined })
    } catch (error) {
      rejects?.abort()
      throw error
    }
  }
  return Stream.fromAsyncIterable(rows(), (error) =>
    error instanceof DatasetError ? error : new DatasetError({ file, reason: "io", detail: String((error as Error)?.message ?? error) })
  ).pipe(Stream.flattenIterable)
}

/**
 * Reads a whole JSONL file into an array (for files known to be small).
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = <A, I>(file: string, schema: Schema.Codec<A, I>, options: ReadOptions = {}): Effect.Effect<Array<A>, DatasetError> =>
  Stream.runCollect(read(file, schema, options))

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteSummary {
  readonly file: string
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
}

/**
 * Writes a stream of rows as JSONL, atomically. With `schema`, every row is encoded (and so validated) first.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = <A, E, R>(
  file: string,
  rows: Stream.Stream<A, E, R>,
  options: { readonly schema?: Schema.Codec<A, any> | undefined } = {}
): Effect.Effect<WriteSummary, E | DatasetError, R> =>
  Effect.suspend(() => {
    let writer: AtomicFile.AtomicWriter
    try {
      writer = AtomicFile.openSync(file)
    } catch (cause) {
      return Effect.fail(new DatasetError({ file, reason: "io", detail: String((cause as Error).message), hint: "check the directory is writable and the disk has space" }))
    }
    const encode = options.schema ? Schema.encodeSync(options.schema as Schema.Codec<A, unknown>) : undefined
    const hash = createHash("sha256")
    let count = 0
    let bytes = 0
    return Stream.runForEachArray(rows, (array) =>
      Effect.try({
        try: () => {
          let text = ""
          for (const row of array) {
            text += JSON.stringify(encode ? encode(row) : row) + "\n"
            count++
          }
          const buf = Buffer.from(text, "utf8")
          hash.update(buf)
          bytes += buf.length
          writer.write(buf)
        },
        catch: (cause) =>
          new DatasetError({ file, line: count + 1, reason: cause instanceof Schema.SchemaError ? "invalid" : "io", detail: String((cause as Error).message) })
      })
    ).pipe(
      Effect.flatMap(() =>
        Effect.try({
          try: () => writer.commit(),
          catch: (cause) => new DatasetError({ file, reason: "io", detail: String((cause as Error).message), hint: "check the disk has space" })
        })
      ),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Effect.sync(() => writer.abort()) : Effect.void)),
      Effect.map(() => ({ file, rows: count, bytes, sha256: hash.digest("hex") }))
    )
  })

/**
 * Writes an array as JSONL, atomically.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeAll = <A>(file: string, rows: ReadonlyArray<A>, options: { readonly schema?: Schema.Codec<A, any> | undefined } = {}) =>
  write(file, Stream.fromIterable(rows), options)
