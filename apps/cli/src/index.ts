/**
 * @ssra/app-cli — the `ssra` command-line interface (the executable is `bin.ts`).
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
export * as ConfigLoader from "./ConfigLoader.js"
export * as DataCommands from "./DataCommands.js"
export * as Duration from "./Duration.js"
export * as ExitCode from "./ExitCode.js"
export * as ExportCommand from "./ExportCommand.js"
export * as Formats from "./Formats.js"
export * as ProgressView from "./ProgressView.js"
export * as RunCommands from "./RunCommands.js"
export * as ServeCommand from "./ServeCommand.js"
