/**
 * A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions wire format (`POST /v1/chat/completions`,
 * `choices[].message.content`, `choices[].logprobs.content[].top_logprobs`), answering each request with the
 * test's handler. It stands in for vLLM/OpenAI, a boundary this project does not own.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface WireTokenLogprob {
  readonly token: string
  readonly logprob: number
  readonly top: ReadonlyArray<readonly [string, number]>
}

export interface WireChoice {
  readonly content: string | null
  readonly logprobs?: ReadonlyArray<WireTokenLogprob> | undefined
}

export interface ChatServer {
  readonly baseUrl: string
  readonly requests: Array<any>
  readonly close: () => Promise<void>
}

const bytes = (s: string) => [...Buffer.from(s, "utf8")]

export const completion = (model: string, choices: ReadonlyArray<WireChoice>) => ({
  id: `chatcmpl-${Math.abs(choices.length * 7919)}`,
  object: "chat.completion",
  created: 1_790_000_000,
  model,
  choices: choices.map((c, index) => ({
    index,
    message: { role: "assistant", content: c.content },
    finish_reason: "stop",
    logprobs:
      c.logprobs === undefined
        ? null
        : {
            content: c.logprobs.map((t) => ({
              token: t.token,
              logprob: t.logprob,
              bytes: bytes(t.token),
              top_logprobs: t.top.map(([token, logprob]) => ({ token, logprob, bytes: bytes(token) }))
            }))
          }
  })),
  usage: { prompt_tokens: 120, completion_tokens: 6, total_tokens: 126 }
})

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

export const start = async (handler: (body: any) => ReadonlyArray<WireChoice>): Promise<ChatServer> => {
  const requests: Array<any> = []
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        res.writeHead(404, { "content-type": "application/json" })
        res.end(
          JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" } })
        )
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      requests.push(body)
      const choices = handler(body)
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(completion(body.model, choices)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
