/**
 * The fine-tuned query model (the SSRA query model): the same chat call as training used (`SftData.messages`:
 * document + grade in, `{"queries": [q]}` out) against a fine-tuned model — a remote fine-tuned model id or a
 * local GGUF, both behind `@ssra/llm`'s `ChatClientShape`. `n` queries come from `n` sampled choices; if the
 * server returns fewer distinct ones, up to `maxRounds` further calls (new seeds) fill the gap.
 *
 * @since 0.1.0
 */

import { Grade, Models } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import { Effect } from "effect"
import { distinct, parseQueries, queriesJsonSchema } from "./internal/llmOutput.js"
import { validate } from "./internal/requests.js"
import { QueryOptionError } from "./QueryModelError.js"
import * as SftData from "./SftData.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface FineTunedQueryModelOptions {
  readonly client: ChatClient.ChatClientShape
  /** The fine-tuned model id (default: the client's model). */
  readonly model?: string | undefined
  readonly scale?: Grade.GradeScale | undefined
  /** Sampling temperature (default 1.0: the model was trained on real query variety). */
  readonly temperature?: number | undefined
  /** Calls per request at most (default 3). */
  readonly maxRounds?: number | undefined
  /** Requests sent at once. Default: the client's `maxInFlight` (4 when it has none). */
  readonly concurrency?: number | undefined
  /** Provenance label, e.g. `stage1` / `stage2` / `vanilla-sft` (default `fine-tuned`). */
  readonly label?: string | undefined
  /**
   * A request no answer of any round gives a query for: `fail` (default) fails the whole call with
   * `invalid-output`; `skip` answers that request with no query, so one document a weak model cannot write for
   * costs its candidates, not the batch (the pipeline's choice for served fine-tuned models).
   */
  readonly noQuery?: "fail" | "skip" | undefined
}

/**
 * Builds the fine-tuned query writer. Choices that are not `{"queries": [...]}` are skipped; when no choice of
 * any round gives a query the request fails with `ModelError` (`invalid-output`, the first raw answer attached),
 * or, with `noQuery: "skip"`, gets no query.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: FineTunedQueryModelOptions): Models.QueryWriter => {
  const scale = options.scale ?? Grade.ssraScale
  const client = options.client
  const model = options.model ?? client.model
  const maxRounds = options.maxRounds ?? 3
  if (!(Number.isInteger(maxRounds) && maxRounds >= 1))
    throw new QueryOptionError({
      option: "maxRounds",
      detail: `maxRounds must be a positive integer, got ${maxRounds}`
    })
  const id = `${options.label ?? "fine-tuned"}:${client.id}#${model}`
  const generator = { id, promptVersion: SftData.promptVersion }
  const one = (request: Models.QueryRequest) =>
    Effect.gen(function* () {
      const seen = new Set<string>()
      const queries: Array<string> = []
      const problems: Array<{ error: string; raw: string }> = []
      for (let round = 0; round < maxRounds && queries.length < request.n; round++) {
        const response = yield* client
          .complete({
            messages: SftData.messages(request.document.text, request.targetGrade, scale),
            model,
            n: request.n - queries.length,
            temperature: options.temperature ?? 1.0,
            seed: request.seed + round,
            maxTokens: 96,
            responseFormat: { type: "json_schema", name: "queries", schema: queriesJsonSchema(1) },
            stage: "fine-tuned-generate"
          })
          .pipe(Effect.mapError((e) => ChatClient.toModelError(id, e)))
        for (const choice of response.choices) {
          const parsed = parseQueries(choice.text)
          if ("error" in parsed) problems.push({ error: parsed.error, raw: choice.text })
          else queries.push(...distinct(parsed.queries, seen))
        }
      }
      if (queries.length === 0 && options.noQuery === "skip") return []
      if (queries.length === 0) {
        const first = problems[0]
        return yield* new Models.ModelError({
          backend: id,
          reason: "invalid-output",
          message: `document ${request.document.id}: no query in ${problems.length} answers${first ? ` (first: ${first.error})` : ""}`,
          ...(first ? { raw: first.raw } : {})
        })
      }
      return queries
        .slice(0, request.n)
        .map((query): Models.GeneratedQuery => ({ query, targetGrade: request.targetGrade, generator }))
    })
  return {
    id,
    kind: "llm",
    generate: (requests) =>
      Effect.flatMap(validate(id, scale, requests), () =>
        Effect.forEach(requests, one, { concurrency: ChatClient.concurrencyOf(options.client, options.concurrency) })
      )
  }
}
