// Benchmark child: the ssra server (access logs on stdout, as in production) or a bare node:http handler that
// reads the body and answers a constant. Prints `URL <url>` on stderr once it accepts requests.

import { createServer } from "node:http"
import type { Models } from "@ssra/core"
import { DualEncoder } from "@ssra/embedding"
import { Effect } from "effect"
import { ModelLoader, Server } from "../src/index.js"
import { qbqtcScoreModel } from "../test/models.js"

// Exit on SIGTERM so `node --cpu-prof` can write its profile.
process.on("SIGTERM", () => process.exit(0))

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

if (args[0] === "bare") {
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
  const sources = {
    run: flag("--run"),
    checkpoint: flag("--checkpoint"),
    scoreModel: flag("--score-model"),
    queryModel: flag("--query-model")
  }
  const models: ModelLoader.ModelSource = Object.values(sources).some((v) => v !== undefined)
    ? ModelLoader.fromSources(sources)
    : Effect.gen(function* () {
        // No run given: a full-size untrained DualEncoder (same encoding cost as a trained one) and a score model
        // trained on a QBQTC slice; /v1/queries is not served.
        const embedder: Models.TextEmbedder = DualEncoder.make({}, 42)
        const grader = yield* qbqtcScoreModel(embedder)
        return { embedder, grader }
      })
  const waitMs = flag("--batch-wait-ms")
  Effect.runFork(
    Effect.gen(function* () {
      const server = yield* Server.start({
        port: 0,
        models,
        ...(process.env.SSRA_BENCH_NO_ACCESS_LOG === "1" ? { accessLog: false } : {}),
        ...(waitMs !== undefined ? { batching: { maxWaitMs: Number(waitMs) } } : {})
      })
      process.stderr.write(`URL ${server.url}\n`)
      return yield* Effect.never
    }).pipe(
      Effect.scoped,
      Effect.tapCause((cause) => Effect.sync(() => process.stderr.write(`server failed: ${cause}\n`)))
    )
  )
}
