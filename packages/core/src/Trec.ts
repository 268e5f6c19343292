/**
 * The TREC formats trec_eval and pytrec_eval read: qrels (`qid 0 did grade`, the human grades) and runs
 * (`qid Q0 did rank score tag`, a system's ranking). Both are read as streams with errors naming file, line and
 * column, and written atomically; a run never carries a NaN score or the same document twice for one query.
 * One byte-level parser (fields found by scanning bytes, ids interned to integers, numbers parsed without a string)
 * serves every reader: the streams, the `Map` readers and the packed readers (`readRunPacked`, `readQrelsPacked`)
 * that large evaluations use.
 *
 * @since 0.1.0
 */

import { Buffer } from "node:buffer"
import { Effect, Schema, Stream } from "effect"
import { DatasetError } from "./DatasetError.js"
import * as Failure from "./Failure.js"
import type { GradeScale } from "./Grade.js"
import { type LineReadOptions, readLines } from "./internal/lines.js"
import { writeLines } from "./internal/lineWriter.js"
import {
  Interner,
  LineScanner,
  PackProblem,
  packBytes,
  packFile,
  type QueryGroup as ScannedQuery,
  StreamStopped,
  streamFile
} from "./internal/trecScan.js"

/**
 * One judged (query, document) pair: `qid iteration did grade`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Qrel = Schema.Struct({
  qid: Schema.NonEmptyString,
  iteration: Schema.String,
  did: Schema.NonEmptyString,
  grade: Schema.Int
})

/**
 * @since 0.1.0
 * @category models
 */
export type Qrel = typeof Qrel.Type

/**
 * One ranked document of a run: `qid Q0 did rank score tag`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunEntry = Schema.Struct({
  qid: Schema.NonEmptyString,
  q0: Schema.String,
  did: Schema.NonEmptyString,
  rank: Schema.Int,
  score: Schema.Finite,
  tag: Schema.NonEmptyString
})

/**
 * @since 0.1.0
 * @category models
 */
export type RunEntry = typeof RunEntry.Type

/**
 * Options of the TREC readers (the same as `Jsonl.ReadOptions`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions extends LineReadOptions {}

/**
 * Streams the judgments of a qrels file. With `scale`, a grade outside it is an error (grade 3 in a 0–2 set).
 * The same (qid, did) twice is an error.
 *
 * @since 0.1.0
 * @category reading
 */
export const readQrels = (
  file: string,
  options: ReadOptions & { readonly scale?: GradeScale | undefined } = {}
): Stream.Stream<Qrel, DatasetError> =>
  readLines(file, "TREC qrels", options, () => {
    const parse = entryParser("qrels", options.scale?.max)
    return (text) => {
      const { scanner, bytes } = parse(text)
      return {
        qid: scanner.queries.strings[scanner.qid]!,
        iteration: scanner.text(bytes, 1),
        did: scanner.documents.strings[scanner.did]!,
        grade: scanner.value
      }
    }
  })

/**
 * Streams the entries of a run file. A score that is not a finite number (NaN, inf) is an error, and so is a
 * document listed twice for the same query (the error names the qid and did).
 *
 * @since 0.1.0
 * @category reading
 */
export const readRun = (file: string, options: ReadOptions = {}): Stream.Stream<RunEntry, DatasetError> =>
  readLines(file, "TREC run", options, () => {
    const parse = entryParser("run", undefined)
    return (text) => {
      const { scanner, bytes } = parse(text)
      return {
        qid: scanner.queries.strings[scanner.qid]!,
        q0: scanner.text(bytes, 1),
        did: scanner.documents.strings[scanner.did]!,
        rank: scanner.rank,
        score: scanner.value,
        tag: scanner.text(bytes, 5)
      }
    }
  })

/**
 * The streaming readers' line parser: the packed scanner's, plus an exact duplicate check for files whose
 * queries are not contiguous (the scanner's own check covers contiguous queries).
 */
const entryParser = (format: "run" | "qrels", maxGrade: number | undefined) => {
  const scanner = new LineScanner(format, { maxGrade })
  const seen = new Set<number | string>()
  return (text: string) => {
    const bytes = Buffer.from(text, "utf8")
    scanner.line(bytes, 0, bytes.length)
    const key = scanner.qid < 1 << 20 ? scanner.qid * 4294967296 + scanner.did : `${scanner.qid} ${scanner.did}`
    if (scanner.interleaved && seen.has(key))
      throw scanner.duplicate(scanner.queries.strings[scanner.qid]!, scanner.documents.strings[scanner.did]!)
    seen.add(key)
    return { scanner, bytes }
  }
}

/**
 * Interned document ids: dense integers in first-seen order, one string per distinct id. Share one between a
 * qrels file and a run (`documents` option) so their integer ids line up.
 *
 * @since 0.1.0
 * @category models
 */
export type DocumentIds = Interner

/**
 * A fresh, empty `DocumentIds`. `keepStrings: false` keeps only the bytes (no JS string per id; `stringOf` decodes
 * on demand): for a per-query table that is `clear()`ed after each query, not for the packed readers'
 * `documents` option (their users read `strings`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDocumentIds = (options: { readonly keepStrings?: boolean | undefined } = {}): DocumentIds =>
  new Interner(options.keepStrings !== false)

/**
 * A qrels or run file packed by query: query `q` (in first-seen order) owns entries `offsets[q]..offsets[q+1]`
 * of `docs` (ids into `documents`) and `values` (grades or scores), in file order; `lineOf(p)` is entry `p`'s
 * 1-based source line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Packed {
  readonly file: string
  readonly queries: ReadonlyArray<string>
  readonly offsets: Uint32Array
  readonly docs: Uint32Array
  readonly values: Float64Array
  readonly lineOf: (p: number) => number
  readonly documents: DocumentIds
}

/**
 * Why a packed read failed: `kind` tells duplicates, non-finite scores and out-of-scale grades apart from other
 * malformed lines; `qid`/`did` name the entry when known. `toDatasetError()` gives the core error.
 *
 * @since 0.1.0
 * @category errors
 */
export class TrecReadError extends Schema.TaggedError<TrecReadError>()("TrecReadError", {
  file: Schema.String,
  line: Schema.optionalKey(Schema.Int),
  field: Schema.optionalKey(Schema.String),
  kind: Schema.Literals([
    "not-found",
    "io",
    "encoding",
    "empty",
    "malformed",
    "invalid",
    "duplicate",
    "non-finite",
    "grade-range"
  ]),
  qid: Schema.optionalKey(Schema.String),
  did: Schema.optionalKey(Schema.String),
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return this.toDatasetError().message
  }
  /** The classification of the same error as a `DatasetError`. */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.classify(this.toDatasetError())
  }
  /** The same error as a `DatasetError` (what the other readers fail with). */
  toDatasetError(): DatasetError {
    const reason =
      this.kind === "duplicate" || this.kind === "non-finite" || this.kind === "grade-range" ? "invalid" : this.kind
    return new DatasetError({
      file: this.file,
      ...(this.line !== undefined ? { line: this.line } : {}),
      ...(this.field !== undefined ? { field: this.field } : {}),
      reason,
      detail: this.detail,
      ...(this.hint !== undefined ? { hint: this.hint } : {})
    })
  }
}

const toReadError = (file: string, error: unknown): TrecReadError => {
  if (!(error instanceof PackProblem)) {
    return new TrecReadError({ file, kind: "io", detail: String((error as Error)?.message ?? error) })
  }
  const p = error.problem
  const hint = p?.hint ?? error.hint
  return new TrecReadError({
    file,
    ...(error.line !== undefined ? { line: error.line } : {}),
    ...(p?.field !== undefined ? { field: p.field } : {}),
    kind: p?.kind ?? error.reason,
    ...(p?.qid !== undefined ? { qid: p.qid } : {}),
    ...(p?.did !== undefined ? { did: p.did } : {}),
    detail: error.detail,
    ...(hint !== undefined ? { hint } : {})
  })
}

/**
 * Options of the packed readers: `maxGrade` (qrels; or `scale`), and `documents` to share document ids.
 *
 * @since 0.1.0
 * @category models
 */
export interface PackOptions {
  readonly scale?: GradeScale | undefined
  readonly maxGrade?: number | undefined
  readonly documents?: DocumentIds | undefined
}

const pack = (
  format: "run" | "qrels",
  file: string,
  source: string | Uint8Array,
  options: PackOptions
): Effect.Effect<Packed, TrecReadError> =>
  Effect.try({
    try: () => {
      const scan = { maxGrade: options.maxGrade ?? options.scale?.max, documents: options.documents }
      const packed = typeof source === "string" ? packFile(format, source, scan) : packBytes(format, source, scan)
      return { file, ...packed }
    },
    catch: (error) => toReadError(file, error)
  })

/**
 * Reads a whole qrels file straight from bytes into packed typed arrays (the fast path: no string per line, no
 * per-judgment object). Same validation as `readQrels`; fails on the first bad line.
 *
 * @since 0.1.0
 * @category reading
 */
export const readQrelsPacked = (file: string, options: PackOptions = {}): Effect.Effect<Packed, TrecReadError> =>
  pack("qrels", file, file, options)

/**
 * Reads a whole run file straight from bytes into packed typed arrays (the fast path). Same validation as
 * `readRun`: a non-finite score or a document listed twice for a query fails, naming line, qid and did.
 *
 * @since 0.1.0
 * @category reading
 */
export const readRunPacked = (file: string, options: PackOptions = {}): Effect.Effect<Packed, TrecReadError> =>
  pack("run", file, file, options)

/**
 * One query of a file streamed by `streamQueries`: entry `i` (file order) has the value `values[i]` (score or
 * grade) and document id `i` of `documents`, a per-query table (`documents.bytes`, `start(i)`, `length(i)`: the
 * id's UTF-8 bytes; `stringOf(i)`: its text). `line` is the first entry's line. Valid only during the callback.
 *
 * @since 0.1.0
 * @category models
 */
export type QueryGroup = ScannedQuery

/**
 * Streams a TREC file grouped by query (each query's lines contiguous, as trec_eval and most tools write them):
 * `onQuery` gets each query once its lines are complete, and memory stays one 16 MiB block plus one query — no
 * per-document table for the whole file. Same validation as the packed readers. Succeeds with `false`, having
 * stopped early, when a query's lines resume after another query's (read it with `readRunPacked` /
 * `readQrelsPacked` then). A callback returning a value other than `undefined` stops the stream and fails with
 * that value.
 *
 * @since 0.1.0
 * @category reading
 */
export const streamQueries = <E = never>(
  format: "run" | "qrels",
  file: string,
  onQuery: (group: QueryGroup) => E | undefined,
  options: { readonly maxGrade?: number | undefined; readonly scale?: GradeScale | undefined } = {}
): Effect.Effect<boolean, TrecReadError | E> =>
  Effect.try({
    try: () => streamFile(format, file, { maxGrade: options.maxGrade ?? options.scale?.max }, onQuery),
    catch: (error) => (error instanceof StreamStopped ? (error.error as E) : toReadError(file, error))
  })

/**
 * Parses qrels held in memory (`bytes`, UTF-8) like `readQrelsPacked`; `file` names them in errors.
 *
 * @since 0.1.0
 * @category reading
 */
export const parseQrelsPacked = (
  bytes: Uint8Array,
  file = "<qrels>",
  options: PackOptions = {}
): Effect.Effect<Packed, TrecReadError> => pack("qrels", file, bytes, options)

/**
 * Parses a run held in memory (`bytes`, UTF-8) like `readRunPacked`; `file` names it in errors.
 *
 * @since 0.1.0
 * @category reading
 */
export const parseRunPacked = (
  bytes: Uint8Array,
  file = "<run>",
  options: PackOptions = {}
): Effect.Effect<Packed, TrecReadError> => pack("run", file, bytes, options)

/**
 * `qid → (did → value)` from a packed file, in file order.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toMap = (packed: Packed): Map<string, Map<string, number>> => {
  const map = new Map<string, Map<string, number>>()
  const strings = packed.documents.strings
  packed.queries.forEach((qid, q) => {
    const docs = new Map<string, number>()
    for (let p = packed.offsets[q]!; p < packed.offsets[q + 1]!; p++)
      docs.set(strings[packed.docs[p]!]!, packed.values[p]!)
    map.set(qid, docs)
  })
  return map
}

/**
 * Reads a qrels file into `qid → (did → grade)` (through the packed reader; a duplicate judgment is an error).
 *
 * @since 0.1.0
 * @category reading
 */
export const readQrelsMap = (
  file: string,
  options: ReadOptions & { readonly scale?: GradeScale | undefined } = {}
): Effect.Effect<Map<string, Map<string, number>>, DatasetError> =>
  isPlain(options)
    ? Effect.mapBoth(readQrelsPacked(file, { scale: options.scale }), {
        onFailure: (e) => e.toDatasetError(),
        onSuccess: toMap
      })
    : Stream.runFold(
        readQrels(file, options),
        () => new Map<string, Map<string, number>>(),
        (map, q) => {
          let docs = map.get(q.qid)
          if (docs === undefined) map.set(q.qid, (docs = new Map()))
          docs.set(q.did, q.grade)
          return map
        }
      )

/**
 * Reads a run file into `qid → (did → score)` (through the packed reader; a document listed twice for a query
 * is an error, as in `readRun`).
 *
 * @since 0.1.0
 * @category reading
 */
export const readRunMap = (
  file: string,
  options: ReadOptions = {}
): Effect.Effect<Map<string, Map<string, number>>, DatasetError> =>
  isPlain(options)
    ? Effect.mapBoth(readRunPacked(file), { onFailure: (e) => e.toDatasetError(), onSuccess: toMap })
    : Stream.runFold(
        readRun(file, options),
        () => new Map<string, Map<string, number>>(),
        (map, e) => {
          let docs = map.get(e.qid)
          if (docs === undefined) map.set(e.qid, (docs = new Map()))
          docs.set(e.did, e.score)
          return map
        }
      )

/** Options the packed reader does not handle (skipping, BOM, size limits, summaries) go through the stream. */
const isPlain = (options: ReadOptions): boolean =>
  options.onInvalid !== "skip" &&
  options.allowBom !== true &&
  options.allowEmpty !== true &&
  options.maxLineBytes === undefined &&
  options.onSummary === undefined

/**
 * Compares two strings byte-wise as UTF-8 (= by Unicode code point), like C's `strcmp` on UTF-8 text — the order
 * trec_eval breaks score ties in. Plain `<` on JavaScript strings compares UTF-16 code units, which orders astral
 * characters (emoji, CJK extension B) before U+E000–U+FFFF.
 *
 * @since 0.1.0
 * @category ordering
 */
export const compareUtf8 = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      // Surrogates (U+D800–DFFF) encode code points above U+FFFF: move them above U+E000–U+FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000
      }
      return x - y
    }
  }
  return a.length - b.length
}

/**
 * trec_eval's ranking order, the one order of the project (every ranking written or scored uses it): score
 * descending, ties broken by document id descending byte-wise (UTF-8). Negative when `(scoreA, didA)` ranks
 * before `(scoreB, didB)`. NaN scores must be rejected before.
 *
 * @since 0.1.0
 * @category ordering
 */
export const compareRanked = (scoreA: number, didA: string, scoreB: number, didB: string): number =>
  scoreB - scoreA || compareUtf8(didB, didA)

/**
 * Ranks one query's scored documents into run entries in trec_eval's order (`compareRanked`: score
 * descending, ties by did descending byte-wise), ranks from 1 — so the rank column agrees with how trec_eval
 * and `@ssra/evaluation` score the run.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rank = (
  qid: string,
  scored: ReadonlyArray<{ readonly did: string; readonly score: number }>,
  tag: string
): Array<RunEntry> =>
  scored
    .slice()
    .sort((a, b) => compareRanked(a.score, a.did, b.score, b.did))
    .map((s, i) => ({ qid, q0: "Q0", did: s.did, rank: i + 1, score: s.score, tag }))

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

const HAS_SPACE = /\s/

const checkToken = (file: string, line: number, field: string, value: string) => {
  if (value.length === 0 || HAS_SPACE.test(value)) {
    throw new DatasetError({
      file,
      line,
      field,
      reason: "invalid",
      detail: `${field} ${JSON.stringify(value)} is empty or contains whitespace, which would break the column layout`,
      hint: "use ids without spaces"
    })
  }
}

/**
 * Writes qrels atomically. Grades must be non-negative integers; ids must not contain whitespace.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeQrels = <E, R>(
  file: string,
  qrels: Stream.Stream<Qrel, E, R>
): Effect.Effect<WriteSummary, E | DatasetError, R> =>
  writeLines(file, qrels, (q, line) => {
    checkToken(file, line, "qid", q.qid)
    checkToken(file, line, "did", q.did)
    const iteration = q.iteration === "" ? "0" : q.iteration
    checkToken(file, line, "iteration", iteration)
    if (!Number.isSafeInteger(q.grade) || q.grade < 0) {
      throw new DatasetError({
        file,
        line,
        field: "grade",
        reason: "invalid",
        detail: `grade ${q.grade} is not a non-negative integer`
      })
    }
    return `${q.qid} ${iteration} ${q.did} ${q.grade}`
  })

/**
 * Writes a run atomically. A non-finite score or a document listed twice for one query fails the write (naming
 * qid and did) and leaves no file.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeRun = <E, R>(
  file: string,
  entries: Stream.Stream<RunEntry, E, R>
): Effect.Effect<WriteSummary, E | DatasetError, R> =>
  Effect.suspend(() => {
    const seen = new Map<string, Set<string>>()
    return writeLines(file, entries, (e, line) => {
      checkToken(file, line, "qid", e.qid)
      checkToken(file, line, "did", e.did)
      checkToken(file, line, "tag", e.tag)
      const q0 = e.q0 === "" ? "Q0" : e.q0
      checkToken(file, line, "q0", q0)
      if (!Number.isFinite(e.score)) {
        throw new DatasetError({
          file,
          line,
          field: "score",
          reason: "invalid",
          detail: `qid ${e.qid} did ${e.did}: score is ${e.score}, expected a finite number`,
          hint: "NaN is never written"
        })
      }
      if (!Number.isSafeInteger(e.rank) || e.rank < 0) {
        throw new DatasetError({
          file,
          line,
          field: "rank",
          reason: "invalid",
          detail: `qid ${e.qid} did ${e.did}: rank ${e.rank} is not a non-negative integer`
        })
      }
      let dids = seen.get(e.qid)
      if (dids === undefined) seen.set(e.qid, (dids = new Set()))
      if (dids.has(e.did)) {
        throw new DatasetError({
          file,
          line,
          field: "did",
          reason: "invalid",
          detail: `duplicate document: qid ${e.qid} lists did ${e.did} twice`,
          hint: "each document may appear once per query"
        })
      }
      dids.add(e.did)
      return `${e.qid} ${q0} ${e.did} ${e.rank} ${e.score} ${e.tag}`
    })
  })

/**
 * Writes an array of qrels atomically.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeQrelsAll = (file: string, qrels: ReadonlyArray<Qrel>): Effect.Effect<WriteSummary, DatasetError> =>
  writeQrels(file, Stream.fromIterable(qrels))

/**
 * Writes an array of run entries atomically.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeRunAll = (
  file: string,
  entries: ReadonlyArray<RunEntry>
): Effect.Effect<WriteSummary, DatasetError> => writeRun(file, Stream.fromIterable(entries))
