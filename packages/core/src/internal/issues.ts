import type { SchemaError } from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Flattens a schema error into (field path, message) pairs. */
export const issuesOf = (error: SchemaError): ReadonlyArray<{ readonly field: string; readonly message: string }> =>
  formatter(error.issue).issues.map((issue) => ({
    field: (issue.path ?? [])
      .map((p) => {
        const key = typeof p === "object" && p !== null && "key" in p ? (p as { key: PropertyKey }).key : p
        return typeof key === "number" ? `[${key}]` : String(key)
      })
      .join(".")
      .replace(/\.\[/g, "["),
    message: issue.message
  }))
