/**
 * The `ssra` command tree on Node (loaded by `bin.ts` after its Node version check): composes the Node platform
 * layer, the one HTTP client every model endpoint is called through (undici) and the progress view, runs the
 * command tree, and exits with the code `Cli.run` computed (130 / 143 after
 * Ctrl-C / SIGTERM, see `Interrupt`).
 *
 * @since 0.1.0
 */
import { NodeHttpClient, NodeRuntime, NodeServices } from "@effect/platform-node"
import { Progress } from "@ssra/pipeline"
import { Effect, Layer } from "effect"
import * as Cli from "./Cli.js"
import * as Interrupt from "./Interrupt.js"
import * as ProgressView from "./ProgressView.js"

Interrupt.watchSignals()
Cli.run(process.argv.slice(2)).pipe(
  Progress.withSink(ProgressView.make()),
  Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici)),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true, teardown: Interrupt.teardown })
)
