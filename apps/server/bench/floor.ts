// Benchmark child for reference: the framework floor. A bare effect/http `HttpRouter` (no HttpApi, no middleware)
// on `NodeHttpServer` answering `GET /healthz` with constant JSON, to compare the ssra server against what Effect's
// HTTP stack costs by itself. Usage: pnpm bench -- --only healthz --server-script bench/floor.ts

import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"

process.on("SIGTERM", () => process.exit(0))

if (process.argv[2] === "bare") {
  const body = '{"object":"list","data":[],"model":"bare","usage":{"prompt_tokens":0,"total_tokens":0}}'
  const server = createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      response.end(body)
    })
  })
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number }
    process.stderr.write(`URL http://127.0.0.1:${address.port}\n`)
  })
} else {
  const routes = Layer.mergeAll(
    HttpRouter.add("GET", "/healthz", Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" }))),
    HttpRouter.add("GET", "/readyz", Effect.succeed(HttpServerResponse.jsonUnsafe({ models: { query_model: null } })))
  )
  const app = HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  Effect.runFork(
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      process.stderr.write(`URL ${HttpServer.formatAddress(server.address)}\n`)
      return yield* Effect.never
    }).pipe(Effect.provide(app))
  )
}
