// Test fixtures: a local OpenAI-compatible chat server on 127.0.0.1 speaking the real /v1/chat/completions wire
// format (the shared @ssra/test-support server), @ssra/llm's real client pointed at it, and a hand-written lexical
// grader (a test stand-in for the score model whose grades follow a fixed rule: the share of the query's character
// bigrams found in the document).

import { NodeHttpClient } from "@effect/platform-node"
import { Models, Text } from "@ssra/core"
import { ChatClient, OpenAiCompatible } from "@ssra/llm"
import { startOpenAiServer } from "@ssra/test-support"
import { Effect } from "effect"

export interface ChatServer {
  readonly url: string
  readonly requests: Array<any>
  readonly close: () => Promise<void>
}

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

const bigrams = (text: string): Set<string> => {
  const cs = [...Text.dedupKey(text)]
  const out = new Set<string>()
  if (cs.length === 1) out.add(cs[0]!)
  for (let i = 0; i + 1 < cs.length; i++) out.add(cs[i]! + cs[i + 1]!)
  return out
}

/** Share of the query's bigrams that occur in the document. */
export const bigramRecall = (query: string, doc: string): number => {
  const q = bigrams(query)
  if (q.size === 0) return 0
  const d = bigrams(doc)
  let hit = 0
  for (const g of q) if (d.has(g)) hit++
  return hit / q.size
}

/** Grade by bigram recall: ≥ 0.9 → 3, ≥ 0.6 → 2, ≥ 0.3 → 1, else 0 (clipped to the scale). */
export const lexicalGrade = (query: string, doc: string, max: 1 | 2 | 3): number => {
  const r = bigramRecall(query, doc)
  const g = r >= 0.9 ? 3 : r >= 0.6 ? 2 : r >= 0.3 ? 1 : 0
  return Math.min(g, max)
}

export const lexicalGrader = (max: 1 | 2 | 3 = 3): Models.Grader => ({
  id: "test-lexical-grader",
  scale: { max },
  grade: (pairs) =>
    Effect.sync(() =>
      pairs.map((p) => {
        const g = lexicalGrade(p.query, p.doc, max)
        const probabilities = Array.from({ length: max + 1 }, (_, k) => (k === g ? 0.7 : 0.3 / max))
        return {
          grade: Models.argmaxGrade(probabilities),
          probabilities,
          expected: Models.expectedGrade(probabilities)
        }
      })
    )
})
