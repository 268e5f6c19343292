/**
 * The `serve` command (flags → `Server.serve`): used by the `ssra-server` bin and mountable under the `ssra` CLI
 * (`Command.withSubcommands([ServeCommand.command])`). Tokens come from `--token-file` (one per line) or the
 * `SSRA_SERVER_TOKENS` environment variable (comma-separated), never from argv, where `ps` would show them.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import { Effect, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import type { HttpClient } from "effect/http"
import * as ModelLoader from "./ModelLoader.js"
import * as Server from "./Server.js"
import { ServerConfigError } from "./ServerConfig.js"

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)
const optionalInt = (name: string, description: string) =>
  Flag.Int(name).pipe(Flag.withDescription(description), Flag.optional)

/**
 * The command's flags.
 *
 * @since 0.1.0
 * @category flags
 */
export const flags = {
  host: Flag.String("host").pipe(
    Flag.withDescription(
      "Address to bind; a non-loopback one needs a token. Default 127.0.0.1. Example: --host 0.0.0.0"
    ),
    Flag.withDefault("127.0.0.1")
  ),
  port: Flag.Int("port").pipe(
    Flag.withDescription("Port (0 = any free port). Default 8080. Example: --port 9000"),
    Flag.withDefault(8080)
  ),
  tokenFile: optionalString(
    "token-file",
    "File of bearer tokens, one per line (or set SSRA_SERVER_TOKENS=a,b). Example: --token-file /etc/ssra/tokens"
  ),
  allowUnauthenticated: Flag.Boolean("allow-unauthenticated").pipe(
    Flag.withDescription("Allow a non-loopback --host without any token. Example: --allow-unauthenticated"),
    Flag.withDefault(false)
  ),
  run: optionalString(
    "run",
    "Pipeline run directory: uses <run>/model, <run>/score-model, <run>/query-model. Example: --run runs/demo-kuake_qtr"
  ),
  checkpoint: optionalString(
    "checkpoint",
    "DualEncoder checkpoint directory (embeddings; cosine fallback). Example: --checkpoint runs/demo-kuake_qtr/model"
  ),
  scoreModel: optionalString(
    "score-model",
    "EmbeddedScoreModel directory (grades for rerank/relevance/filter). Example: --score-model runs/demo-kuake_qtr/score-model"
  ),
  queryModel: optionalString(
    "query-model",
    "EmbeddedQueryModel directory (/v1/queries). Example: --query-model runs/demo-kuake_qtr/query-model"
  ),
  embedderUrl: optionalString(
    "embedder-url",
    "OpenAI-compatible base URL for a remote embedder (key: SSRA_EMBEDDER_API_KEY). Example: --embedder-url http://127.0.0.1:8000/v1"
  ),
  embedderModel: optionalString("embedder-model", "Model name at --embedder-url. Example: --embedder-model bge-m3"),
  judgeUrl: optionalString(
    "judge-url",
    "OpenAI-compatible base URL for an LLM judge (key: SSRA_JUDGE_API_KEY). Example: --judge-url http://127.0.0.1:8000/v1"
  ),
  judgeModel: optionalString("judge-model", "Model name at --judge-url. Example: --judge-model qwen2.5-7b-instruct"),
  judgeMaxGrade: Flag.Int("judge-max-grade").pipe(
    Flag.withDescription("Top grade of the judge's scale (1-3). Default 3. Example: --judge-max-grade 2"),
    Flag.withDefault(3)
  ),
  maxBodyBytes: optionalInt(
    "max-body-bytes",
    "Largest request body. Default 1048576 (1 MiB). Example: --max-body-bytes 4194304"
  ),
  maxBatchSize: optionalInt("max-batch-size", "Most texts per request. Default 256. Example: --max-batch-size 64"),
  maxTextLength: optionalInt(
    "max-text-length",
    "Longest text in characters. Default 8192. Example: --max-text-length 2048"
  ),
  maxConcurrent: optionalInt("max-concurrent", "Requests processed at once. Default 64. Example: --max-concurrent 16"),
  maxQueue: optionalInt("max-queue", "Requests waiting beyond that before a 429. Default 256. Example: --max-queue 32"),
  requestTimeoutMs: optionalInt(
    "request-timeout-ms",
    "Per-request timeout in ms. Default 30000. Example: --request-timeout-ms 5000"
  ),
  batchWaitMs: optionalInt(
    "batch-wait-ms",
    "Micro-batching window for embeddings in ms. Default 0 (same event-loop turn). Example: --batch-wait-ms 2"
  ),
  batchMaxSize: optionalInt("batch-max-size", "Texts per embedder call. Default 256. Example: --batch-max-size 128"),
  accessLog: Flag.Boolean("access-log").pipe(
    Flag.withDescription(
      "JSON access logs on stdout; --no-access-log disables them. Default on. Example: --no-access-log"
    ),
    Flag.withDefault(true)
  )
}

type Input = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

const defined = <T extends Record<string, Option.Option<number>>>(record: T) => {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(record)) if (Option.isSome(value)) out[key] = value.value
  return out
}

const readTokens = (tokenFile: Option.Option<string>): Effect.Effect<Array<string>, ServerConfigError> =>
  Effect.try({
    try: () => {
      const fromFile = Option.isSome(tokenFile) ? fs.readFileSync(tokenFile.value, "utf8").split(/\r?\n/) : []
      const fromEnv = (process.env.SSRA_SERVER_TOKENS ?? "").split(",")
      return [...fromFile, ...fromEnv].map((t) => t.trim()).filter((t) => t.length > 0 && !t.startsWith("#"))
    },
    catch: (error) =>
      new ServerConfigError({
        field: "token-file",
        message: `cannot read --token-file: ${(error as Error).message}`
      })
  })

/**
 * Turns parsed flags into `Server.serve` options. Loading a remote embedder or LLM judge (`--embedder-url`,
 * `--judge-url`) needs an `HttpClient`, so serving does: the program provides it (`main.ts`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toServeOptions = (
  input: Input
): Effect.Effect<Server.ServeOptions<HttpClient.HttpClient>, ServerConfigError> =>
  Effect.gen(function* () {
    const tokens = yield* readTokens(input.tokenFile)
    const envKey = (name: string) => {
      const value = process.env[name]
      return value !== undefined && value.length > 0 ? Redacted.make(value) : undefined
    }
    if (Option.isSome(input.embedderUrl) !== Option.isSome(input.embedderModel)) {
      return yield* new ServerConfigError({
        field: "embedder-url",
        message: "--embedder-url and --embedder-model go together"
      })
    }
    if (Option.isSome(input.judgeUrl) !== Option.isSome(input.judgeModel)) {
      return yield* new ServerConfigError({ field: "judge-url", message: "--judge-url and --judge-model go together" })
    }
    const max = input.judgeMaxGrade
    if (max !== 1 && max !== 2 && max !== 3) {
      return yield* new ServerConfigError({
        field: "judge-max-grade",
        message: `--judge-max-grade must be 1, 2 or 3, got ${max}`
      })
    }
    // a model path that does not exist is a wrong flag: say so before listening, not after
    for (const [field, value] of [
      ["run", input.run],
      ["checkpoint", input.checkpoint],
      ["score-model", input.scoreModel],
      ["query-model", input.queryModel]
    ] as const) {
      if (Option.isSome(value) && !fs.existsSync(value.value)) {
        return yield* new ServerConfigError({
          field,
          message: `--${field} ${value.value} does not exist${field === "run" ? " (a finished `ssra run` directory holds model/, score-model/, query-model/)" : ""}`
        })
      }
    }
    const sources: ModelLoader.ModelSources = {
      run: Option.getOrUndefined(input.run),
      checkpoint: Option.getOrUndefined(input.checkpoint),
      scoreModel: Option.getOrUndefined(input.scoreModel),
      queryModel: Option.getOrUndefined(input.queryModel),
      remoteEmbedder:
        Option.isSome(input.embedderUrl) && Option.isSome(input.embedderModel)
          ? {
              baseUrl: input.embedderUrl.value,
              model: input.embedderModel.value,
              apiKey: envKey("SSRA_EMBEDDER_API_KEY")
            }
          : undefined,
      llmJudge:
        Option.isSome(input.judgeUrl) && Option.isSome(input.judgeModel)
          ? {
              chat: {
                baseUrl: input.judgeUrl.value,
                model: input.judgeModel.value,
                apiKey: envKey("SSRA_JUDGE_API_KEY")
              },
              scale: { max }
            }
          : undefined
    }
    return {
      host: input.host,
      port: input.port,
      tokens,
      allowUnauthenticated: input.allowUnauthenticated,
      accessLog: input.accessLog,
      limits: defined({
        maxBodyBytes: input.maxBodyBytes,
        maxBatchSize: input.maxBatchSize,
        maxTextLength: input.maxTextLength,
        maxConcurrent: input.maxConcurrent,
        maxQueue: input.maxQueue,
        requestTimeoutMs: input.requestTimeoutMs
      }),
      batching: defined({ maxWaitMs: input.batchWaitMs, maxBatchSize: input.batchMaxSize }),
      models: ModelLoader.fromSources(sources)
    }
  })

/**
 * `serve`: starts the server and runs until SIGINT/SIGTERM, then drains in-flight requests.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("serve", flags, (input) =>
  Effect.flatMap(toServeOptions(input), Server.serve)
).pipe(
  Command.withDescription("Serve embeddings, rerank, relevance, filter and query generation over HTTP"),
  Command.withExamples([
    { command: "ssra-server --checkpoint runs/demo/model", description: "Embeddings on 127.0.0.1:8080" },
    {
      command: "SSRA_SERVER_TOKENS=s3cret ssra-server --run runs/demo --host 0.0.0.0",
      description: "All models of a run, reachable from other machines, with a token"
    }
  ])
)
