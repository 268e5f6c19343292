/**
 * Throughput of the LLM judge stage against a fixed-latency OpenAI-compatible server (its own process): LlmJudge
 * grading pairs and PairwiseJudge comparing them, through the client stack every stage uses (in-flight limit,
 * retry, breaker). With maxInFlight requests always in flight the ceiling is maxInFlight ÷ latency; the ratio to it
 * says whether the judges keep the limit full.
 *
 * Usage: pnpm --filter @ssra/filters bench:judges [--latency 50] [--pairs 400]
 */

import { fork } from "node:child_process"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { PairwiseJudge } from "@ssra/filters"
import { ChatClient, ClientStack, OpenAiCompatible } from "@ssra/llm"
import { LlmJudge } from "@ssra/score-model"
import { Effect } from "effect"

const args = process.argv.slice(2)
const arg = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback
const latencyMs = arg("latency", 50)
const pairs = arg("pairs", 400)

const startServer = () =>
  new Promise<{ baseUrl: string; kill: () => void }>((resolve) => {
    const child = fork(path.join(import.meta.dirname, "judge-server.mjs"), [String(latencyMs)], { stdio: "inherit" })
    child.once("message", (m: any) => resolve({ baseUrl: `http://127.0.0.1:${m.port}/v1`, kill: () => child.kill() }))
  })

const questions = Array.from({ length: pairs }, (_, i) => ({
  query: `头疼怎么办 ${i}`,
  doc: `头疼的原因和缓解方法 ${i}`
}))

const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    yield* effect
    return (performance.now() - t0) / 1000
  })

const main = () =>
  Effect.gen(function* () {
    const base = yield* ChatClient.ChatClient
    console.log(`latency ${latencyMs} ms, ${pairs} pairs per judge\n`)
    console.log("| judge | maxInFlight | calls | seconds | requests/s | ceiling (maxInFlight ÷ latency) | ratio |")
    console.log("|---|---|---|---|---|---|---|")
    for (const maxInFlight of [16, 64]) {
      const client = ClientStack.wrap(base, { limits: { maxInFlight }, breaker: {}, retry: {} })
      const ceiling = (maxInFlight * 1000) / latencyMs
      const judges: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
        [
          "LlmJudge (logprobs)",
          LlmJudge.make({ client, scale: { max: 3 }, probabilities: "logprobs" }).judge(questions)
        ],
        [
          "PairwiseJudge",
          PairwiseJudge.fromChat(client).compare(
            questions.map((q) => ({ doc: q.doc, first: q.query, second: `${q.query}？` }))
          )
        ]
      ]
      for (const [name, work] of judges) {
        // a warm-up round opens the connections, then the measured run
        yield* LlmJudge.make({ client, scale: { max: 3 }, probabilities: "logprobs" }).judge(
          questions.slice(0, maxInFlight).map((q) => ({ ...q, query: `warm ${q.query}` }))
        )
        const seconds = yield* timed(work)
        const rate = pairs / seconds
        console.log(
          `| ${name} | ${maxInFlight} | ${pairs} | ${seconds.toFixed(2)} | ${rate.toFixed(0)} | ${ceiling.toFixed(0)} | ${(rate / ceiling).toFixed(2)} |`
        )
      }
    }
  })

const server = await startServer()
try {
  await Effect.runPromise(
    main().pipe(
      Effect.provide(OpenAiCompatible.layer({ baseUrl: server.baseUrl, model: "bench-model", timeoutMs: 30_000 })),
      Effect.provide(NodeHttpClient.layerUndici)
    )
  )
} finally {
  server.kill()
}
