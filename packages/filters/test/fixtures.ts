// Test fixtures: candidate rows, a lookup-table grader with hand-set judgments, and a local
// OpenAI-compatible chat server on 127.0.0.1 speaking the real /v1/chat/completions wire format (the shared
// @ssra/test-support server), and @ssra/llm's real client pointed at it.

import { NodeHttpClient } from "@effect/platform-node"
import { Models, type SyntheticQuery } from "@ssra/core"
import { ChatClient, OpenAiCompatible } from "@ssra/llm"
import { startOpenAiServer } from "@ssra/test-support"
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
  startOpenAiServer({ chat: reply })

/** Runs `f` with @ssra/llm's real OpenAI-compatible client pointed at a local server (alive for all of `f`). */
export const withClient = <A, E>(
  baseUrl: string,
  model: string,
  f: (client: ChatClient.ChatClientShape) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  ChatClient.ChatClient.use(f).pipe(
    Effect.provide(OpenAiCompatible.layer({ baseUrl, model, timeoutMs: 10_000 })),
    Effect.provide(NodeHttpClient.layerUndici)
  )
