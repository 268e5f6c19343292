import { Models, Text } from "@ssra/core"
import type { ChatClient } from "@ssra/llm"

/** Reads `{"queries": [...]}` (code fences and prose around the object allowed) or a bare JSON array of strings. */
export const parseQueries = (
  text: string
): { readonly queries: ReadonlyArray<string> } | { readonly error: string } => {
  const trimmed = text.trim()
  if (trimmed === "") return { error: "empty answer" }
  const unfenced = trimmed.replace(/^```(?:json)?\s*/i, "").replace(/\s*```$/, "")
  const objStart = unfenced.indexOf("{")
  const arrStart = unfenced.indexOf("[")
  let json: string | undefined
  if (objStart !== -1 && (arrStart === -1 || objStart < arrStart))
    json = unfenced.slice(objStart, unfenced.lastIndexOf("}") + 1)
  else if (arrStart !== -1) json = unfenced.slice(arrStart, unfenced.lastIndexOf("]") + 1)
  if (json === undefined || json === "")
    return { error: `no JSON in the answer ${JSON.stringify(trimmed.slice(0, 80))}` }
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return { error: `malformed JSON ${JSON.stringify(json.slice(0, 80))}` }
  }
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

/** Maps an LLM failure onto the query writer's error. */
export const toModelError = (backend: string, error: ChatClient.LlmError): Models.ModelError =>
  new Models.ModelError({
    backend,
    reason:
      error.reason === "invalid-output"
        ? "invalid-output"
        : error.reason === "budget-exceeded"
          ? "budget-exceeded"
          : error.reason === "bad-request"
            ? "invalid-input"
            : "unavailable",
    message: `${error.endpoint}: ${error.message}`,
    ...(error.raw !== undefined ? { raw: error.raw } : {})
  })

/** The JSON Schema of the structured answer. */
export const queriesJsonSchema = (maxItems: number): Record<string, unknown> => ({
  type: "object",
  properties: { queries: { type: "array", items: { type: "string" }, minItems: 1, maxItems } },
  required: ["queries"],
  additionalProperties: false
})
