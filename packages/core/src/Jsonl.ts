/**
 * JSON Lines as Effect streams. Reading never holds the whole file: bytes are split into lines, each line is
 * checked for size and UTF-8, parsed, and decoded with a Schema; a bad line fails with the file, line number,
 * field path and what was expected — or, with `onInvalid: "skip"`, goes to a rejects side file with its reason.
 * Writing is atomic (temp file + rename).
 *
 * @since 0.1.0
 */

import { type Effect, Exit, Schema, Stream } from "effect"
import { DatasetError } from "./DatasetError.js"
import { assertFinite } from "./internal/finite.js"
import { describeFailure } from "./internal/issues.js"
import { type LineParser, LineProblem, readLines } from "./internal/lines.js"
import { writeLines } from "./internal/lineWriter.js"

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

type Decoder<A> = (value: unknown) => Exit.Exit<A, Schema.SchemaError>

/**
 * The parser for one JSONL line: JSON first (malformed → the engine's message, with its position), then the
 * schema (invalid → the first failing field's path and what was expected).
 */
const lineParser =
  <A>(decode: Decoder<A>): LineParser<A> =>
  (text) => {
    // a JSON array (one per file, or one per line) is the commonest non-JSONL export: say so, and how to convert
    if (text.trimStart().startsWith("["))
      throw new LineProblem(
        "malformed",
        "this is a JSON array, not JSON Lines (one JSON object per line, no enclosing [ ])",
        undefined,
        "convert the file: jq -c '.[]' FILE.json > FILE.jsonl (or ssra data convert after that)"
      )
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw new LineProblem(
        "malformed",
        `malformed JSON: ${(error as Error).message}`,
        undefined,
        "each line must be one JSON object"
      )
    }
    const exit = decode(value)
    if (Exit.isSuccess(exit)) return exit.value
    const { field, detail } = describeFailure(exit, value)
    throw new LineProblem("invalid", detail, field)
  }

/**
 * Streams the rows of a JSONL file decoded by `schema`. Blank lines are ignored. Rows arrive in chunks of up to a
 * few thousand (one 1 MiB read at a time); the file is never held whole.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Stream.Stream<A, DatasetError> => {
  const decode: Decoder<A> = Schema.decodeUnknownExit(schema as Schema.Codec<A, unknown>) as Decoder<A>
  return readLines(file, "JSONL", options, () => lineParser(decode))
}

/**
 * Reads a whole JSONL file into an array (for files known to be small).
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: ReadOptions = {}
): Effect.Effect<Array<A>, DatasetError> => Stream.runCollect(read(file, schema, options))

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
): Effect.Effect<WriteSummary, E | DatasetError, R> => {
  const encodeExit = options.schema ? Schema.encodeUnknownExit(options.schema as Schema.Codec<A, unknown>) : undefined
  return writeLines(file, rows, (row, line) => {
    let value: unknown = row
    if (encodeExit !== undefined) {
      const exit = encodeExit(row)
      if (Exit.isFailure(exit)) {
        const { field, detail } = describeFailure(exit, row)
        throw new DatasetError({ file, line, field, reason: "invalid", detail })
      }
      value = exit.value
    }
    assertFinite(value, "", file, line)
    return JSON.stringify(value)
  })
}

/**
 * Writes an array as JSONL, atomically.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeAll = <A>(
  file: string,
  rows: ReadonlyArray<A>,
  options: { readonly schema?: Schema.Codec<A, any> | undefined } = {}
) => write(file, Stream.fromIterable(rows), options)
