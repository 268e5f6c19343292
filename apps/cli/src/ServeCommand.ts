/**
 * `ssra serve`: the HTTP API (embeddings, rerank, relevance, filter, query generation) over a run's
 * checkpoints. It mounts apps/server's own `serve` command, so `ssra serve` and `ssra-server` take the same flags
 * (tokens from `--token-file` or `SSRA_SERVER_TOKENS`, never argv) and start the same server.
 *
 * @since 0.1.0
 */
import { ServeCommand } from "@ssra/app-server"
import { Command } from "effect/cli"
import type { HttpClient } from "effect/http"

/**
 * The `ssra serve` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<"serve", any, any, unknown, HttpClient.HttpClient> = ServeCommand.command.pipe(
  Command.withDescription(
    "Serve a run's models over HTTP: /v1/embeddings (OpenAI-compatible), /v1/rerank, /v1/relevance, /v1/filter, /v1/queries, /healthz, /readyz, /metrics, /openapi.json. Example: ssra serve --run runs/demo-kuake_qtr --port 8080"
  ),
  Command.withExamples([
    { command: "ssra serve --run runs/demo-kuake_qtr", description: "All models of a run on 127.0.0.1:8080" },
    { command: "ssra serve --checkpoint runs/demo-kuake_qtr/model --port 9000", description: "Embeddings only" },
    {
      command: "SSRA_SERVER_TOKENS=s3cret ssra serve --run runs/demo-kuake_qtr --host 0.0.0.0",
      description: "Reachable from other machines, with a token"
    }
  ])
) as Command.Command<"serve", any, any, unknown, HttpClient.HttpClient>
