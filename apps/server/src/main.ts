// The `ssra-server` program (loaded by `bin.ts` after its Node version check): parses flags and runs the server until SIGINT/SIGTERM.
import * as fs from "node:fs"
import { NodeHttpClient, NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import * as ServeCommand from "./ServeCommand.js"

const { version } = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string
}

// the one HTTP client a remote embedder or LLM judge is called through, alive as long as the server
Command.run(ServeCommand.command, { version }).pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici)),
  NodeRuntime.runMain
)
