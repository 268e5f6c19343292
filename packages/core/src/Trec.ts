/**
 * The TREC formats trec_eval and pytrec_eval read: qrels (`qid 0 did grade`, the human grades) and runs
 * (`qid Q0 did rank score tag`, a system's ranking). Both are read as streams with errors naming file, line and
 * column, and written atomically; a run never carries a NaN score or the same document twice for one query.
 *
 * @since 0.1.0
 */

import { createHash } from "node:crypto"
import { Effect, Schema, Stream } from "effect"
import * as AtomicFile from "./AtomicFile.js"
import { DatasetError } from "./DatasetError.js"
import type { GradeScale } from "./Grade.js"
import { LineProblem, type LineReadOptions, readLines } from "./internal/lines.js"

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

const SPACE = /\s+/
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const INTEGER = /^[+-]?\d+$/

const split = (text: string, columns: ReadonlyArray<string>, format: string, example: string): Array<string> => {
  const parts = text.trim().split(SPACE)
  if (parts.length !== columns.length) {
    throw new LineProblem(
      "malformed",
      `expected ${columns.length} whitespace-separated columns (${columns.join(" ")}), got ${parts.length}`,
      parts.length < columns.length ? columns[parts.length] : undefined,
      `a ${format} line looks like "${example}"`
    )
  }
  return parts
}

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
    const seen = new Map<string, Set<string>>()
    const max = options.scale?.max
    return (text) => {
      const [qid, iteration, did, gradeText] = split(text, ["qid", "iteration", "did", "grade"], "qrels", "q1 0 d7 2")
      if (!INTEGER.test(gradeText!)) {
        throw new LineProblem("invalid", `column 4 (grade): expected an integer grade, got "${gradeText}"`, "grade")
      }
      const grade = Number(gradeText)
      if (grade < 0 || (max !== undefined && grade > max)) {
        throw new LineProblem(
          "invalid",
          `column 4 (grade): ${grade} is outside the grade scale 0..${max ?? "∞"}`,
          "grade",
          max !== undefined ? `this set's grades stop at ${max}` : "grades are non-negative integers"
        )
      }
      let dids = seen.get(qid!)
      if (dids === undefined) seen.set(qid!, (dids = new Set()))
      if (dids.has(did!))
        throw new LineProblem(
          "invalid",
          `duplicate judgment for qid ${qid} did ${did}`,
          "did",
          "keep one grade per (qid, did)"
        )
      dids.add(did!)
      return { qid: qid!, iteration: iteration!, did: did!, grade }
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
    const seen = new Map<string, Set<string>>()
    return (text) => {
      const [qid, q0, did, rankText, scoreText, tag] = split(
        text,
        ["qid", "Q0", "did", "rank", "score", "tag"],
        "run",
        "q1 Q0 d7 1 12.5 bm25"
      )
      if (!INTEGER.test(rankText!) || Number(rankText) < 0) {
        throw new LineProblem("invalid", `column 4 (rank): expected a non-negative integer, got "${rankText}"`, "rank")
      }
      if (!NUMBER.test(scoreText!)) {
        throw new LineProblem(
          "invalid",
          `column 5 (score): expected a finite number, got "${scoreText}"`,
          "score",
          "NaN and infinite scores are not allowed"
        )
      }
      const score = Number(scoreText)
      if (!Number.isFinite(score))
        throw new LineProblem("invalid", `column 5 (score): ${scoreText} overflows to ${score}`, "score")
      let dids = seen.get(qid!)
      if (dids === undefined) seen.set(qid!, (dids = new Set()))
      if (dids.has(did!))
        throw new LineProblem(
          "invalid",
          `duplicate document: qid ${qid} lists did ${did} twice`,
          "did",
          "each document may appear once per query"
        )
      dids.add(did!)
      return { qid: qid!, q0: q0!, did: did!, rank: Number(rankText), score, tag: tag! }
    }
  })

/**
 * Reads a qrels file into `qid → (did → grade)`.
 *
 * @since 0.1.0
 * @category reading
 */
export const readQrelsMap = (
  file: string,
  options: ReadOptions & { readonly scale?: GradeScale | undefined } = {}
): Effect.Effect<Map<string, Map<string, number>>, DatasetError> =>
  Stream.runFold(
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
 * Reads a run file into `qid → (did → score)`.
 *
 * @since 0.1.0
 * @category reading
 */
export const readRunMap = (
  file: string,
  options: ReadOptions = {}
): Effect.Effect<Map<string, Map<string, number>>, DatasetError> =>
  Stream.runFold(
    readRun(file, options),
    () => new Map<string, Map<string, number>>(),
    (map, e) => {
      let docs = map.get(e.qid)
      if (docs === undefined) map.set(e.qid, (docs = new Map()))
      docs.set(e.did, e.score)
      return map
    }
  )

/**
 * Ranks one query's scored documents into run entries: score descending, ties broken by did ascending (so equal
 * input gives an equal run), ranks from 1.
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
    .sort((a, b) => b.score - a.score || (a.did < b.did ? -1 : a.did > b.did ? 1 : 0))
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

const writeLines = <A, E, R>(
  file: string,
  rows: Stream.Stream<A, E, R>,
  format: (row: A, line: number) => string
): Effect.Effect<WriteSummary, E | DatasetError, R> =>
  Effect.suspend(() => {
    let writer: AtomicFile.AtomicWriter
    try {
      writer = AtomicFile.openSync(file)
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
    const hash = createHash("sha256")
    let count = 0
    let bytes = 0
    return Stream.runForEachArray(rows, (array) =>
      Effect.try({
        try: () => {
          let text = ""
          for (const row of array) {
            count++
            text += format(row, count) + "\n"
          }
          const buf = Buffer.from(text, "utf8")
          hash.update(buf)
          bytes += buf.length
          writer.write(buf)
        },
        catch: (cause) =>
          cause instanceof DatasetError
            ? cause
            : new DatasetError({ file, line: count, reason: "io", detail: String((cause as Error)?.message ?? cause) })
      })
    ).pipe(
      Effect.flatMap(() =>
        Effect.try({
          try: () => writer.commit(),
          catch: (cause) =>
            new DatasetError({
              file,
              reason: "io",
              detail: String((cause as Error).message),
              hint: "check the disk has space"
            })
        })
      ),
      Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(() => writer.abort()) : Effect.void)),
      Effect.map(() => ({ file, rows: count, bytes, sha256: hash.digest("hex") }))
    )
  })

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
