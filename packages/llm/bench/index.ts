/**
 * Throughput, client CPU per call and memory of the OpenAI-compatible client with the full behaviour-at-scale
 * stack (retry, circuit breaker, in-flight limit, cost tracking, progress) and structured output, against a local
 * server with a fixed 200 ms latency running in a separate process.
 *
 * Usage: pnpm --filter @ssra/llm bench [memoryCalls]
 */

import { fork } from "node:child_process"
import * as http from "node:http"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Schema, Stream } from "effect"
import { ClientStack, CostTracker, OpenAiCompatible, Progress } from "../src/index.js"

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

const LATENCY_MS = 200
const Answer = Schema.Struct({ id: Schema.Int, grade: Schema.Literals([0, 1, 2, 3]) })

const startServer = () =>
  new Promise<{ baseUrl: string; kill: () => void }>((resolve) => {
    const child = fork(path.join(import.meta.dirname, "server.mjs"), [String(LATENCY_MS)], { stdio: "inherit" })
    child.once("message", (m: any) => resolve({ baseUrl: `http://127.0.0.1:${m.port}/v1`, kill: () => child.kill() }))
  })

const makeClient = (baseUrl: string, inFlight: number) =>
  Effect.gen(function* () {
    const base = yield* OpenAiCompatible.make({ baseUrl, model: "bench-model", timeoutMs: 30_000 })
    const progress = yield* Progress.make()
    const cost = CostTracker.make({ prices: { "bench-model": { inputPer1M: 0.5, outputPer1M: 2 } } })
    const client = ClientStack.wrap(base, {
      limits: { maxInFlight: inFlight },
      breaker: {},
      retry: {},
      cost,
      progress
    })
    return { client, cost, progress }
  })

const run = (baseUrl: string, inFlight: number, calls: number, offset: number) =>
  Effect.gen(function* () {
    const { client } = yield* makeClient(baseUrl, inFlight)
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    yield* Stream.range(offset, offset + calls - 1).pipe(
      Stream.mapEffect(
        (i) => client.completeObject({ messages: [{ role: "user", content: `item ${i}` }], seed: 1 }, Answer),
        {
          concurrency: inFlight,
          unordered: true
        }
      ),
      Stream.runDrain
    )
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const throughput = calls / seconds
    const ideal = inFlight / (LATENCY_MS / 1000)
    return {
      inFlight,
      calls,
      seconds,
      throughput,
      ideal,
      fraction: throughput / ideal,
      cpuUsPerCall: (cpu.user + cpu.system) / calls
    }
  })

/** The same calls with plain node:http and a keep-alive agent: the ceiling this machine allows right now. */
const baseline = (baseUrl: string, inFlight: number, calls: number) =>
  new Promise<{ inFlight: number; calls: number; seconds: number; fraction: number; cpuUsPerCall: number }>(
    (resolve) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight })
      const url = new URL(`${baseUrl}/chat/completions`)
      let started = 0
      let finished = 0
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const next = () => {
        if (started >= calls) return
        const i = started++
        const body = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: `item ${i}` }] })
        const req = http.request(
          url,
          { method: "POST", agent, headers: { "content-type": "application/json" } },
          (res) => {
            let text = ""
            res.on("data", (c) => (text += c))
            res.on("end", () => {
              JSON.parse(text)
              finished++
              if (finished === calls) {
                const seconds = (performance.now() - t0) / 1000
                const cpu = process.cpuUsage(cpu0)
                agent.destroy()
                resolve({
                  inFlight,
                  calls,
                  seconds,
                  fraction: calls / seconds / (inFlight / (LATENCY_MS / 1000)),
                  cpuUsPerCall: (cpu.user + cpu.system) / calls
                })
              } else next()
            })
          }
        )
        req.end(body)
      }
      for (let k = 0; k < inFlight; k++) next()
    }
  )

const memory = (baseUrl: string, calls: number) =>
  Effect.gen(function* () {
    const inFlight = 256
    const { client, progress } = yield* makeClient(baseUrl, inFlight)
    const samples: Array<{ calls: number; heapMB: number; rssMB: number }> = []
    const every = Math.max(1, Math.floor(calls / 10))
    let done = 0
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    yield* Stream.range(0, calls - 1).pipe(
      Stream.mapEffect(
        (i) => client.completeObject({ messages: [{ role: "user", content: `item ${i}` }], seed: 1 }, Answer),
        {
          concurrency: inFlight,
          unordered: true
        }
      ),
      Stream.runForEach(() =>
        Effect.sync(() => {
          done++
          if (done % every === 0) {
            gc()
            const m = process.memoryUsage()
            samples.push({ calls: done, heapMB: m.heapUsed / 2 ** 20, rssMB: m.rss / 2 ** 20 })
          }
        })
      )
    )
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    return {
      calls,
      seconds,
      throughput: calls / seconds,
      cpuUsPerCall: (cpu.user + cpu.system) / calls,
      samples,
      progress: progress.counts()
    }
  })

const main = Effect.gen(function* () {
  const memoryCalls = Number(process.argv[2] ?? 200_000)
  const server = yield* Effect.promise(startServer)
  try {
    yield* run(server.baseUrl, 64, 2_000, 0) // warm-up (JIT, connections)
    const rows = []
    for (const inFlight of [16, 64, 256]) {
      const calls = Math.round((inFlight / (LATENCY_MS / 1000)) * 15) // ≈ 15 s at the ideal rate
      const r = yield* run(server.baseUrl, inFlight, calls, 0)
      const b = yield* Effect.promise(() => baseline(server.baseUrl, inFlight, calls))
      rows.push({ ...r, baseline: b })
      console.log(
        `in flight ${inFlight}: ${r.calls} calls in ${r.seconds.toFixed(2)} s → ${r.throughput.toFixed(1)}/s of ideal ${r.ideal.toFixed(0)}/s = ${r.fraction.toFixed(3)}; client CPU ${r.cpuUsPerCall.toFixed(0)} µs/call | plain node:http baseline: ${b.fraction.toFixed(3)} of ideal, ${b.cpuUsPerCall.toFixed(0)} µs/call`
      )
    }
    if (memoryCalls === 0) return
    const m = yield* memory(server.baseUrl, memoryCalls)
    console.log(
      `memory run: ${m.calls} calls at 256 in flight in ${m.seconds.toFixed(1)} s (${m.throughput.toFixed(0)}/s, ${m.cpuUsPerCall.toFixed(0)} µs CPU/call)`
    )
    for (const s of m.samples)
      console.log(`  after ${s.calls} calls: heap ${s.heapMB.toFixed(1)} MB, rss ${s.rssMB.toFixed(1)} MB`)
    console.log(JSON.stringify({ rows, memory: m }))
  } finally {
    server.kill()
  }
}).pipe(Effect.provide(NodeHttpClient.layerUndici))

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
