/**
 * The prompt-only query model, the paper's "SyCL modified" baseline: an LLM is given the grade definitions, a
 * document and a target grade and asked for queries with that grade, as structured output
 * `{"queries": [...]}`. No training; the prompt is versioned so results can be traced to it.
 *
 * @since 0.1.0
 */

import { Grade, Models } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import { Effect } from "effect"
import { distinct, parseQueries, queriesJsonSchema } from "./internal/llmOutput.js"
import { validate } from "./internal/requests.js"
import { QueryOptionError } from "./QueryModelError.js"

/**
 * The prompt version recorded in every generated query's provenance.
 *
 * @since 0.1.0
 * @category constants
 */
export const promptVersion = "sycl-modified-query/v1"

/**
 * @since 0.1.0
 * @category models
 */
export interface PromptQueryModelOptions {
  readonly client: ChatClient.ChatClientShape
  /** The grade scale (default 0–3). */
  readonly scale?: Grade.GradeScale | undefined
  /** Overrides the client's model. */
  readonly model?: string | undefined
  /** Sampling temperature (default 0.7). */
  readonly temperature?: number | undefined
  /** Requests sent at once. Default: the client's `maxInFlight` (4 when it has none). */
  readonly concurrency?: number | undefined
  /** A domain description for the system prompt (default: a Chinese search engine). */
  readonly domain?: string | undefined
  /**
   * Re-asks of a document whose answer is not `{"queries": [...]}` with a non-blank query, each with a new seed
   * (default 2): a model's occasional bad answer costs a call, not the run.
   */
  readonly invalidRetries?: number | undefined
}

/**
 * The chat messages for one request (exported so prompts can be inspected and tested).
 *
 * @since 0.1.0
 * @category constructors
 */
export const messages = (
  request: Pick<Models.QueryRequest, "document" | "targetGrade" | "n">,
  scale: Grade.GradeScale = Grade.ssraScale,
  domain = "a Chinese search engine"
): ReadonlyArray<ChatClient.ChatMessage> => {
  const levels = [...Grade.grades(scale)]
    .reverse()
    .map((g) => `${g}: ${Grade.definitions[g]}`)
    .join("\n")
  return [
    {
      role: "system",
      content:
        `You write search queries that real users of ${domain} would type. Given a document and a target relevance ` +
        "grade, write queries for which the document has exactly that grade.\n\n" +
        `Relevance grades (how well the document satisfies the query):\n${levels}\n\n` +
        "Rules: write short, natural search queries in the document's language, as users type them (keywords, " +
        "questions, colloquial phrasing); every query must differ from the others; a query for a lower grade must " +
        "still be plausible for a user who might land on this document. " +
        'Answer only with JSON: {"queries": ["...", "..."]}.'
    },
    {
      role: "user",
      content:
        `Document:\n${request.document.text}\n\n` +
        `Target grade: ${request.targetGrade} (${Grade.definitions[request.targetGrade]})\n` +
        `Write ${request.n} ${request.n === 1 ? "query" : "distinct queries"}.`
    }
  ]
}

/**
 * Builds the prompt-only query writer. An answer that is not `{"queries": [...]}` with at least one non-blank
 * string fails with `ModelError` (`invalid-output`, raw text attached); a document without text or a target
 * grade off the scale fails with `invalid-input` before any call. At most `n` distinct queries are returned.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: PromptQueryModelOptions): Models.QueryWriter => {
  const scale = options.scale ?? Grade.ssraScale
  const client = options.client
  const model = options.model ?? client.model
  const id = `prompt-only:${client.id}${options.model !== undefined ? `#${options.model}` : ""}`
  const generator = { id, promptVersion }
  const invalidRetries = options.invalidRetries ?? 2
  if (!(Number.isInteger(invalidRetries) && invalidRetries >= 0))
    throw new QueryOptionError({
      option: "invalidRetries",
      detail: `invalidRetries must be an integer >= 0, got ${invalidRetries}`
    })
  const one = (request: Models.QueryRequest): Effect.Effect<Array<Models.GeneratedQuery>, Models.ModelError> =>
    Effect.catchIf(
      ask(request, 0),
      (e) => e.reason === "invalid-output" && invalidRetries > 0,
      (first) => retry(request, first, 1)
    )
  const retry = (
    request: Models.QueryRequest,
    first: Models.ModelError,
    attempt: number
  ): Effect.Effect<Array<Models.GeneratedQuery>, Models.ModelError> =>
    Effect.catchIf(
      ask(request, attempt),
      (e) => e.reason === "invalid-output",
      () =>
        attempt < invalidRetries
          ? retry(request, first, attempt + 1)
          : Effect.fail(
              new Models.ModelError({
                backend: id,
                reason: "invalid-output",
                message: `${first.message}; ${invalidRetries} re-ask${invalidRetries === 1 ? "" : "s"} with new seeds failed too: check the model follows JSON instructions (an instruct model, its chat template)`,
                ...(first.raw !== undefined ? { raw: first.raw } : {})
              })
            )
    )
  // re-ask k shifts the seed by a prime well past any document's seed spread
  const ask = (request: Models.QueryRequest, attempt: number) =>
    client
      .complete({
        messages: messages(request, scale, options.domain),
        model,
        temperature: options.temperature ?? 0.7,
        seed: attempt === 0 ? request.seed : (request.seed ?? 0) + attempt * 104_729,
        maxTokens: 64 + 48 * request.n,
        responseFormat: { type: "json_schema", name: "queries", schema: queriesJsonSchema(Math.max(request.n, 1)) },
        stage: "prompt-only-generate"
      })
      .pipe(
        Effect.mapError((e) => ChatClient.toModelError(id, e)),
        Effect.flatMap((response) => {
          const text = response.choices[0]?.text ?? ""
          const parsed = parseQueries(text)
          if ("error" in parsed) {
            return Effect.fail(
              new Models.ModelError({
                backend: id,
                reason: "invalid-output",
                message: `document ${request.document.id}: ${parsed.error}`,
                raw: text
              })
            )
          }
          const queries = distinct(parsed.queries).slice(0, request.n)
          if (queries.length === 0) {
            return Effect.fail(
              new Models.ModelError({
                backend: id,
                reason: "invalid-output",
                message: `document ${request.document.id}: no non-blank query in the answer`,
                raw: text
              })
            )
          }
          return Effect.succeed(
            queries.map((query): Models.GeneratedQuery => ({ query, targetGrade: request.targetGrade, generator }))
          )
        })
      )
  return {
    id,
    kind: "llm",
    generate: (requests) =>
      Effect.flatMap(validate(id, scale, requests), () =>
        Effect.forEach(requests, one, { concurrency: ChatClient.concurrencyOf(options.client, options.concurrency) })
      )
  }
}
