#!/usr/bin/env node
// The `ssra-server` executable: parses flags and runs the server until SIGINT/SIGTERM.
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import * as ServeCommand from "./ServeCommand.js"

Command.run(ServeCommand.command, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
