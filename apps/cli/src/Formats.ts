/**
 * File formats `ssra data convert` reads and writes: JSONL and Parquet (through core's streaming readers and
 * atomic writers), TREC qrels, and CSV / TSV with a header row (read only). The row kind picks the schema every row is validated against.
 *
 * @since 0.1.0
 */
import { type DatasetError, Delimited, Jsonl, Pair, Parquet, Trec } from "@ssra/core"
import { Inputs } from "@ssra/pipeline"
import { Effect, Schema } from "effect"
import { type UsageError, usage } from "./ExitCode.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Format = "jsonl" | "parquet" | "trec" | Delimited.Format

/**
 * @since 0.1.0
 * @category models
 */
export type Kind = "labeled" | "unlabeled" | "documents" | "qrels"

/**
 * The format named by a file's extension.
 *
 * @since 0.1.0
 * @category constructors
 */
export const formatOf = (file: string): Format | undefined => {
  const lower = file.toLowerCase()
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl"
  if (lower.endsWith(".parquet")) return "parquet"
  const delimited = Delimited.formatOf(lower)
  if (delimited !== undefined) return delimited
  if (lower.endsWith(".trec") || lower.endsWith(".qrels") || lower.endsWith(".txt")) return "trec"
  return undefined
}

/**
 * A qrels row as JSON (`qid`, `did`, `label`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const QrelRow = Schema.Struct({ qid: Schema.NonEmptyString, did: Schema.NonEmptyString, label: Schema.Int })

const schemaOf = (kind: Kind): Schema.Codec<any, any> =>
  kind === "labeled"
    ? Pair.LabeledPair
    : kind === "unlabeled"
      ? Pair.UnlabeledPair
      : kind === "documents"
        ? Inputs.DocumentInput
        : QrelRow

/**
 * Reads every row of a file, validated as `kind`.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (
  file: string,
  format: Format,
  kind: Kind,
  options: { readonly allowBom?: boolean | undefined } = {}
): Effect.Effect<ReadonlyArray<any>, DatasetError.DatasetError | UsageError> => {
  if (format === "trec") {
    return Effect.map(Trec.readQrelsMap(file), (map) => {
      const rows: Array<{ qid: string; did: string; label: number }> = []
      for (const [qid, docs] of map) for (const [did, label] of docs) rows.push({ qid, did, label })
      return rows
    })
  }
  const schema = schemaOf(kind)
  if (format === "csv" || format === "tsv") return Delimited.readAll(file, schema, { format, ...options })
  return format === "jsonl" ? Jsonl.readAll(file, schema, options) : Parquet.readAll(file, schema)
}

/**
 * The error for an output format ssra reads but does not write (CSV, TSV), or `undefined` for one it writes.
 *
 * @since 0.1.0
 * @category validation
 */
export const notWritable = (file: string, format: Format): UsageError | undefined =>
  format === "csv" || format === "tsv"
    ? usage(
        `writing ${format.toUpperCase()} is not supported (--output ${file})`,
        "CSV and TSV are read only: write .jsonl or .parquet"
      )
    : undefined

/**
 * Writes rows as `format` atomically; returns the row count.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = (
  file: string,
  format: Format,
  rows: ReadonlyArray<any>,
  kind: Kind
): Effect.Effect<number, DatasetError.DatasetError | UsageError> => {
  if (format === "trec") {
    if (kind === "unlabeled" || kind === "documents") {
      return Effect.fail(
        usage(
          `TREC qrels need graded rows; ${kind} rows have no label`,
          "convert labeled pairs (--kind labeled) or qrels"
        )
      )
    }
    return Effect.map(
      Trec.writeQrelsAll(
        file,
        rows.map((r) => ({ qid: r.qid, iteration: "0", did: r.did, grade: r.label }))
      ),
      (s) => s.rows
    )
  }
  if (format === "csv" || format === "tsv") return Effect.fail(notWritable(file, format)!)
  const schema = schemaOf(kind)
  return format === "jsonl"
    ? Effect.map(Jsonl.writeAll(file, rows, { schema }), (s) => s.rows)
    : Effect.map(Parquet.writeAll(file, rows, { schema }), (s) => s.rows)
}
