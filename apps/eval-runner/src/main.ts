/**
 * The `ssra-eval` program (loaded by `bin.ts` after its Node version check): runs the command tree on the Node platform
 * (with the one HTTP client remote systems are called through) and exits with the code `Cli.run` computed.
 *
 * @since 0.1.0
 */
import { NodeHttpClient, NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Exit, Layer, Runtime } from "effect"
import * as Cli from "./Cli.js"

Cli.run(process.argv.slice(2)).pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici)),
  (program) =>
    NodeRuntime.runMain(program, {
      disableErrorReporting: true,
      teardown: (exit, onExit) =>
        Exit.isSuccess(exit) ? onExit(exit.value as number) : Runtime.defaultTeardown(exit, onExit)
    })
)
