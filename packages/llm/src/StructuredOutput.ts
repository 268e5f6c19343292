/**
 * Lenient reading of JSON out of model text. Models wrap JSON in code fences, prepend prose or reasoning blocks
 * (`<think>…</think>`), or append explanations; `extractJson` finds the first complete JSON value that parses
 * (and, with `accept`, that the caller wants). Domain checks — which fields, which values, which rejection
 * reason — stay with the caller: the LLM judge, the query writer and the pairwise judge all read their answers
 * through this one function.
 *
 * @since 0.1.0
 */

const THINK_BLOCK = /<think>[\s\S]*?<\/think>/gi
const FENCE = /```(?:json|JSON|jsonc)?\s*\n?([\s\S]*?)```/g

/**
 * The result of an extraction: the first JSON value found, or why none was.
 *
 * @since 0.1.0
 * @category models
 */
export type Extracted =
  | { readonly _tag: "Found"; readonly value: unknown }
  | { readonly _tag: "NotFound"; readonly reason: string }

/**
 * Whether a decoded JSON value is an object (not `null`, not an array).
 *
 * @since 0.1.0
 * @category guards
 */
export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const tryParse = (text: string): { ok: true; value: unknown } | { ok: false; error: string } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, error: (error as Error).message }
  }
}

/** Scans from `start` (a `{` or `[`) to its balanced closing bracket, honouring strings and escapes. */
const balancedEnd = (text: string, start: number): number => {
  const stack: Array<string> = []
  let inString = false
  let escaped = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      if (escaped) escaped = false
      else if (c === "\\") escaped = true
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === "{") stack.push("}")
    else if (c === "[") stack.push("]")
    else if (c === "}" || c === "]") {
      if (stack.pop() !== c) return -1
      if (stack.length === 0) return i
    }
  }
  return -1
}

/**
 * Extracts the first JSON value from model text, `<think>` blocks removed: the whole text, then each fenced
 * block, then each balanced `{…}` / `[…]` span, in order. With `accept`, values it rejects are skipped (e.g.
 * `isJsonObject` so that a bare `4` or a `[2]` in prose is not taken for the answer object).
 *
 * @since 0.1.0
 * @category parsing
 */
export const extractJson = (
  raw: string,
  options: { readonly accept?: ((value: unknown) => boolean) | undefined } = {}
): Extracted => {
  const accept = options.accept
  const text = raw.replace(THINK_BLOCK, "").trim()
  if (text.length === 0) return { _tag: "NotFound", reason: "the answer is empty" }
  let lastError: string | undefined
  let found: unknown
  /** Parses one candidate; a fence that does not parse keeps the previous error (the whole text's or a span's). */
  const attempt = (candidate: string, recordError: boolean): boolean => {
    const parsed = tryParse(candidate)
    if (!parsed.ok) {
      if (recordError) lastError = parsed.error
      return false
    }
    if (accept !== undefined && !accept(parsed.value)) {
      lastError = "only JSON values of another shape"
      return false
    }
    found = parsed.value
    return true
  }
  if (attempt(text, true)) return { _tag: "Found", value: found }
  for (const match of text.matchAll(FENCE)) {
    if (attempt(match[1]!.trim(), false)) return { _tag: "Found", value: found }
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c !== "{" && c !== "[") continue
    const end = balancedEnd(text, i)
    if (end >= 0 && attempt(text.slice(i, end + 1), true)) return { _tag: "Found", value: found }
  }
  return { _tag: "NotFound", reason: `no JSON value found (${lastError})` }
}
