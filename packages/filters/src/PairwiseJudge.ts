/**
 * Judges that answer "which of two queries does this document satisfy better?" for the pairwise consistency
 * filter: an LLM through `@ssra/llm`'s chat client, or (embedded mode) a score model's expected grade. An
 * answer the judge gives that is not one of the two queries or a tie ("4", "two", prose, nothing) becomes an
 * explicit `Invalid` answer with its reason and raw text, never a guess.
 *
 * @since 0.1.0
 */

import { Models, Text } from "@ssra/core"
import { ChatClient, StructuredOutput } from "@ssra/llm"
import { Effect, Schema } from "effect"

/**
 * One comparison: the document and the two queries in presentation order.
 *
 * @since 0.1.0
 * @category models
 */
export interface PairwiseQuestion {
  readonly doc: string
  readonly first: string
  readonly second: string
}

/**
 * The judge's answer: the first query, the second, a tie, or an answer that could not be read.
 *
 * @since 0.1.0
 * @category models
 */
export type PairwiseAnswer =
  | { readonly _tag: "First" }
  | { readonly _tag: "Second" }
  | { readonly _tag: "Tie" }
  | { readonly _tag: "Invalid"; readonly reason: string; readonly raw: string }

/**
 * A pairwise judge. Answers are index-aligned with questions.
 *
 * @since 0.1.0
 * @category models
 */
export interface PairwiseJudge {
  readonly id: string
  readonly kind: "llm" | "grader"
  readonly promptVersion: string
  readonly compare: (
    questions: ReadonlyArray<PairwiseQuestion>
  ) => Effect.Effect<ReadonlyArray<PairwiseAnswer>, Models.ModelError>
}

/**
 * Embedded mode: the query with the higher expected grade (from the grader's probabilities) wins; expected
 * grades closer than `tieEpsilon` (default 0.05) are a tie. Each distinct (query, document) is graded once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromGrader = (
  grader: Models.Grader,
  options: { readonly tieEpsilon?: number | undefined } = {}
): PairwiseJudge => {
  const eps = options.tieEpsilon ?? 0.05
  return {
    id: `grader:${grader.id}`,
    kind: "grader",
    promptVersion: "expected-grade/v1",
    compare: (questions) =>
      Effect.gen(function* () {
        const keys = new Map<string, number>()
        const pairs: Array<{ query: string; doc: string }> = []
        const keyOf = (query: string, doc: string) => `${query}\u0000${doc}`
        for (const q of questions) {
          for (const query of [q.first, q.second]) {
            const k = keyOf(query, q.doc)
            if (!keys.has(k)) {
              keys.set(k, pairs.length)
              pairs.push({ query, doc: q.doc })
            }
          }
        }
        const judgments = pairs.length === 0 ? [] : yield* grader.grade(pairs)
        if (judgments.length !== pairs.length) {
          return yield* new Models.ModelError({
            backend: grader.id,
            reason: "invalid-output",
            message: `grader returned ${judgments.length} judgments for ${pairs.length} pairs`
          })
        }
        return questions.map((q): PairwiseAnswer => {
          const a = judgments[keys.get(keyOf(q.first, q.doc))!]!.expected
          const b = judgments[keys.get(keyOf(q.second, q.doc))!]!.expected
          if (!Number.isFinite(a) || !Number.isFinite(b)) {
            return { _tag: "Invalid", reason: "grader gave a non-finite expected grade", raw: `${a} vs ${b}` }
          }
          if (Math.abs(a - b) < eps) return { _tag: "Tie" }
          return a > b ? { _tag: "First" } : { _tag: "Second" }
        })
      })
  }
}

/**
 * The prompt version of the LLM pairwise judge.
 *
 * @since 0.1.0
 * @category constants
 */
export const promptVersion = "pairwise-judge/v1"

/**
 * The messages the LLM judge sends for one question.
 *
 * @since 0.1.0
 * @category constructors
 */
export const messages = (question: PairwiseQuestion): ReadonlyArray<ChatClient.ChatMessage> => [
  {
    role: "system",
    content:
      "You judge search relevance. Given a document and two search queries A and B, decide which query the document " +
      "satisfies better: which query's intent the document fulfils more fully and precisely. Answer only with JSON " +
      '{"better": "A"}, {"better": "B"}, or {"better": "tie"} when the document satisfies both equally.'
  },
  {
    role: "user",
    content: `Document:\n${question.doc}\n\nQuery A: ${question.first}\nQuery B: ${question.second}\n\nWhich query does this document satisfy better?`
  }
]

const ANSWER_SCHEMA = {
  type: "object",
  properties: { better: { type: "string", enum: ["A", "B", "tie"] } },
  required: ["better"],
  additionalProperties: false
} as const

const readLabel = (value: string): PairwiseAnswer | undefined => {
  const v = Text.normalize(value)
    .replace(/^["'`]+|["'`.。!！]+$/g, "")
    .trim()
    .toLowerCase()
  if (v === "a" || v === "query a") return { _tag: "First" }
  if (v === "b" || v === "query b") return { _tag: "Second" }
  if (v === "tie" || v === "equal" || v === "same") return { _tag: "Tie" }
  return undefined
}

/**
 * Reads an LLM judge's text: JSON `{"better": "A"|"B"|"tie"}` (code fences allowed) or a bare `A`, `B` or
 * `tie`. Anything else is `Invalid` with the reason and the raw text.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAnswer = (text: string): PairwiseAnswer => {
  const raw = text
  const trimmed = text.trim()
  if (trimmed === "") return { _tag: "Invalid", reason: "empty answer", raw }
  const unfenced = trimmed.replace(/^```(?:json)?\s*/i, "").replace(/\s*```$/, "")
  const found = StructuredOutput.extractJson(trimmed, { accept: StructuredOutput.isJsonObject })
  if (found._tag === "Found") {
    const parsed = found.value as Record<string, unknown>
    const better = parsed.better ?? parsed.answer
    if (better === undefined) return { _tag: "Invalid", reason: 'JSON answer has no field "better"', raw }
    return (
      (typeof better === "string" ? readLabel(better) : undefined) ?? {
        _tag: "Invalid",
        reason: `"better" is ${JSON.stringify(better)}, expected "A", "B" or "tie"`,
        raw
      }
    )
  }
  const start = unfenced.indexOf("{")
  if (start !== -1 && unfenced.lastIndexOf("}") > start)
    return { _tag: "Invalid", reason: "malformed JSON answer", raw }
  return (
    readLabel(unfenced) ?? {
      _tag: "Invalid",
      reason: `unrecognized answer ${JSON.stringify(trimmed.slice(0, 80))}`,
      raw
    }
  )
}

/**
 * Maps an LLM error to the model error the filters fail with (`ChatClient.toModelError` of @ssra/llm).
 *
 * @since 0.1.0
 * @category errors
 */
export const toModelError: (backend: string, error: ChatClient.LlmError) => Models.ModelError = ChatClient.toModelError

/**
 * An LLM judge over a chat client (temperature 0 by default). Transport failures fail with `ModelError`;
 * unreadable answers come back as `Invalid`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromChat = (
  client: ChatClient.ChatClientShape,
  options: {
    readonly model?: string | undefined
    readonly temperature?: number | undefined
    /** Questions asked at once. Default: the client's `maxInFlight` (4 when it has none). */
    readonly concurrency?: number | undefined
    readonly stage?: string | undefined
  } = {}
): PairwiseJudge => ({
  id: `llm:${client.id}${options.model !== undefined ? `#${options.model}` : ""}`,
  kind: "llm",
  promptVersion,
  compare: (questions) =>
    Effect.forEach(
      questions,
      (q) =>
        client
          .complete({
            messages: messages(q),
            temperature: options.temperature ?? 0,
            maxTokens: 32,
            responseFormat: { type: "json_schema", name: "pairwise_preference", schema: ANSWER_SCHEMA },
            stage: options.stage ?? "pairwise-judge",
            ...(options.model !== undefined ? { model: options.model } : {})
          })
          .pipe(
            Effect.map((response): PairwiseAnswer => {
              const choice = response.choices[0]
              return choice === undefined
                ? { _tag: "Invalid", reason: "response has no choices", raw: "" }
                : parseAnswer(choice.text)
            }),
            Effect.catchTag("LlmError", (e) =>
              e.reason === "invalid-output"
                ? Effect.succeed<PairwiseAnswer>({ _tag: "Invalid", reason: e.message, raw: e.raw ?? "" })
                : Effect.fail(toModelError(client.id, e))
            )
          ),
      { concurrency: ChatClient.concurrencyOf(client, options.concurrency) }
    )
})

/**
 * The schema of the judge's structured answer (for servers and callers that validate it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Answer = Schema.Struct({ better: Schema.Literals(["A", "B", "tie"]) })
