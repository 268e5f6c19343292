// Test fixtures: candidate rows, a lookup-table grader with hand-set judgments, and a local
// OpenAI-compatible chat server on 127.0.0.1 speaking the real /v1/chat/completions wire format, and
// @ssra/llm's real client pointed at it.

import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Models, type SyntheticQuery } from "@ssra/core"
import { ChatClient, OpenAiCompatible } from "@ssra/llm"
import { Effect } from "effect"

export const candidate = (
  id: string,
  did: string,
  query: string,
  targetGrade: number,
  doc = `document ${did}`
): SyntheticQuery.SyntheticQuery => ({
  id,
  did,
  doc,
  query,
  stage: "stage2",
  targetGrade: targetGrade as 0 | 1 | 2 | 3,
  generator: { id: "test", promptVersion: "test/v1" },
  verdicts: [],
  seed: 1
})

/** A grader answering from a table of (query, doc) → probabilities; unknown pairs are a test bug. */
export const tableGrader = (
  table: ReadonlyArray<readonly [query: string, doc: string, probabilities: ReadonlyArray<number>]>,
  max: 1 | 2 | 3 = 3
): Models.Grader & { calls: number } => {
  const map = new Map(table.map(([q, d, p]) => [`${q}\u0000${d}`, p]))
  const grader = {
    id: "table-grader",
    scale: { max },
    calls: 0,
    grade: (pairs: ReadonlyArray<{ query: string; doc: string }>) =>
      Effect.suspend(() => {
        grader.calls++
        const out: Array<Models.GradeJudgment> = []
        for (const p of pairs) {
          const probabilities = map.get(`${p.query}\u0000${p.doc}`)
          if (probabilities === undefined) {
            return Effect.fail(
              new Models.ModelError({
                backend: "table-grader",
                reason: "invalid-input",
                message: `no entry for ${p.query} / ${p.doc}`
              })
            )
          }
          out.push({
            grade: Models.argmaxGrade(probabilities),
            probabilities,
            expected: Models.expectedGrade(probabilities)
          })
        }
        return Effect.succeed(out)
      })
  }
  return grader
}

export interface ChatServer {
  readonly url: string
  readonly requests: Array<any>
  readonly close: () => Promise<void>
}

/** Starts a chat-completions server whose assistant text comes from `reply(body, choiceIndex)`. */
export const startChatServer = (reply: (body: any, index: number) => string): Promise<ChatServer> =>
  new Promise((resolve) => {
    const requests: Array<any> = []
    const server = http.createServer((req, res) => {
      let data = ""
      req.on("data", (c) => (data += c))
      req.on("end", () => {
        if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
          res.writeHead(404, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }))
          return
        }
        const body = JSON.parse(data)
        requests.push(body)
        const n = body.n ?? 1
        const choices = Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: "assistant", content: reply(body, index) },
          finish_reason: "stop",
          logprobs: null
        }))
        res.writeHead(200, { "content-type": "application/json" })
        res.end(
          JSON.stringify({
            id: `chatcmpl-${requests.length}`,
            object: "chat.completion",
            created: 1_790_000_000,
            model: body.model,
            choices,
            usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
          })
        )
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        requests,
        close: () => new Promise<void>((r) => server.close(() => r()))
      })
    })
  })

/** Runs `f` with @ssra/llm's real OpenAI-compatible client pointed at a local server (alive for all of `f`). */
export const withClient = <A, E>(
  baseUrl: string,
  model: string,
  f: (client: ChatClient.ChatClientShape) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  ChatClient.ChatClient.use(f).pipe(Effect.provide(OpenAiCompatible.layer({ baseUrl, model, timeoutMs: 10_000 })))
