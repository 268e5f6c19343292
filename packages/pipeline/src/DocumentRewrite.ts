/**
 * The paper's document construction for short videos (`documents.rewrite: llm`): an LLM rewrites a video's OCR and
 * ASR text into one coherent description, and the title is appended. The prompt and the rule that accepts or
 * rejects an answer are versioned together (`promptVersion`), so a change to either gives new artifact keys.
 *
 * @since 0.1.0
 */
import { Document, Text } from "@ssra/core"
import type { ChatClient } from "@ssra/llm"
import { Effect, Schema } from "effect"
import type * as Backends from "./Backends.js"
import type * as Inputs from "./Inputs.js"

/**
 * The prompt's id and version, recorded in the prepare artifact's key and in the manifest's components.
 *
 * @since 0.1.0
 * @category constants
 */
export const promptId = "ocr-asr-description"

/**
 * @since 0.1.0
 * @category constants
 */
export const promptVersion = "ocr-asr-description/v2"

/** Longest description accepted (the prompt asks for at most 150 characters). */
const maxDescriptionChars = 400

/** Completion tokens a rewrite may use: a 150-character answer with room to spare. */
const maxTokens = 320

const system =
  "你是短视频内容编辑。把视频的画面文字（OCR）和语音文字（ASR）改写成一段通顺、简洁、忠实的中文描述（不超过150字），不要编造内容，只输出描述本身。"

/**
 * The chat messages that ask for one document's description.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (document: Document.Document, seed: number): ChatClient.ChatRequest => ({
  messages: [
    { role: "system", content: system },
    {
      role: "user",
      content: `标题：${document.title}\n画面文字（OCR）：${document.ocr ?? ""}\n语音文字（ASR）：${document.asr ?? ""}`
    }
  ],
  temperature: 0,
  seed,
  maxTokens,
  stage: "prepare-rewrite"
})

/**
 * Why an answer was not used (the document then keeps its template rendering, title + OCR + ASR).
 *
 * @since 0.1.0
 * @category models
 */
export type RejectionReason = "empty" | "truncated" | "not-prose" | "echoes-prompt" | "too-long"

/**
 * The outcome for one document: its new text, or the template rendering kept and why.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Row = Schema.Struct({
  id: Schema.String,
  text: Schema.String,
  status: Schema.Literals(["rewritten", "template"]),
  reason: Schema.optionalKey(Schema.Literals(["empty", "truncated", "not-prose", "echoes-prompt", "too-long"]))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Row = typeof Row.Type

/**
 * The rule for an answer: reasoning blocks (`<think>…</think>`), code fences and a leading "描述：" label are
 * removed; what is left is rejected when it is empty, was cut at the token limit, has no letters or starts like
 * JSON/markup (not prose), repeats the prompt's field labels, or is longer than 400 characters.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  answer: string,
  finishReason: string | undefined
): { readonly description: string } | { readonly reason: RejectionReason } => {
  const cleaned = Text.normalize(
    answer
      .replace(/<think>[\s\S]*?(<\/think>|$)/gi, " ")
      .replace(/```[a-z]*|```/gi, " ")
      .replace(/^\s*(描述|视频描述|description)\s*[:：]/i, " ")
  )
  if (cleaned === "") return { reason: "empty" }
  if (finishReason === "length") return { reason: "truncated" }
  if (!/\p{L}/u.test(cleaned) || /^[{[<]/.test(cleaned)) return { reason: "not-prose" }
  // NFKC has turned the prompt's full-width brackets into ASCII ones
  if (/画面文字\s*[（(]OCR[）)]|语音文字\s*[（(]ASR[）)]/i.test(cleaned)) return { reason: "echoes-prompt" }
  if (cleaned.length > maxDescriptionChars) return { reason: "too-long" }
  return { description: cleaned }
}

/**
 * A document's text after the rewrite: the description, a newline, the title (cut to the template's length).
 *
 * @since 0.1.0
 * @category constructors
 */
export const compose = (description: string, title: string): string =>
  [description, Text.normalize(title)]
    .filter((x) => x !== "")
    .join("\n")
    .slice(0, Document.defaultTemplate.maxChars)

/**
 * Asks for one document's description and applies the rule.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rewrite = (
  llm: Backends.Llm,
  document: Document.Document,
  seed: number
): Effect.Effect<Row, ChatClient.LlmError> =>
  Effect.map(llm.client.complete(request(document, seed)), (response): Row => {
    const choice = response.choices[0]
    const parsed = parse(choice?.text ?? "", choice?.finishReason)
    return "description" in parsed
      ? { id: document.id, text: compose(parsed.description, document.title), status: "rewritten" }
      : { id: document.id, text: document.text, status: "template", reason: parsed.reason }
  })

/**
 * The documents a rewrite asks about: those some pair of the dataset names that have OCR or ASR text, by id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const eligible = (dataset: Inputs.Dataset): ReadonlyArray<Document.Document> => {
  const used = new Set(
    [...dataset.labeled, ...dataset.unlabeled, ...dataset.retrievalTest, ...dataset.pairTest].map((p) => p.did)
  )
  return [...dataset.documents.values()]
    .filter((d) => used.has(d.id) && ((d.ocr ?? "").trim() !== "" || (d.asr ?? "").trim() !== ""))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
}

/**
 * What the rewrite did: rewritten documents, documents that kept the template, and why.
 *
 * @since 0.1.0
 * @category constructors
 */
export const summary = (rows: ReadonlyArray<Row>) => {
  const reasons: Partial<Record<RejectionReason, number>> = {}
  for (const r of rows) if (r.reason !== undefined) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1
  return {
    asked: rows.length,
    rewritten: rows.filter((r) => r.status === "rewritten").length,
    keptTemplate: rows.filter((r) => r.status === "template").length,
    reasons
  }
}
