import { assert, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { type ModelLoader, Server } from "../src/index.js"
import { dualEncoder, recording } from "./models.js"
import { http } from "./support.js"

it.live("graceful shutdown finishes in-flight requests, then refuses new connections", () =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const { url } = yield* Server.start({
      port: 0,
      accessLog: false,
      models: { embedder: recording(dualEncoder(), { delayMs: 300 }) }
    }).pipe(Scope.provide(scope))
    const inFlight = yield* Effect.forkChild(http(`${url}/v1/embeddings`, { body: { input: "slow one" } }))
    yield* Effect.sleep("80 millis")
    const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
    const reply = yield* Fiber.join(inFlight)
    assert.strictEqual(reply.status, 200)
    assert.strictEqual(reply.json.data.length, 1)
    yield* Fiber.join(closing)
    const after = yield* Effect.promise(() =>
      fetch(`${url}/healthz`).then(
        () => "answered",
        () => "refused"
      )
    )
    assert.strictEqual(after, "refused")
  })
)

it.live("/readyz and the model endpoints answer 503 while models load, then the server is ready", () =>
  Effect.gen(function* () {
    let listening: string | undefined
    const loading = Effect.sleep("500 millis").pipe(
      Effect.as<ModelLoader.ServerModels>({ embedder: recording(dualEncoder()) })
    )
    const started = yield* Effect.forkChild(
      Server.start({
        port: 0,
        models: loading,
        accessLog: (line) => {
          const record = JSON.parse(line)
          if (record.msg === "listening") listening = record.url
        }
      })
    )
    while (listening === undefined) yield* Effect.sleep("10 millis")
    const early = yield* http(`${listening}/readyz`)
    assert.strictEqual(early.status, 503)
    assert.strictEqual(early.json.type, "https://ssra.dev/problems/not-ready")
    assert.strictEqual((yield* http(`${listening}/healthz`)).status, 200)
    const embed = yield* http(`${listening}/v1/embeddings`, { body: { input: "x" } })
    assert.strictEqual(embed.status, 503)
    const { url } = yield* Fiber.join(started)
    assert.strictEqual(url, listening)
    assert.strictEqual((yield* http(`${url}/readyz`)).status, 200)
  }).pipe(Effect.scoped)
)
