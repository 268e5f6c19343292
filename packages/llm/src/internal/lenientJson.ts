/**
 * Lenient JSON extraction from model text: models wrap JSON in code fences, prepend prose or reasoning blocks
 * (`<think>…</think>`), or append explanations. This finds the first complete JSON value that parses.
 */

const THINK_BLOCK = /<think>[\s\S]*?<\/think>/gi
const FENCE = /```(?:json|JSON|jsonc)?\s*\n?([\s\S]*?)```/g

/** Result of an extraction attempt. */
export type Extracted =
  | { readonly _tag: "Found"; readonly value: unknown }
  | { readonly _tag: "NotFound"; readonly reason: string }

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
 * Extracts the first JSON value from `raw`: the whole text, then fenced blocks, then the first balanced
 * `{…}` / `[…]` span that parses.
 */
export const extractJson = (raw: string): Extracted => {
  const text = raw.replace(THINK_BLOCK, "").trim()
  if (text.length === 0) return { _tag: "NotFound", reason: "the answer is empty" }
  const whole = tryParse(text)
  if (whole.ok) return { _tag: "Found", value: whole.value }
  for (const match of text.matchAll(FENCE)) {
    const inner = tryParse(match[1]!.trim())
    if (inner.ok) return { _tag: "Found", value: inner.value }
  }
  let lastError = whole.error
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c !== "{" && c !== "[") continue
    const end = balancedEnd(text, i)
    if (end < 0) continue
    const candidate = tryParse(text.slice(i, end + 1))
    if (candidate.ok) return { _tag: "Found", value: candidate.value }
    lastError = candidate.error
  }
  return { _tag: "NotFound", reason: `no JSON value found (${lastError})` }
}
