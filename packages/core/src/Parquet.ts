/**
 * Parquet as Effect streams (hyparquet + hyparquet-writer). Reading goes one row group at a time, so a file
 * never sits in memory whole, and every row is decoded through a Schema with the same errors as JSONL (file, row
 * number, field path). Writing buffers one row group of columns, writes it as the stream arrives, and commits
 * atomically (temp file + rename).
 *
 * Columns come from the schema's encoded struct: strings (and string literals) → UTF8, integers → INT32 (INT64
 * when the schema allows values beyond 32 bits), other numbers → DOUBLE, booleans → BOOLEAN, and anything nested
 * (arrays, structs, mixed unions) → a BYTE_ARRAY column annotated JSON holding the value's JSON text. Optional keys
 * are OPTIONAL columns whose nulls read back as absent keys; `NullOr` fields are OPTIONAL columns whose nulls read
 * back as null; a field both optional and nullable is refused (one Parquet null cannot tell the two apart).
 *
 * @since 0.1.0
 */

import { createHash, type Hash } from "node:crypto"
import * as fs from "node:fs"
import { Effect, Exit, Schema, SchemaAST, Stream } from "effect"
import {
  type AsyncBuffer,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  type SchemaElement
} from "hyparquet"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import * as AtomicFile from "./AtomicFile.js"
import { DatasetError, type Rejection } from "./DatasetError.js"
import { assertFinite } from "./internal/finite.js"
import { describeFailure } from "./internal/issues.js"
import { checkFile, fromBatches } from "./internal/lines.js"

/**
 * How a top-level field is stored.
 *
 * @since 0.1.0
 * @category models
 */
export type ColumnType = "string" | "int32" | "int64" | "double" | "boolean" | "json"

/**
 * One Parquet column derived from a schema field.
 *
 * @since 0.1.0
 * @category models
 */
export interface Column {
  readonly name: string
  readonly type: ColumnType
  /** The key may be absent (an OPTIONAL column; null reads back as an absent key). */
  readonly optional: boolean
  /** The value may be `null` (an OPTIONAL column; null reads back as null). */
  readonly nullable: boolean
}

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

const representation = (check: unknown): { id?: string; payload?: { minimum?: unknown; maximum?: unknown } } =>
  ((check as { annotations?: { representation?: unknown } }).annotations?.representation as never) ?? {}

const numberColumn = (ast: SchemaAST.AST): ColumnType => {
  const checks = ast.checks ?? []
  const isInt = checks.some((c) => representation(c).id === "effect/schema/isInt")
  if (!isInt) return "double"
  const bounded = checks.some((c) => {
    const r = representation(c)
    return (
      r.id === "effect/schema/isBetween" &&
      typeof r.payload?.minimum === "number" &&
      typeof r.payload?.maximum === "number" &&
      r.payload.minimum >= INT32_MIN &&
      r.payload.maximum <= INT32_MAX
    )
  })
  return bounded ? "int32" : "int64"
}

const columnTypeOf = (ast: SchemaAST.AST): ColumnType => {
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral":
      return "string"
    case "Number":
      return numberColumn(ast)
    case "Boolean":
      return "boolean"
    case "Literal":
      return typeof ast.literal === "string"
        ? "string"
        : typeof ast.literal === "boolean"
          ? "boolean"
          : typeof ast.literal === "number" &&
              Number.isInteger(ast.literal) &&
              ast.literal >= INT32_MIN &&
              ast.literal <= INT32_MAX
            ? "int32"
            : "json"
    case "Union": {
      const kinds = new Set(ast.types.map(columnTypeOf))
      if (kinds.size === 1) return [...kinds][0]!
      // text or an integer (ids such as `qid`: numbers are accepted and read as strings) is a text column; a number
      // written into it is stored as its decimal text
      return [...kinds].every((k) => k === "string" || k === "int32" || k === "int64") && kinds.has("string")
        ? "string"
        : "json"
    }
    default:
      return "json"
  }
}

/**
 * The Parquet columns a struct schema is stored as (from its encoded side).
 *
 * @since 0.1.0
 * @category schemas
 */
export const columnsOf = (schema: Schema.Top): ReadonlyArray<Column> => {
  const ast = SchemaAST.toEncoded(schema.ast)
  if (ast._tag !== "Objects" || ast.indexSignatures.length > 0) {
    throw new TypeError("Parquet needs a struct schema (fixed top-level fields); wrap other values in a Schema.Struct")
  }
  return ast.propertySignatures.map((p) => {
    const optional = SchemaAST.isOptional(p.type)
    let type: SchemaAST.AST = p.type
    let nullable = false
    if (type._tag === "Union") {
      const members = type.types.filter((m) => m._tag !== "Undefined" && m._tag !== "Null")
      nullable = type.types.some((m) => m._tag === "Null")
      if (members.length === 1) type = members[0]!
    }
    if (optional && nullable) {
      // Parquet has one null: an absent key and a null value would read back the same.
      throw new TypeError(
        `field ${String(p.name)} is both optional and nullable, which one Parquet null cannot tell apart; make it one or the other`
      )
    }
    return { name: String(p.name), type: columnTypeOf(type), optional, nullable }
  })
}

const schemaElement = (column: Column): SchemaElement => {
  const repetition_type = column.optional || column.nullable ? "OPTIONAL" : "REQUIRED"
  switch (column.type) {
    case "string":
      return { name: column.name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type }
    case "json":
      return { name: column.name, type: "BYTE_ARRAY", converted_type: "JSON", repetition_type }
    case "int32":
      return { name: column.name, type: "INT32", repetition_type }
    case "int64":
      return { name: column.name, type: "INT64", repetition_type }
    case "double":
      return { name: column.name, type: "DOUBLE", repetition_type }
    case "boolean":
      return { name: column.name, type: "BOOLEAN", repetition_type }
  }
}

/**
 * A hyparquet `Writer` that streams its bytes into an atomic temp file (and a running SHA-256) instead of growing
 * one buffer for the whole file.
 */
const atomicByteWriter = (target: AtomicFile.AtomicWriter, hash: Hash): ByteWriter & { flushed: number } => {
  const writer = new ByteWriter(1 << 20) as ByteWriter & { flushed: number; index: number }
  writer.flushed = 0
  const flush = () => {
    if (writer.index === 0) return
    // copy: the writer reuses its buffer after a flush, the atomic writer may still hold the bytes
    const bytes = new Uint8Array(writer.buffer, 0, writer.index).slice()
    hash.update(bytes)
    target.write(bytes)
    writer.flushed += bytes.length
    writer.index = 0
  }
  writer.ensure = (size: number) => {
    if (writer.index > 1 << 20) flush()
    if (writer.index + size > writer.buffer.byteLength) {
      const grown = new ArrayBuffer(Math.max(writer.buffer.byteLength * 2, writer.index + size))
      new Uint8Array(grown).set(new Uint8Array(writer.buffer, 0, writer.index))
      writer.buffer = grown
      writer.view = new DataView(grown)
    }
  }
  ;(writer as unknown as { flush: () => void }).flush = flush
  writer.finish = flush
  return writer
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions<A> {
  /** Encodes (and so validates) each row and decides the columns. */
  readonly schema: Schema.Codec<A, any>
  /** Rows per row group (default 10,000): the writer holds one row group in memory; larger groups cost memory and were slower in the benchmark. */
  readonly rowGroupSize?: number | undefined
  /** Compression (default SNAPPY). */
  readonly codec?: "SNAPPY" | "UNCOMPRESSED" | undefined
  /** Extra key/value metadata stored in the footer (e.g. a manifest hash). */
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteSummary {
  readonly file: string
  readonly rows: number
  readonly rowGroups: number
  readonly bytes: number
  readonly sha256: string
}

/**
 * Writes a stream of rows as Parquet, atomically, one row group at a time.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = <A, E, R>(
  file: string,
  rows: Stream.Stream<A, E, R>,
  options: WriteOptions<A>
): Effect.Effect<WriteSummary, E | DatasetError, R> =>
  Effect.suspend(() => {
    let columns: ReadonlyArray<Column>
    let target: AtomicFile.AtomicWriter
    try {
      columns = columnsOf(options.schema)
    } catch (cause) {
      return Effect.fail(new DatasetError({ file, reason: "invalid", detail: String((cause as Error).message) }))
    }
    try {
      target = AtomicFile.openSync(file)
    } catch (cause) {
      return Effect.fail(
        new DatasetError({
          file,
          reason: "io",
          detail: String((cause as Error).message),
          hint: "check the directory is writable and the disk has space"
        })
      )
    }
    const rowGroupSize = Math.max(1, Math.floor(options.rowGroupSize ?? 10_000))
    const encode = Schema.encodeUnknownExit(options.schema as Schema.Codec<A, unknown>)
    const hash = createHash("sha256")
    const bytesOut = atomicByteWriter(target, hash)
    const writer = new ParquetWriter({
      writer: bytesOut,
      schema: [{ name: "root", num_children: columns.length }, ...columns.map(schemaElement)],
      codec: options.codec ?? "SNAPPY",
      createdBy: "@ssra/core Parquet",
      ...(options.metadata
        ? { kvMetadata: Object.entries(options.metadata).map(([key, value]) => ({ key, value })) }
        : {})
    })
    let buffers: Array<Array<unknown>> = columns.map(() => [])
    let buffered = 0
    let count = 0
    let groups = 0
    const flushGroup = () => {
      if (buffered === 0) return
      const pending = writer.write({
        columnData: columns.map((c, i) => ({ name: c.name, data: buffers[i]! })),
        rowGroupSize: buffered
      })
      if (pending) throw new Error("unexpected asynchronous Parquet writer")
      groups++
      buffers = columns.map(() => [])
      buffered = 0
    }
    const add = (row: A) => {
      const line = count + 1
      const exit = encode(row)
      if (Exit.isFailure(exit)) {
        const { field, detail } = describeFailure(exit, row)
        throw new DatasetError({ file, line, field, reason: "invalid", detail: `row ${line}: ${detail}` })
      }
      const encoded = exit.value as Record<string, unknown>
      for (let i = 0; i < columns.length; i++) {
        const column = columns[i]!
        const value = encoded[column.name]
        if (value === undefined || value === null) {
          buffers[i]!.push(null)
          continue
        }
        switch (column.type) {
          case "int64":
            buffers[i]!.push(BigInt(value as number))
            break
          case "double":
            if (!Number.isFinite(value as number)) {
              throw new DatasetError({
                file,
                line,
                field: column.name,
                reason: "invalid",
                detail: `row ${line}: ${column.name} is ${value}, expected a finite number`,
                hint: "NaN and infinities are never written"
              })
            }
            buffers[i]!.push(value)
            break
          case "json": {
            assertFinite(value, column.name, file, line)
            buffers[i]!.push(value)
            break
          }
          case "string":
            buffers[i]!.push(typeof value === "number" ? String(value) : value)
            break
          default:
            buffers[i]!.push(value)
        }
      }
      buffered++
      count++
      if (buffered >= rowGroupSize) flushGroup()
    }
    const toError = (cause: unknown) =>
      cause instanceof DatasetError
        ? cause
        : new DatasetError({ file, line: count + 1, reason: "io", detail: String((cause as Error)?.message ?? cause) })
    return Stream.runForEachArray(rows, (array) =>
      Effect.try({
        try: () => {
          for (const row of array) add(row)
        },
        catch: toError
      })
    ).pipe(
      Effect.flatMap(() =>
        Effect.try({
          try: () => {
            flushGroup()
            const done = writer.finish()
            if (done) throw new Error("unexpected asynchronous Parquet writer")
            target.commit()
          },
          catch: (cause) =>
            cause instanceof DatasetError
              ? cause
              : new DatasetError({
                  file,
                  reason: "io",
                  detail: String((cause as Error)?.message ?? cause),
                  hint: "check the disk has space"
                })
        })
      ),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Effect.sync(() => target.abort()) : Effect.void)),
      Effect.map(() => ({ file, rows: count, rowGroups: groups, bytes: bytesOut.flushed, sha256: hash.digest("hex") }))
    )
  })

/**
 * Writes an array as Parquet, atomically.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeAll = <A>(
  file: string,
  rows: ReadonlyArray<A>,
  options: WriteOptions<A>
): Effect.Effect<WriteSummary, DatasetError> => write(file, Stream.fromIterable(rows), options)

/**
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** `fail` (default) stops at the first bad row; `skip` drops it and records it. */
  readonly onInvalid?: "fail" | "skip" | undefined
  /** With `skip`: where rejected rows are written (JSONL: line = row number, field, reason, raw). */
  readonly rejectsFile?: string | undefined
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
  readonly rowGroups: number
  readonly rejectsFile?: string | undefined
}

/** An AsyncBuffer over an open file handle: positioned reads, nothing cached. */
const fileBuffer = (handle: fs.promises.FileHandle, size: number): AsyncBuffer => ({
  byteLength: size,
  slice: async (start: number, end?: number) => {
    const stop = Math.min(end ?? size, size)
    const length = Math.max(0, stop - start)
    const buffer = new ArrayBuffer(length)
    let done = 0
    while (done < length) {
      const { bytesRead } = await handle.read(
        new Uint8Array(buffer, done, length - done),
        0,
        length - done,
        start + done
      )
      if (bytesRead === 0) break
      done += bytesRead
    }
    return buffer
  }
})

const utf8 = new TextDecoder()

/**
 * Reads the footer: row count, row groups and column names.
 *
 * @since 0.1.0
 * @category reading
 */
export const metadata = (
  file: string
): Effect.Effect<
  { readonly rows: number; readonly rowGroups: ReadonlyArray<number>; readonly columns: ReadonlyArray<string> },
  DatasetError
> =>
  Effect.tryPromise({
    try: async () => {
      checkFile(file, "Parquet")
      const handle = await fs.promises.open(file, "r")
      try {
        const meta = await openMetadata(file, handle)
        return {
          rows: Number(meta.num_rows),
          rowGroups: meta.row_groups.map((g) => Number(g.num_rows)),
          columns: meta.schema.slice(1).map((e) => e.name)
        }
      } finally {
        await handle.close()
      }
    },
    catch: (error) =>
      error instanceof DatasetError
        ? error
        : new DatasetError({ file, reason: "io", detail: String((error as Error)?.message ?? error) })
  })

const openMetadata = async (file: string, handle: fs.promises.FileHandle): Promise<FileMetaData> => {
  const { size } = await handle.stat()
  if (size === 0)
    throw new DatasetError({
      file,
      reason: "empty",
      detail: "file is empty (0 bytes), expected a Parquet file",
      hint: "check you passed the right file"
    })
  const head = Buffer.alloc(4)
  const tail = Buffer.alloc(4)
  await handle.read(head, 0, 4, 0)
  if (size >= 8) await handle.read(tail, 0, 4, size - 4)
  if (size < 12 || head.toString("latin1") !== "PAR1" || tail.toString("latin1") !== "PAR1") {
    throw new DatasetError({
      file,
      reason: "malformed",
      detail:
        "not a Parquet file (missing the PAR1 magic at start or end; a truncated or half-written file looks like this)",
      hint: "re-export the file, or read it with the reader of its real format"
    })
  }
  try {
    return await parquetMetadataAsync(fileBuffer(handle, size))
  } catch (cause) {
    throw new DatasetError({
      file,
      reason: "malformed",
      detail: `unreadable Parquet footer: ${(cause as Error)?.message ?? cause}`
    })
  }
}

/**
 * Streams the rows of a Parquet file decoded by `schema`, one row group at a time. `line` in errors and rejects
 * is the 1-based row number.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Stream.Stream<A, DatasetError> => {
  const decode = Schema.decodeUnknownExit(schema as Schema.Codec<A, unknown>)
  const skip = options.onInvalid === "skip"
  let columns: ReadonlyArray<Column>
  try {
    columns = columnsOf(schema)
  } catch (cause) {
    return Stream.fail(new DatasetError({ file, reason: "invalid", detail: String((cause as Error).message) }))
  }
  async function* run(): AsyncGenerator<ReadonlyArray<A>> {
    checkFile(file, "Parquet")
    const handle = await fs.promises.open(file, "r")
    const rejects = skip && options.rejectsFile !== undefined ? AtomicFile.openSync(options.rejectsFile) : undefined
    let count = 0
    let rejected = 0
    try {
      const meta = await openMetadata(file, handle)
      const buffer = fileBuffer(handle, (await handle.stat()).size)
      const present = new Map(meta.schema.slice(1).map((e) => [e.name, e] as const))
      const missing = columns.filter((c) => !c.optional && !present.has(c.name)).map((c) => c.name)
      if (missing.length > 0) {
        throw new DatasetError({
          file,
          field: missing[0]!,
          reason: "invalid",
          detail: `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (the file has: ${[...present.keys()].join(", ")})`,
          hint: "write the file with this schema, or read it with the schema it was written with"
        })
      }
      const wanted = columns.filter((c) => present.has(c.name))
      // JSON-annotated columns come back as text and are parsed here, so a bad value names its row and field.
      const parseJson = wanted.map(
        (c) =>
          c.type === "json" ||
          present.get(c.name)?.converted_type === "JSON" ||
          present.get(c.name)?.logical_type?.type === "JSON"
      )
      const reject = (r: Rejection, error: DatasetError) => {
        if (!skip) throw error
        rejected++
        rejects?.write(JSON.stringify(r) + "\n")
      }
      let rowStart = 0
      for (const group of meta.row_groups) {
        const n = Number(group.num_rows)
        if (n === 0) continue
        let raw: Array<Record<string, unknown>>
        try {
          raw = (await parquetReadObjects({
            file: buffer,
            metadata: meta,
            rowStart,
            rowEnd: rowStart + n,
            columns: wanted.map((c) => c.name),
            parsers: { jsonFromBytes: (bytes: Uint8Array) => bytes && utf8.decode(bytes) }
          })) as Array<Record<string, unknown>>
        } catch (cause) {
          throw new DatasetError({
            file,
            line: rowStart + 1,
            reason: "malformed",
            detail: `row group at rows ${rowStart + 1}–${rowStart + n} is unreadable: ${(cause as Error)?.message ?? cause}`
          })
        }
        const batch: Array<A> = []
        for (let r = 0; r < raw.length; r++) {
          const line = rowStart + r + 1
          const source = raw[r]!
          const row: Record<string, unknown> = {}
          let problem: DatasetError | undefined
          for (let c = 0; c < wanted.length; c++) {
            const column = wanted[c]!
            let value = source[column.name]
            if (value === null || value === undefined) {
              if (column.optional) continue
              if (value === null && column.nullable) {
                row[column.name] = null
                continue
              }
              continue // a missing required value: the schema names it below
            }
            if (typeof value === "bigint") {
              value = Number.isSafeInteger(Number(value)) ? Number(value) : value
            } else if (parseJson[c] && typeof value === "string") {
              try {
                value = JSON.parse(value)
              } catch (error) {
                problem = new DatasetError({
                  file,
                  line,
                  field: column.name,
                  reason: "malformed",
                  detail: `row ${line}: ${column.name} holds malformed JSON: ${(error as Error).message}`
                })
                break
              }
            }
            row[column.name] = value
          }
          if (problem === undefined) {
            const exit = decode(row)
            if (Exit.isSuccess(exit)) {
              batch.push(exit.value)
              count++
              continue
            }
            const { field, detail } = describeFailure(exit, row)
            problem = new DatasetError({ file, line, field, reason: "invalid", detail: `row ${line}: ${detail}` })
          }
          reject(
            {
              line,
              ...(problem.field !== undefined ? { field: problem.field } : {}),
              reason: problem.detail,
              raw: JSON.stringify(source, (_k, v) => (typeof v === "bigint" ? v.toString() : v)).slice(0, 2000)
            },
            problem
          )
        }
        rowStart += n
        if (batch.length > 0) yield batch
      }
      if (count === 0 && !options.allowEmpty) {
        throw new DatasetError({
          file,
          reason: "empty",
          detail: rejected > 0 ? `no valid rows (${rejected} rejected)` : "file has no rows",
          hint: "check you passed the right file"
        })
      }
      rejects?.commit()
      options.onSummary?.({
        file,
        rows: count,
        rejected,
        rowGroups: meta.row_groups.length,
        rejectsFile: rejects ? options.rejectsFile : undefined
      })
    } catch (error) {
      rejects?.abort()
      throw error
    } finally {
      await handle.close()
    }
  }
  return fromBatches(file, run)
}

/**
 * Reads a whole Parquet file into an array (for files known to be small).
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Effect.Effect<Array<A>, DatasetError> => Stream.runCollect(read(file, schema, options))
