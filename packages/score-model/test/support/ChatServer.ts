/**
 * A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions wire format (`POST /v1/chat/completions`,
 * `choices[].message.content`, `choices[].logprobs.content[].top_logprobs`), answering each request with the
 * test's handler. It stands in for vLLM/OpenAI, a boundary this project does not own. The HTTP plumbing is the
 * shared `@ssra/test-support` server; this file keeps the judge-specific helpers.
 */
import { type ChatChoice, type OpenAiServer, startOpenAiServer, type TokenLogprob } from "@ssra/test-support"

export type WireTokenLogprob = TokenLogprob & { readonly top: ReadonlyArray<readonly [string, number]> }

export type WireChoice = ChatChoice

export type ChatServer = OpenAiServer

/** Tokens of `{"grade": <digit>}` the way a BPE tokenizer splits it, with alternatives for the digit. */
export const gradeTokens = (
  distribution: Readonly<Record<string, number>>
): { content: string; logprobs: Array<WireTokenLogprob> } => {
  const entries = Object.entries(distribution).sort((a, b) => b[1] - a[1])
  const [chosen, p] = entries[0]!
  const fixed = (token: string): WireTokenLogprob => ({ token, logprob: -0.0001, top: [[token, -0.0001]] })
  return {
    content: `{"grade": ${chosen}}`,
    logprobs: [
      fixed('{"'),
      fixed("grade"),
      fixed('":'),
      fixed(" "),
      { token: chosen, logprob: Math.log(p), top: entries.map(([t, q]) => [t, Math.log(q)] as const) },
      fixed("}")
    ]
  }
}

/** The query of the pair being graded: the last user message that carries one (repair turns do not). */
export const queryOf = (body: any): string => {
  const users = (body.messages as Array<{ role: string; content: string }>).filter(
    (m) => m.role === "user" && m.content.startsWith("查询 Query: ")
  )
  const last = users[users.length - 1]!.content
  return last.slice("查询 Query: ".length, last.indexOf("\n"))
}

export const start = (handler: (body: any) => ReadonlyArray<WireChoice>): Promise<ChatServer> =>
  startOpenAiServer({ choices: handler, usage: { promptTokens: 120, completionTokens: 6 } })
