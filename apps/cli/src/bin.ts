#!/usr/bin/env node
/**
 * The `ssra` executable: composes the Node platform layer and the progress view, runs the command tree, and
 * exits with the code `Cli.run` computed.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Progress } from "@ssra/pipeline"
import { Effect } from "effect"
import * as Cli from "./Cli.js"
import * as Interrupt from "./Interrupt.js"
import * as ProgressView from "./ProgressView.js"

Interrupt.watchSignals()
Cli.run(process.argv.slice(2)).pipe(
  Progress.withSink(ProgressView.make()),
  Effect.provide(NodeServices.layer),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true, teardown: Interrupt.teardown })
)
