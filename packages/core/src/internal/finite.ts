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
