/**
 * Structured output over any `complete`: ask for JSON (JSON Schema response format plus an instruction, for
 * servers that ignore `response_format`), extract it leniently, decode with the Schema, make one repair attempt
 * that sends the decode error back, then fail with `invalid-output` carrying the raw text.
 */
import { Cause, Effect, Exit, Schema } from "effect"
import type { ChatMessage, ChatRequest, ChatResponse } from "../ChatClient.js"
import { LlmError } from "../ChatClient.js"
import { extractJson } from "../StructuredOutput.js"

/**
 * Objects are closed (`additionalProperties: false`): servers with strict structured output and grammar-based
 * decoders (llama.cpp) then only generate the declared fields.
 */
const closeObjects = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(closeObjects)
  if (node === null || typeof node !== "object") return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) out[k] = closeObjects(v)
  if (out.type === "object" && out.properties !== undefined && out.additionalProperties === true)
    out.additionalProperties = false
  return out
}

const jsonSchemas = new WeakMap<Schema.Top, Record<string, unknown>>()

/** JSON Schema (draft 2020-12, definitions under `$defs`, objects closed) for a Schema's encoded side (memoized). */
export const jsonSchemaOf = (schema: Schema.Top): Record<string, unknown> => {
  const known = jsonSchemas.get(schema)
  if (known !== undefined) return known
  const computed = computeJsonSchema(schema)
  jsonSchemas.set(schema, computed)
  return computed
}

const computeJsonSchema = (schema: Schema.Top): Record<string, unknown> => {
  const document = Schema.toJsonSchemaDocument(schema)
  const root = closeObjects(document.schema) as Record<string, unknown>
  if (Object.keys(document.definitions).length > 0) root.$defs = closeObjects(document.definitions)
  return root
}

const instruction = (jsonSchema: Record<string, unknown>): string =>
  `Answer with one JSON value only, no prose, matching this JSON Schema:\n${JSON.stringify(jsonSchema)}`

const withInstruction = (messages: ReadonlyArray<ChatMessage>, text: string): ReadonlyArray<ChatMessage> => {
  const first = messages[0]
  if (first !== undefined && first.role === "system") {
    return [{ role: "system", content: `${first.content}\n\n${text}` }, ...messages.slice(1)]
  }
  return [{ role: "system", content: text }, ...messages]
}

type Attempt<A> =
  | { readonly _tag: "Ok"; readonly value: A }
  | { readonly _tag: "Bad"; readonly error: string; readonly raw: string }

const decoders = new WeakMap<Schema.Top, (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>>()

const decodeText = <A, I>(schema: Schema.Codec<A, I>, raw: string): Attempt<A> => {
  const extracted = extractJson(raw)
  if (extracted._tag === "NotFound") return { _tag: "Bad", error: extracted.reason, raw }
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownExit(schema, { errors: "all" }) as (
      input: unknown
    ) => Exit.Exit<unknown, Schema.SchemaError>
    decoders.set(schema, decode)
  }
  const exit = decode(extracted.value)
  if (Exit.isSuccess(exit)) return { _tag: "Ok", value: exit.value as A }
  const error = Cause.squash(exit.cause)
  return { _tag: "Bad", error: String((error as Error)?.message ?? error), raw }
}

const instructions = new WeakMap<Schema.Top, string>()
const instructionFor = (schema: Schema.Top, jsonSchema: Record<string, unknown>): string => {
  let text = instructions.get(schema)
  if (text === undefined) {
    text = instruction(jsonSchema)
    instructions.set(schema, text)
  }
  return text
}

/** Builds `completeObject` from `complete`. */
export const completeObjectWith =
  (endpoint: string, complete: (request: ChatRequest) => Effect.Effect<ChatResponse, LlmError>) =>
  <A, I>(
    request: ChatRequest,
    schema: Schema.Codec<A, I>
  ): Effect.Effect<{ readonly value: A; readonly response: ChatResponse }, LlmError> =>
    Effect.gen(function* () {
      const jsonSchema = jsonSchemaOf(schema)
      const first: ChatRequest = {
        ...request,
        n: 1,
        messages: withInstruction(request.messages, instructionFor(schema, jsonSchema)),
        responseFormat: request.responseFormat ?? { type: "json_schema", name: "answer", schema: jsonSchema }
      }
      const response = yield* complete(first)
      const attempt = decodeText(schema, response.choices[0]?.text ?? "")
      if (attempt._tag === "Ok") return { value: attempt.value, response }
      const repair: ChatRequest = {
        ...first,
        messages: [
          ...first.messages,
          { role: "assistant", content: attempt.raw },
          {
            role: "user",
            content: `That answer could not be used: ${attempt.error}\nReply again with only the corrected JSON value.`
          }
        ]
      }
      const repaired = yield* complete(repair)
      const second = decodeText(schema, repaired.choices[0]?.text ?? "")
      if (second._tag === "Ok") return { value: second.value, response: repaired }
      return yield* Effect.fail(
        new LlmError({
          reason: "invalid-output",
          endpoint,
          message: `the model's answer did not match the schema after one repair attempt: ${second.error}`,
          retryable: false,
          raw: second.raw
        })
      )
    })
