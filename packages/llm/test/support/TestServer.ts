/**
 * A real HTTP server on 127.0.0.1 speaking the OpenAI wire format, scripted per test: each request is answered by
 * the test's handler, which can delay, fail with any status (with or without Retry-After), reset the connection,
 * truncate or mangle the body, dribble a slow stream, or ignore `response_format`. The HTTP plumbing is the shared
 * `@ssra/test-support` server; this file keeps the handler-per-request API these tests are written against.
 */
import {
  chatCompletion,
  lastUserMessage,
  type RecordedRequest,
  type Reply,
  startOpenAiServer
} from "@ssra/test-support"

export type Received = RecordedRequest

export type Action = Reply

export interface TestServer {
  readonly baseUrl: string
  readonly hits: () => number
  readonly received: Array<Received>
  readonly close: () => Promise<void>
}

export const startServer = (
  handler: (request: Received) => Action | Promise<Action>,
  options: { readonly keep?: boolean } = {}
): Promise<TestServer> => startOpenAiServer({ respond: handler, record: options.keep !== false })

/** A chat completion body in OpenAI's format. */
export const completion = (
  content: string | ReadonlyArray<string>,
  options: {
    readonly model?: string
    readonly promptTokens?: number
    readonly completionTokens?: number
    readonly logprobs?: unknown
  } = {}
) =>
  chatCompletion(
    (typeof content === "string" ? [content] : content).map((text) => ({
      content: text,
      rawLogprobs: options.logprobs ?? null
    })),
    {
      id: "chatcmpl-test",
      created: 1_763_900_000,
      model: options.model ?? "test-model",
      usage: { promptTokens: options.promptTokens ?? 10, completionTokens: options.completionTokens ?? 5 }
    }
  )

/** The last user message of a chat request body. */
export const lastUser = lastUserMessage
