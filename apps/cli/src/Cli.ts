/**
 * The `ssra` command tree and its runner: parses argv with effect/cli, runs the handler with a progress sink
 * (bars on a terminal, JSON lines elsewhere), and turns any failure into a message and an exit code
 * (see `ExitCode`).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Cause, Console, Effect, Exit } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import type { HttpClient } from "effect/http"
import * as DataCommands from "./DataCommands.js"
import * as ExitCode from "./ExitCode.js"
import * as ExportCommand from "./ExportCommand.js"
import * as RunCommands from "./RunCommands.js"
import * as ServeCommand from "./ServeCommand.js"

/**
 * The CLI's version (printed by `--version`): the `version` of apps/cli/package.json (one level above both `src/`
 * and `dist/`), which changesets keeps equal to every package's.
 *
 * @since 0.1.0
 * @category constants
 */
export const version: string = (
  JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version

/**
 * Usage mistakes (unknown flag, missing or invalid value) print the error and a one-line pointer to `--help` on
 * stderr, not the whole help text on stdout; `--help` and `--version` print as usual.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.gen(function* () {
          const formatter = yield* CliOutput.Formatter
          yield* Console.error(formatter.formatErrors(event.errors))
          yield* Console.error(`  → see \`${event.commandPath.join(" ")} --help\` for the flags and examples`)
        })
      : CliOutput.defaultPresenter.present(event)
}

/**
 * The root command. Its handlers call model endpoints through the `HttpClient` the program provides.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<"ssra", {}, {}, unknown, HttpClient.HttpClient> = Command.make("ssra").pipe(
  Command.withDescription(
    "SSRA: balanced, relevance-controlled synthetic training data for search embedding models. Exit codes: 0 ok, 1 internal, 2 usage/config, 3 invalid input, 4 backend not installed/configured, 5 backend unreachable, 6 budget reached, 7 I/O (disk), 8 hand-off: a model must be fine-tuned and served outside ssra (see the run manifest's handoffs), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM): rerun the same command to resume."
  ),
  Command.withSubcommands([DataCommands.command, ...RunCommands.commands, ExportCommand.command, ServeCommand.command])
)

/**
 * Runs the CLI on `argv` (without `node` and the script path); never fails: prints the error and returns the
 * exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) =>
  Command.runWith(command, { version })(argv).pipe(
    Effect.provideService(CliOutput.Presenter, presenter),
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(ExitCode.codes.ok as number)
      const failure = exit.cause
      const squashed = ExitCode.fromCause(failure)
      // effect/cli already printed help and parse errors for usage mistakes (a handler's UserError is no such)
      const isCliError = failure.reasons.some(
        (r) => Cause.isFailReason(r) && CliError.isCliError(r.error) && !(r.error instanceof CliError.UserError)
      )
      if (isCliError) return Effect.succeed(ExitCode.codes.usage as number)
      return Effect.as(
        squashed.code === 0 ? Console.log(squashed.message) : Console.error(`error: ${squashed.message}`),
        squashed.code
      )
    })
  )
