import type * as Exit from "effect/Exit"
import type { SchemaError } from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const keyOf = (p: unknown): PropertyKey =>
  typeof p === "object" && p !== null && "key" in p ? (p as { key: PropertyKey }).key : (p as PropertyKey)

/** Flattens a schema error into (field path, message) pairs. */
export const issuesOf = (
  error: SchemaError
): ReadonlyArray<{ readonly field: string; readonly path: ReadonlyArray<PropertyKey>; readonly message: string }> =>
  formatter(error.issue).issues.map((issue) => {
    const path = (issue.path ?? []).map(keyOf)
    return {
      field: path
        .map((key) => (typeof key === "number" ? `[${key}]` : String(key)))
        .join(".")
        .replace(/\.\[/g, "["),
      path,
      message: issue.message
    }
  })

const MISSING = Symbol("missing")

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let value = input
  for (const key of path) {
    if (value === null || typeof value !== "object" || !(key in (value as object))) return MISSING
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

const show = (value: unknown): string => {
  const text =
    typeof value === "string"
      ? JSON.stringify(value)
      : typeof value === "bigint"
        ? `${value}n`
        : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * The first failing field and a one-line description of every issue of a failed decode; with `input`, each
 * issue says which value it got.
 */
export const describeFailure = (
  exit: Exit.Failure<unknown, SchemaError>,
  input?: unknown
): { readonly field: string; readonly detail: string } => {
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  const issues =
    error && "error" in error ? issuesOf(error.error as SchemaError) : [{ field: "", path: [], message: "invalid row" }]
  const first = issues[0] ?? { field: "", message: "invalid row" }
  const detail = issues
    .map((i) => {
      const actual = input === undefined || i.path.length === 0 ? MISSING : valueAt(input, i.path)
      const got = actual === MISSING || /, got /.test(i.message) ? "" : `, got ${show(actual)}`
      return (i.field ? `${i.field}: ${i.message}` : i.message) + got
    })
    .join("; ")
  return { field: first.field, detail }
}
