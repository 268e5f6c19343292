import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Hash } from "@ssra/core"
import { PairwiseJudge } from "@ssra/filters"
import { LlmJudge } from "@ssra/score-model"
import { Faults, inFlightCounter, type Reply, startOpenAiServer } from "@ssra/test-support"
import { Effect, Exit, Schema } from "effect"
import { Backends, Pipeline, Plan, Prepare, WorkUnits } from "../src/index.js"
import { tinyConfig } from "./fixtures/tiny.js"

// A local OpenAI-wire server (the boundary we do not own) whose answers depend only on the prompt, so a clean and
// a faulty run get the same answers; `fault` decides, per request, whether to answer with a fault instead.
const startServer = (fault: (prompt: string) => Reply | undefined) =>
  startOpenAiServer({
    models: ["m"],
    record: false,
    respond: (request) => {
      if (!request.path.endsWith("/chat/completions")) return undefined
      const prompt = (request.body.messages as Array<{ content: string }>).map((m) => m.content).join("\n")
      return fault(prompt)
    },
    chat: (
      request: { messages: Array<{ content: string }>; response_format?: { json_schema?: { name?: string } } },
      i
    ) => {
      const prompt = request.messages.map((m) => m.content).join("\n")
      const last = request.messages.at(-1)!.content
      const h = Number.parseInt(Hash.sha256(`${prompt}/${i}`).slice(0, 8), 16)
      const han = (last.match(/\p{Script=Han}{4,}/gu) ?? ["查询"]).sort((a, b) => b.length - a.length)[0]!
      const name = request.response_format?.json_schema?.name ?? ""
      return name === "queries"
        ? JSON.stringify({ queries: [han.slice(0, 3 + (h % 5))] })
        : /"better"/.test(prompt)
          ? JSON.stringify({ better: h % 2 === 0 ? "A" : "B" })
          : JSON.stringify({ grade: h % 4 })
    }
  })

// seeded: the same sequence of faults for the same sequence of requests
const faultsAt = (rate: number, seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
  const kinds = [() => Faults.status(429), () => Faults.status(503), () => Faults.drop(), () => Faults.malformed()]
  return (): Reply | undefined => (next() < rate ? kinds[Math.floor(next() * kinds.length)]!() : undefined)
}

const judgeRun = (baseUrl: string, overrides: Record<string, unknown> = {}) => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-faults-"))
  return tinyConfig(runDir, {
    backends: { scoreModel: "llm", llm: { baseUrl, model: "m", maxInFlight: 8, coolDownMs: 20, ...overrides } },
    stage2: { enabled: false },
    synthesis: { documents: 8 },
    queryModel: { maxTrainingDocs: 10, candidatesPerDoc: 4 }
  })
}

const ssraRow = (result: Pipeline.RunResult) => {
  const row = result.rows.find((r) => r.system === "ssra")
  return JSON.stringify({ status: row?.status, metrics: (row as { metrics?: unknown } | undefined)?.metrics })
}

describe("an LLM endpoint that misbehaves", () => {
  it("at a 35% fault rate the run finishes in one invocation with a clean run's results; retries are in the manifest", async () => {
    const clean = await startServer(() => undefined)
    const fault = faultsAt(0.35, 15)
    const faulty = await startServer(() => fault())
    try {
      const run = (baseUrl: string) =>
        Effect.runPromise(
          Pipeline.run({
            config: judgeRun(baseUrl, { maxAttempts: 4 }),
            systems: ["base", "ssra"],
            references: false
          }).pipe(Effect.provide(NodeHttpClient.layerUndici))
        )
      const a = await run(clean.url)
      const b = await run(faulty.url)
      assert.strictEqual(ssraRow(b), ssraRow(a))
      assert.include(ssraRow(a), '"status":"ok"')
      const traffic = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")).llm.traffic
      const t0 = traffic(a.manifestFile)
      const t1 = traffic(b.manifestFile)
      assert.strictEqual(t0.retries, 0)
      assert.strictEqual(t0.attempts, clean.calls())
      assert.isAbove(t1.retries, 0)
      assert.strictEqual(t1.attempts, faulty.calls())
      for (const cause of ["429", "5xx", "connection", "invalid-output"]) assert.isAbove(t1.retriesByCause[cause], 0)
      assert.strictEqual(t1.excludedItems, 0)
      assert.isAbove(t1.waitMs, 0)
      assert.include(b.reportMarkdown, "### LLM traffic")
      assert.include(a.reportMarkdown, "| 0 | — |")
    } finally {
      await clean.close()
      await faulty.close()
    }
  }, 300_000)
})

describe("set-aside work units", () => {
  const Row = Schema.Struct({ item: Schema.String, text: Schema.String })
  const items = Array.from({ length: 20 }, (_, i) => `item-${i}${i === 13 ? " poison" : ""}`)
  const units = (llm: Backends.Llm, dir: string) =>
    WorkUnits.runFiles({
      stage: "test-stage",
      name: "calls",
      dir,
      items,
      chunkSize: 1,
      schema: Row,
      identity: (s) => s,
      process: (chunk) =>
        Effect.forEach(chunk, (item) =>
          Effect.map(
            llm.client.complete({ messages: [{ role: "user", content: item }], stage: "test-stage" }),
            (r) => ({
              item,
              text: r.choices[0]!.text
            })
          )
        )
    })
  const withLlm = <A, E>(
    baseUrl: string,
    runDir: string,
    maxFailedFraction: number,
    f: (llm: Backends.Llm) => Effect.Effect<A, E>
  ) =>
    Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(Backends.llm({ baseUrl, model: "m", maxAttempts: 2, coolDownMs: 5 }, runDir, "test"), (llm) =>
          f(llm).pipe(
            Effect.provideService(WorkUnits.SetAside, {
              maxFailedFraction,
              coolDownMs: 5,
              onExcluded: (stage, n, error) => llm.traffic.onExcluded(stage, n, error)
            }),
            Effect.map((a) => ({ a, traffic: llm.traffic.report() }))
          )
        )
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
    )

  it("an item that always fails: above the budget the stage stops with a summary naming the set-aside count", async () => {
    const server = await startServer((prompt) => (prompt.includes("poison") ? Faults.status(500) : undefined))
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-aside-"))
      const exit = await withLlm(server.url, runDir, 0.01, (llm) => units(llm, path.join(runDir, "a")))
      assert.isTrue(Exit.isFailure(exit))
      const message = String(Exit.isFailure(exit) ? JSON.stringify(exit.cause) : "")
      assert.include(message, "1 of 20 items (1 chunk(s)) of test-stage set aside")
      assert.include(message, "maxFailedFraction")
      // every other item was done and committed: the rerun does not ask for them again
      const chunks = fs.readdirSync(path.join(runDir, "a", "chunks", "calls")).filter((f) => f.startsWith("chunk-"))
      assert.strictEqual(chunks.length, 19)
    } finally {
      await server.close()
    }
  }, 60_000)

  it("within the budget the stage goes on without the item, records it with its error and retries it next run", async () => {
    let poisoned = true
    const server = await startServer((prompt) =>
      poisoned && prompt.includes("poison") ? Faults.status(500) : undefined
    )
    try {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-aside-"))
      const dir = path.join(runDir, "a")
      const first = await withLlm(server.url, runDir, 0.1, (llm) => units(llm, dir))
      assert.isTrue(Exit.isSuccess(first))
      if (!Exit.isSuccess(first)) return
      assert.strictEqual(first.value.a.length, 19)
      assert.strictEqual(first.value.traffic.excludedItems, 1)
      assert.strictEqual(first.value.traffic.setAside, 2) // the call's own second round, then the chunk's
      assert.include(first.value.traffic.excluded[0]!.error, "500")
      assert.isTrue(WorkUnits.hasSetAside(dir))
      const recorded = JSON.parse(fs.readFileSync(path.join(dir, "chunks", "calls", "set-aside.json"), "utf8"))
      assert.deepStrictEqual(
        recorded.entries.map((e: { chunk: number; items: number }) => [e.chunk, e.items]),
        [[13, 1]]
      )
      poisoned = false
      const second = await withLlm(server.url, runDir, 0.1, (llm) => units(llm, dir))
      assert.isTrue(Exit.isSuccess(second))
      if (!Exit.isSuccess(second)) return
      assert.strictEqual(second.value.a.length, 20)
      assert.isFalse(WorkUnits.hasSetAside(dir))
      // successful answers came from the response cache: only the set-aside item was asked again
      assert.strictEqual(second.value.traffic.attempts, 1)
    } finally {
      await server.close()
    }
  }, 60_000)
})

describe("the LLM client's settings reach every stage", () => {
  const scoped = <A, E>(config: Parameters<typeof Backends.llm>[0], f: (llm: Backends.Llm) => Effect.Effect<A, E>) =>
    Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(Backends.llm(config, fs.mkdtempSync(path.join(os.tmpdir(), "ssra-llm-")), "test"), f)
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
    )

  it("backends.llm.timeoutMs: a hanging server times out at the configured value, not after 120 s", async () => {
    const server = await startServer(() => Faults.hang())
    try {
      const started = Date.now()
      const exit = await scoped(
        { baseUrl: server.url, model: "m", timeoutMs: 300, maxAttempts: 1, coolDownMs: 0 },
        (llm) => llm.client.complete({ messages: [{ role: "user", content: "hello" }] })
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(JSON.stringify(Exit.isFailure(exit) ? exit.cause : ""), '"reason":"timeout"')
      // far below the 120 s default (no precision asserted: two attempts of 300 ms plus scheduling)
      assert.isBelow(Date.now() - started, 60_000)
    } finally {
      await server.close()
    }
  }, 90_000)

  it("the LLM judge and the pairwise judge keep maxInFlight requests in flight, no more", async () => {
    const counter = inFlightCounter()
    const server = await startOpenAiServer({
      models: ["m"],
      record: false,
      respond: counter.respond,
      chat: (request: { messages: Array<{ content: string }> }) =>
        /"better"/.test(request.messages[0]!.content) ? '{"better": "A"}' : '{"grade": 1}'
    })
    try {
      for (const maxInFlight of [3, 7]) {
        counter.reset()
        const pairs = Array.from({ length: 4 * maxInFlight }, (_, i) => ({ query: `查询${i}`, doc: `文档${i}` }))
        const exit = await scoped({ baseUrl: server.url, model: "m", maxInFlight }, (llm) =>
          Effect.gen(function* () {
            yield* LlmJudge.make({ client: llm.client, scale: { max: 3 }, probabilities: "samples", samples: 2 }).judge(
              pairs
            )
            const judged = counter.most()
            counter.reset()
            yield* PairwiseJudge.fromChat(llm.client).compare(
              pairs.map((p) => ({ doc: p.doc, first: p.query, second: `${p.query}?` }))
            )
            return [judged, counter.most()]
          })
        )
        assert.isTrue(Exit.isSuccess(exit))
        if (Exit.isSuccess(exit)) assert.deepStrictEqual(exit.value, [maxInFlight, maxInFlight])
      }
    } finally {
      await server.close()
    }
  }, 90_000)
})

describe("the plan counts the LLM calls a run makes, stage by stage", () => {
  // the grade token with its alternatives, as a server that returns logprobs sends it
  const gradeTokens = (grade: number) => [
    { token: '{"grade": ', logprob: -0.01 },
    {
      token: String(grade),
      logprob: -0.2,
      top: [
        [String(grade), -0.2],
        [String((grade + 1) % 4), -1.8]
      ] as const
    },
    { token: "}", logprob: -0.01 }
  ]
  for (const mode of ["logprobs", "no logprobs (5 samples, one request each)"] as const) {
    it(`within ±10% with ${mode}`, async () => {
      const logprobs = mode === "logprobs"
      let calls = 0
      const server = await startOpenAiServer({
        models: ["m"],
        record: false,
        respond: (request) => {
          if (request.path.endsWith("/chat/completions")) calls++
          return undefined
        },
        chat: (
          request: { messages: Array<{ content: string }>; response_format?: { json_schema?: { name?: string } } },
          i
        ) => {
          const prompt = request.messages.map((m) => m.content).join("\n")
          const h = Number.parseInt(Hash.sha256(`${prompt}/${i}`).slice(0, 8), 16)
          const han = (prompt.match(/\p{Script=Han}{4,}/gu) ?? ["查询"]).at(-1)!
          if (request.response_format?.json_schema?.name === "queries")
            return JSON.stringify({ queries: [han.slice(0, 3 + (h % 5))] })
          const text = JSON.stringify({ grade: h % 4 })
          return logprobs ? { content: text, logprobs: gradeTokens(h % 4) } : text
        }
      })
      try {
        const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-plan-"))
        const config = tinyConfig(runDir, {
          backends: {
            scoreModel: "llm",
            // ollama's preset: one choice per request, so 5 samples are 5 requests
            llm: { baseUrl: server.url, model: "m", preset: "ollama", logprobs, maxInFlight: 8 }
          },
          stage2: { documents: 6 },
          synthesis: { documents: 8 },
          queryModel: { maxTrainingDocs: 10, candidatesPerDoc: 4 }
        })
        const systems = ["base", "ssra", "prompt-only"] as const
        const plan = await Effect.runPromise(
          Effect.gen(function* () {
            const files = yield* Prepare.dataFiles(config)
            const { dataset } = yield* Prepare.loadFiles(config, files, fs.mkdtempSync(path.join(os.tmpdir(), "rj-")))
            return Plan.make(config, dataset, systems)
          })
        )
        const planned = (...stages: Array<string>) =>
          plan.filter((p) => stages.includes(p.stage)).reduce((n, p) => n + p.calls, 0)
        // the run a step at a time (each step reuses the last one's artifacts): the calls each step made
        const made: Record<string, number> = {}
        let before = 0
        for (const until of ["score-model", "stage1", "stage2", "synthesis"] as const) {
          await Effect.runPromise(
            Pipeline.run({ config, systems, references: false, until }).pipe(Effect.provide(NodeHttpClient.layerUndici))
          )
          made[until] = calls - before
          before = calls
        }
        const steps = {
          "score-model": planned("score-model"),
          stage1: planned("stage1", "query-model:v1"),
          stage2: planned("stage2", "query-model:v2"),
          synthesis: planned("synthesis", "synthesis:prompt-only", "synthesis:prompt-only gate")
        }
        const summary = JSON.stringify({ planned: steps, made })
        // the query model grades more than candidatesPerDoc candidates per document: 10 × 4 would be far off
        assert.isAbove(planned("query-model:v1"), 10 * 4 * (logprobs ? 1 : 5) * 1.5, summary)
        for (const [step, n] of Object.entries(steps))
          assert.isAtMost(Math.abs(n - made[step]!) / made[step]!, 0.1, `${step}: ${summary}`)
        const total = Plan.totals(plan)
        assert.isAtMost(Math.abs(total.llmCalls - calls) / calls, 0.1, summary)
        assert.isAtLeast(total.llmCallsUpTo, calls, summary)
      } finally {
        await server.close()
      }
    }, 300_000)
  }
})
