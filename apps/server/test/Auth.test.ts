import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Server, ServerConfig } from "../src/index.js"
import { dualEncoder, recording } from "./models.js"
import { http } from "./support.js"

const tokens = ["token-alpha-123", "token-beta-456"]

describe("bearer tokens", () => {
  const lines: Array<string> = []
  layer(
    Server.layer({
      port: 0,
      tokens,
      models: { embedder: recording(dualEncoder()) },
      accessLog: (line) => lines.push(line)
    }),
    { excludeTestServices: true }
  )((it) => {
    it.effect("every endpoint but /healthz needs a configured token", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        assert.strictEqual((yield* http(`${url}/healthz`)).status, 200)
        for (const path of ["/readyz", "/metrics", "/openapi.json"]) {
          const denied = yield* http(`${url}${path}`)
          assert.strictEqual(denied.status, 401, path)
          assert.strictEqual(denied.json.type, "https://ssra.dev/problems/unauthorized")
          assert.match(denied.headers.get("www-authenticate") ?? "", /^Bearer/)
        }
        const body = { input: "secret text TOPSECRET" }
        assert.strictEqual((yield* http(`${url}/v1/embeddings`, { body })).status, 401)
        const wrong = yield* http(`${url}/v1/embeddings`, { body, headers: { authorization: "Bearer token-alpha-12" } })
        assert.strictEqual(wrong.status, 401)
        const basic = yield* http(`${url}/v1/embeddings`, { body, headers: { authorization: `Basic ${tokens[0]}` } })
        assert.strictEqual(basic.status, 401)
        for (const token of tokens) {
          const ok = yield* http(`${url}/v1/embeddings`, { body, headers: { authorization: `Bearer ${token}` } })
          assert.strictEqual(ok.status, 200)
        }
        const metrics = yield* http(`${url}/metrics`, { headers: { authorization: `Bearer ${tokens[1]}` } })
        assert.strictEqual(metrics.status, 200)
      })
    )

    it.effect("access logs are JSON lines without bodies or tokens", () =>
      Effect.gen(function* () {
        const { url } = yield* Server.ServerState
        yield* http(`${url}/v1/embeddings?key=QUERYSECRET`, {
          body: { input: "another TOPSECRET text" },
          headers: { authorization: `Bearer ${tokens[0]}`, "x-request-id": "req-42" }
        })
        const records = lines.map((line) => JSON.parse(line))
        const access = records.filter((r) => r.msg === "access")
        assert.isAbove(access.length, 5)
        const mine = access.find((r) => r.request_id === "req-42")
        assert.strictEqual(mine.status, 200)
        assert.strictEqual(mine.path, "/v1/embeddings")
        assert.strictEqual(mine.route, "/v1/embeddings")
        assert.strictEqual(mine.authenticated, true)
        assert.isNumber(mine.duration_ms)
        for (const line of lines) {
          assert.notInclude(line, "TOPSECRET")
          assert.notInclude(line, "QUERYSECRET")
          for (const token of tokens) assert.notInclude(line, token)
        }
      })
    )
  })
})

describe("binding", () => {
  it.live("a non-loopback address without a token refuses to start", () =>
    Effect.gen(function* () {
      const error = yield* Server.start({
        host: "0.0.0.0",
        port: 0,
        accessLog: false,
        models: { embedder: recording(dualEncoder()) }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ServerConfigError")
      assert.match(error.message, /--allow-unauthenticated/)
    }).pipe(Effect.scoped)
  )

  it("loopback needs nothing; a token or the explicit flag allows other addresses", () => {
    assert.isTrue(ServerConfig.isLoopback("127.0.0.1"))
    assert.isTrue(ServerConfig.isLoopback("::1"))
    assert.isTrue(ServerConfig.isLoopback("localhost"))
    assert.isFalse(ServerConfig.isLoopback("0.0.0.0"))
    assert.isFalse(ServerConfig.isLoopback("::"))
    assert.instanceOf(ServerConfig.resolve({ host: "::" }), ServerConfig.ServerConfigError)
    assert.notInstanceOf(ServerConfig.resolve({ host: "0.0.0.0", tokens: ["t"] }), ServerConfig.ServerConfigError)
    assert.notInstanceOf(
      ServerConfig.resolve({ host: "0.0.0.0", allowUnauthenticated: true }),
      ServerConfig.ServerConfigError
    )
    assert.instanceOf(ServerConfig.resolve({ host: "0.0.0.0", tokens: ["  "] }), ServerConfig.ServerConfigError)
    assert.instanceOf(ServerConfig.resolve({ limits: { maxBatchSize: 0 } }), ServerConfig.ServerConfigError)
  })

  it.live("a server with no model refuses to start", () =>
    Effect.gen(function* () {
      const error = yield* Server.start({ port: 0, accessLog: false, models: {} }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ModelLoadError")
    }).pipe(Effect.scoped)
  )
})
