import { DatasetError } from "../DatasetError.js"

/**
 * The path of the first number inside `value` that is NaN or infinite, if any. JSON would silently turn it into
 * `null`, so writers refuse such rows instead. Plain code: it runs once per written row.
 */
export const nonFinitePath = (value: unknown, path: string): string | undefined => {
  if (typeof value === "number") return value - value === 0 ? undefined : path
  if (value === null || typeof value !== "object") return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i]
      if (typeof v === "string") continue
      const found = nonFinitePath(v, `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key]
    if (typeof v === "string") continue
    const found = nonFinitePath(v, path === "" ? key : `${path}.${key}`)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Fails a row holding a NaN or infinite number with a `DatasetError` naming the file, the row's line and the field
 * (`path` prefixes the field, e.g. a Parquet column name).
 */
export const assertFinite = (value: unknown, path: string, file: string, line: number): void => {
  const bad = nonFinitePath(value, path)
  if (bad === undefined) return
  throw new DatasetError({
    file,
    line,
    field: bad,
    reason: "invalid",
    detail: `row ${line}: ${bad || "the row"} is not a finite number (NaN or infinite)`,
    hint: "NaN and infinities are never written: JSON would turn them into null"
  })
}
