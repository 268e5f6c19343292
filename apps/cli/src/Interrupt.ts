/**
 * Ctrl-C and SIGTERM: the runtime interrupts the running command (a pipeline run records `interrupted` in its
 * manifest and closes its progress bar), then `ssra` prints one line and exits 130 (SIGINT) or 143 (SIGTERM), the
 * shell's 128 + signal convention. A second signal while the first is being handled exits at once.
 *
 * @since 0.1.0
 */
import { Cause, Exit, Runtime } from "effect"
import * as ExitCode from "./ExitCode.js"

let received: "SIGINT" | "SIGTERM" | undefined

/**
 * The exit code for an interruption by `signal` (none: an interruption from inside, reported like Ctrl-C).
 *
 * @since 0.1.0
 * @category constructors
 */
export const exitCode = (signal: "SIGINT" | "SIGTERM" | undefined): number =>
  signal === "SIGTERM" ? ExitCode.codes.terminated : ExitCode.codes.interrupted

/**
 * Notes which signal arrived (the runtime's own handler interrupts the main fiber); a second one exits at once.
 *
 * @since 0.1.0
 * @category running
 */
export const watchSignals = (): void => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (received !== undefined) {
        process.stderr.write(`\n${signal} again: exiting now\n`)
        process.exit(exitCode(received))
      }
      received = signal
    })
  }
}

/**
 * The runtime teardown of `ssra`: the command's exit code on success; on an interruption the one-line message on
 * stderr and 130 / 143; otherwise the runtime's default.
 *
 * @since 0.1.0
 * @category running
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(exit.value as number)
  if (Cause.hasInterruptsOnly(exit.cause)) {
    process.stderr.write(`${ExitCode.interruptedMessage}\n`)
    return onExit(exitCode(received))
  }
  return Runtime.defaultTeardown(exit, onExit)
}
