/**
 * `ssra serve`: the HTTP API (embeddings, rerank, relevance, filter, query generation) over a run's
 * checkpoints, delegated to apps/server's `Server.serve`.
 *
 * @since 0.1.0
 */
import { ModelLoader, Server } from "@ssra/app-server"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { usage } from "./ExitCode.js"

const command_ = Command.make(
  "serve",
  {
    run: Flag.Directory("run").pipe(
      Flag.withDescription(
        "A run directory: serves <run>/model, <run>/score-model and <run>/query-model. Example: --run runs/demo-kuake_qtr"
      ),
      Flag.optional
    ),
    checkpoint: Flag.Directory("checkpoint").pipe(
      Flag.withDescription(
        "A dual-encoder checkpoint directory (overrides the run's model/). Example: --checkpoint runs/demo-kuake_qtr/model"
      ),
      Flag.optional
    ),
    scoreModel: Flag.Directory("score-model").pipe(
      Flag.withDescription("An embedded score-model directory. Example: --score-model runs/x/score-model"),
      Flag.optional
    ),
    queryModel: Flag.Directory("query-model").pipe(
      Flag.withDescription("An embedded query-model directory. Example: --query-model runs/x/query-model"),
      Flag.optional
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription(
        "Address to bind (non-loopback needs --token or --allow-unauthenticated). Example: --host 0.0.0.0"
      ),
      Flag.withDefault("127.0.0.1")
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription("Port (0 picks a free one). Example: --port 8080"),
      Flag.withDefault(8080)
    ),
    token: Flag.String("token").pipe(
      Flag.withDescription(
        "Bearer token required on every endpoint but health; repeat for several. Example: --token s3cret"
      ),
      Flag.atLeast(0)
    ),
    allowUnauthenticated: Flag.Boolean("allow-unauthenticated").pipe(
      Flag.withDescription("Allow a non-loopback bind without tokens. Example: --allow-unauthenticated"),
      Flag.withDefault(false)
    )
  },
  (input) =>
    Effect.gen(function* () {
      const sources = {
        run: Option.getOrUndefined(input.run),
        checkpoint: Option.getOrUndefined(input.checkpoint),
        scoreModel: Option.getOrUndefined(input.scoreModel),
        queryModel: Option.getOrUndefined(input.queryModel)
      }
      if (Object.values(sources).every((v) => v === undefined)) {
        return yield* usage(
          "nothing to serve",
          "pass --run DIR (a finished `ssra run`/`ssra demo` directory) or --checkpoint DIR"
        )
      }
      yield* Console.error(
        `ssra serve: http://${input.host}:${input.port} (Ctrl-C stops after in-flight requests finish)`
      )
      return yield* Server.serve({
        host: input.host,
        port: input.port,
        tokens: input.token,
        allowUnauthenticated: input.allowUnauthenticated,
        models: ModelLoader.fromSources(sources)
      })
    })
).pipe(
  Command.withDescription(
    "Serve a run's models over HTTP: /v1/embeddings (OpenAI-compatible), /v1/rerank, /v1/relevance, /v1/filter, /v1/queries, /healthz, /readyz, /metrics, /openapi.json."
  ),
  Command.withExamples([
    { command: "ssra serve --run runs/demo-kuake_qtr", description: "Serve the demo's models on 127.0.0.1:8080" },
    {
      command: "ssra serve --checkpoint runs/x/model --host 0.0.0.0 --token $TOKEN",
      description: "Embeddings only, on all interfaces, with a token"
    }
  ])
)

/**
 * The `ssra serve` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<"serve", any, any, unknown, never> = command_
