import { Text } from "@ssra/core"
import { StructuredOutput } from "@ssra/llm"

/** Reads `{"queries": [...]}` (code fences and prose around the object allowed) or a bare JSON array of strings. */
export const parseQueries = (
  text: string
): { readonly queries: ReadonlyArray<string> } | { readonly error: string } => {
  const trimmed = text.trim()
  if (trimmed === "") return { error: "empty answer" }
  const found = StructuredOutput.extractJson(trimmed, {
    accept: (value) => Array.isArray(value) || StructuredOutput.isJsonObject(value)
  })
  if (found._tag === "NotFound") {
    const unfenced = trimmed.replace(/^```(?:json)?\s*/i, "").replace(/\s*```$/, "")
    const start = unfenced.search(/[[{]/)
    return start === -1
      ? { error: `no JSON in the answer ${JSON.stringify(trimmed.slice(0, 80))}` }
      : { error: `malformed JSON ${JSON.stringify(unfenced.slice(start, start + 80))}` }
  }
  const parsed = found.value
  const list = Array.isArray(parsed)
    ? parsed
    : parsed !== null && typeof parsed === "object"
      ? (parsed as Record<string, unknown>).queries
      : undefined
  if (!Array.isArray(list)) return { error: 'the answer has no "queries" array' }
  const queries: Array<string> = []
  for (const q of list) {
    if (typeof q !== "string") return { error: `"queries" holds a ${q === null ? "null" : typeof q}, expected strings` }
    const n = Text.normalize(q)
    if (n !== "") queries.push(n)
  }
  return { queries }
}

/** Keeps the first occurrence of each normalized query. */
export const distinct = (queries: Iterable<string>, seen = new Set<string>()): Array<string> => {
  const out: Array<string> = []
  for (const q of queries) {
    const k = Text.dedupKey(q)
    if (k === "" || seen.has(k)) continue
    seen.add(k)
    out.push(q)
  }
  return out
}

/** The JSON Schema of the structured answer. */
export const queriesJsonSchema = (maxItems: number): Record<string, unknown> => ({
  type: "object",
  properties: { queries: { type: "array", items: { type: "string" }, minItems: 1, maxItems } },
  required: ["queries"],
  additionalProperties: false
})
