/**
 * The layout of a relevance set folder (the bundled `data/qbqtc/`, `data/kuake_qtr/` and any set prepared the
 * same way): which file holds what, a check that they exist before a long run starts, and the grade scale read
 * from the labeled pairs rather than assumed.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, type Schema, Stream } from "effect"
import { DatasetError } from "./DatasetError.js"
import * as Delimited from "./Delimited.js"
import { type GradeScale, inferScale as inferScaleOf } from "./Grade.js"
import * as Jsonl from "./Jsonl.js"
import { LabeledPair, labeledPairOn, UnlabeledPair } from "./Pair.js"
import * as Trec from "./Trec.js"

/**
 * The file names of the layout: the pair files, the optional documents file (`{id,title,ocr?,asr?,text?}` rows)
 * and the retrieval qrels. The pair and documents files are JSON Lines under these names; readers that accept
 * CSV or TSV (the pipeline's `Inputs.filesIn`) look for the same stem with those extensions (`rowExtensions`).
 *
 * @since 0.1.0
 * @category constants
 */
export const fileNames = {
  labeled: "labeled.jsonl",
  unlabeled: "unlabeled.jsonl",
  documents: "documents.jsonl",
  retrievalTest: "retrieval_test.jsonl",
  pairTest: "pair_test.jsonl",
  qrels: "retrieval_qrels.trec"
} as const

/**
 * One of the layout's files.
 *
 * @since 0.1.0
 * @category models
 */
export type Part = keyof typeof fileNames

/**
 * The parts holding rows (pairs or documents), which may come as JSONL, CSV or TSV, in the layout's order.
 *
 * @since 0.1.0
 * @category constants
 */
export const rowParts = [
  "labeled",
  "unlabeled",
  "documents",
  "retrievalTest",
  "pairTest"
] as const satisfies ReadonlyArray<Part>

/**
 * The extensions a row part's file may have, in the order they are named in messages.
 *
 * @since 0.1.0
 * @category constants
 */
export const rowExtensions = [".jsonl", ".csv", ".tsv"] as const

/**
 * The parts `files` and `open` require by default: all but the optional documents file.
 *
 * @since 0.1.0
 * @category constants
 */
export const requiredParts: ReadonlyArray<Part> = ["labeled", "unlabeled", "retrievalTest", "pairTest", "qrels"]

/**
 * The absolute paths of a set's files.
 *
 * @since 0.1.0
 * @category models
 */
export interface Files {
  readonly dir: string
  readonly labeled: string
  readonly unlabeled: string
  /** Optional: the documents file is not required by default. */
  readonly documents: string
  readonly retrievalTest: string
  readonly pairTest: string
  readonly qrels: string
}

const parts = Object.keys(fileNames) as ReadonlyArray<Part>

/**
 * The paths of the set in `dir`, checking that the `require`d parts (default: `requiredParts`, all but the
 * documents file) exist as files. A missing part fails with the file it expected and the files the folder does
 * have.
 *
 * @since 0.1.0
 * @category constructors
 */
export const files = (
  dir: string,
  options: { readonly require?: ReadonlyArray<Part> | undefined } = {}
): Effect.Effect<Files, DatasetError> =>
  Effect.suspend(() => {
    const root = path.resolve(dir)
    let stat: fs.Stats | undefined
    try {
      stat = fs.statSync(root)
    } catch {
      stat = undefined
    }
    if (stat === undefined || !stat.isDirectory()) {
      return Effect.fail(
        new DatasetError({
          file: root,
          reason: "not-found",
          detail: "dataset folder not found",
          hint: `pass a folder holding ${requiredParts.map((p) => fileNames[p]).join(", ")}`
        })
      )
    }
    const result = { dir: root, ...Object.fromEntries(parts.map((p) => [p, path.join(root, fileNames[p])])) } as Files
    const missing = (options.require ?? requiredParts).filter((p) => {
      try {
        return !fs.statSync(result[p]).isFile()
      } catch {
        return true
      }
    })
    if (missing.length > 0) {
      const present = fs.readdirSync(root).sort().join(", ") || "nothing"
      return Effect.fail(
        new DatasetError({
          file: result[missing[0]!],
          reason: "not-found",
          detail: `missing ${missing.map((p) => fileNames[p]).join(", ")} in ${root} (it has: ${present})`,
          hint: "see data/SOURCE-README.md for the layout"
        })
      )
    }
    return Effect.succeed(result)
  })

/**
 * The row formats a pair or documents file may have: JSON Lines, or CSV / TSV with a header row.
 *
 * @since 0.1.0
 * @category models
 */
export type RowFormat = "jsonl" | Delimited.Format

/**
 * The row format a file name says: `.csv` and `.tsv` are delimited, anything else is read as JSON Lines.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rowFormatOf = (file: string): RowFormat => Delimited.formatOf(file) ?? "jsonl"

/**
 * Streams the rows of a pair or documents file in the format its name says (JSONL, CSV or TSV), each decoded by
 * `schema`, with the same options and the same file:line:field errors whatever the format.
 *
 * @since 0.1.0
 * @category reading
 */
export const readRows = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: Jsonl.ReadOptions = {}
): Stream.Stream<A, DatasetError> =>
  rowFormatOf(file) === "jsonl" ? Jsonl.read(file, schema, options) : Delimited.read(file, schema, options)

/**
 * Reads every row of a pair or documents file (JSONL, CSV or TSV) into an array.
 *
 * @since 0.1.0
 * @category reading
 */
export const readAllRows = <A, I>(
  file: string,
  schema: Schema.Codec<A, I>,
  options: Jsonl.ReadOptions = {}
): Effect.Effect<Array<A>, DatasetError> => Stream.runCollect(readRows(file, schema, options))

/**
 * The grade scale of a labeled JSONL, CSV or TSV file: the smallest scale holding every label (QBQTC → 0–2, KUAKE-QTR → 0–3).
 *
 * @since 0.1.0
 * @category constructors
 */
export const inferScale = (labeledFile: string): Effect.Effect<GradeScale, DatasetError> =>
  Stream.runFold(
    readRows(labeledFile, LabeledPair),
    () => ({ max: 0 }),
    (acc, row) => {
      if (row.label > acc.max) acc.max = row.label
      return acc
    }
  ).pipe(Effect.map(({ max }) => inferScaleOf([max])))

/**
 * A set opened for use: its files and its grade scale.
 *
 * @since 0.1.0
 * @category models
 */
export interface Opened {
  readonly name: string
  readonly files: Files
  readonly scale: GradeScale
}

/**
 * Checks the layout and infers the scale from `labeled.jsonl`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (
  dir: string,
  options: { readonly require?: ReadonlyArray<Part> | undefined } = {}
): Effect.Effect<Opened, DatasetError> =>
  Effect.gen(function* () {
    const found = yield* files(dir, { require: [...new Set<Part>(["labeled", ...(options.require ?? requiredParts)])] })
    const scale = yield* inferScale(found.labeled)
    const name = path.basename(found.dir)
    return { name, files: found, scale: { ...scale, name } }
  })

/**
 * The labeled pairs of a part (`labeled`, `retrievalTest` or `pairTest`), each label checked against the set's
 * scale.
 *
 * @since 0.1.0
 * @category reading
 */
export const labeled = (
  set: Opened,
  part: "labeled" | "retrievalTest" | "pairTest" = "labeled",
  options: Jsonl.ReadOptions = {}
): Stream.Stream<LabeledPair, DatasetError> =>
  readRows(set.files[part], labeledPairOn(set.scale), options) as Stream.Stream<LabeledPair, DatasetError>

/**
 * The unlabeled pairs of a set.
 *
 * @since 0.1.0
 * @category reading
 */
export const unlabeled = (set: Opened, options: Jsonl.ReadOptions = {}): Stream.Stream<UnlabeledPair, DatasetError> =>
  readRows(set.files.unlabeled, UnlabeledPair, options)

/**
 * The retrieval qrels of a set, grades checked against its scale.
 *
 * @since 0.1.0
 * @category reading
 */
export const qrels = (set: Opened, options: Trec.ReadOptions = {}): Stream.Stream<Trec.Qrel, DatasetError> =>
  Trec.readQrels(set.files.qrels, { ...options, scale: set.scale })
