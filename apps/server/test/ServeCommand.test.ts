import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, it } from "@effect/vitest"
import { DualEncoder } from "@ssra/embedding"
import { startOpenAiServer } from "@ssra/test-support"
import { Effect, Layer, Option } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { ModelLoader, ServeCommand } from "../src/index.js"
import { dualEncoder } from "./models.js"

const none = Option.none()
const base = {
  host: "127.0.0.1",
  port: 0,
  tokenFile: none,
  allowUnauthenticated: false,
  run: none,
  checkpoint: none,
  scoreModel: none,
  queryModel: none,
  embedderUrl: none,
  embedderModel: none,
  judgeUrl: none,
  judgeModel: none,
  judgeMaxGrade: 3,
  maxBodyBytes: none,
  maxBatchSize: Option.some(32),
  maxTextLength: none,
  maxConcurrent: none,
  maxQueue: none,
  requestTimeoutMs: Option.some(5000),
  batchWaitMs: Option.some(1),
  batchMaxSize: none,
  accessLog: false
} as const

it.live("flags become serve options; tokens come from --token-file and SSRA_SERVER_TOKENS", () =>
  Effect.gen(function* () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-serve-"))
    const file = path.join(dir, "tokens.txt")
    fs.writeFileSync(file, "# comment\nalpha\n\n beta \n")
    process.env.SSRA_SERVER_TOKENS = "gamma, "
    const options = yield* ServeCommand.toServeOptions({ ...base, tokenFile: Option.some(file) }).pipe(
      Effect.ensuring(Effect.sync(() => delete process.env.SSRA_SERVER_TOKENS))
    )
    assert.deepStrictEqual(options.tokens, ["alpha", "beta", "gamma"])
    assert.deepStrictEqual(options.limits, { maxBatchSize: 32, requestTimeoutMs: 5000 })
    assert.deepStrictEqual(options.batching, { maxWaitMs: 1 })
    const missing = yield* ServeCommand.toServeOptions({
      ...base,
      tokenFile: Option.some(path.join(dir, "nope"))
    }).pipe(Effect.flip)
    assert.strictEqual(missing.field, "token-file")
    const half = yield* ServeCommand.toServeOptions({
      ...base,
      embedderUrl: Option.some("http://127.0.0.1:1/v1")
    }).pipe(Effect.flip)
    assert.strictEqual(half.field, "embedder-url")
    const scale = yield* ServeCommand.toServeOptions({ ...base, judgeMaxGrade: 5 }).pipe(Effect.flip)
    assert.strictEqual(scale.field, "judge-max-grade")
    // a model path that does not exist fails before the server listens
    const noRun = yield* ServeCommand.toServeOptions({ ...base, run: Option.some(path.join(dir, "no-run")) }).pipe(
      Effect.flip
    )
    assert.strictEqual(noRun.field, "run")
    assert.match(noRun.message, /--run .*no-run does not exist/)
    const noModel = yield* ServeCommand.toServeOptions({
      ...base,
      scoreModel: Option.some(path.join(dir, "no-score-model"))
    }).pipe(Effect.flip)
    assert.strictEqual(noModel.field, "score-model")
    fs.rmSync(dir, { recursive: true, force: true })
  })
)

it.live("--embedder-url / --judge-url models call through the program's HttpClient, after loading too", () =>
  Effect.gen(function* () {
    const server = yield* Effect.acquireRelease(
      Effect.promise(() =>
        startOpenAiServer({
          embed: (input) => input.map(() => [3, 4]),
          chat: () => '{"grade": 2, "reason": "on topic"}'
        })
      ),
      (s) => Effect.promise(() => s.close())
    )
    const options = yield* ServeCommand.toServeOptions({
      ...base,
      embedderUrl: Option.some(server.baseUrl),
      embedderModel: Option.some("e"),
      judgeUrl: Option.some(server.baseUrl),
      judgeModel: Option.some("j"),
      judgeMaxGrade: 3
    })
    // the options hold an effect that loads the models; it needs the program's HttpClient (so Server.serve does),
    // and the models keep sending through that client long after loading
    assert.isTrue(Effect.isEffect(options.models))
    const models = yield* ModelLoader.load(options.models)
    const [vector] = yield* models.embedder!.embed(["感冒发烧"], { kind: "query" })
    assert.closeTo(vector![0]!, 0.6, 1e-6)
    yield* models.grader!.grade([{ query: "感冒", doc: "感冒发烧怎么办" }])
    const paths = server.received.map((r) => r.path)
    assert.include(paths, "/v1/embeddings")
    assert.include(paths, "/v1/chat/completions")
    for (const request of server.received) assert.strictEqual(request.headers["x-program-client"], "ssra-server")
  }).pipe(
    Effect.scoped,
    Effect.provide(
      Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          HttpClient.mapRequest(HttpClientRequest.setHeader("x-program-client", "ssra-server"))
        )
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
  )
)

it.live("ModelLoader.fromSources loads a saved DualEncoder from a run directory and names bad paths", () =>
  Effect.gen(function* () {
    const run = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-run-"))
    const model = dualEncoder()
    yield* DualEncoder.save(model, path.join(run, "model"))
    const loaded = yield* ModelLoader.fromSources({ run })
    assert.strictEqual(loaded.embedder?.id, model.id)
    assert.isUndefined(loaded.grader)
    const [a] = yield* model.embed(["感冒发烧"], { kind: "query" })
    const [b] = yield* loaded.embedder!.embed(["感冒发烧"], { kind: "query" })
    assert.deepStrictEqual(Array.from(b!), Array.from(a!))
    const noRun = yield* ModelLoader.fromSources({ run: path.join(run, "missing") }).pipe(Effect.flip)
    assert.match(noRun.message, /no such run directory/)
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-empty-"))
    const notRun = yield* ModelLoader.fromSources({ run: empty }).pipe(Effect.flip)
    assert.match(notRun.message, /none of model\/, score-model\/, query-model\//)
    const badCheckpoint = yield* ModelLoader.fromSources({ checkpoint: empty }).pipe(Effect.flip)
    assert.strictEqual(badCheckpoint._tag, "ModelLoadError")
    assert.include(badCheckpoint.source, "--checkpoint")
    for (const d of [run, empty]) fs.rmSync(d, { recursive: true, force: true })
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))
)
