/**
 * The error `@ssra/text` throws for an option out of range (an n-gram size, BM25's k1 or b): a usage error, fix the
 * call or the config. A plain `Error` (the package imports no `effect`) that carries core's `Failure`
 * classification, so `Failure.classify` and the CLI's exit codes read it like every other package's errors.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"

/**
 * `option` names what was wrong (`n`, `bm25`); `detail` is the message.
 *
 * @since 0.1.0
 * @category errors
 */
export class TextOptionError extends Error {
  readonly _tag = "TextOptionError" as const
  readonly option: string
  readonly detail: string
  constructor(options: { readonly option: string; readonly detail: string }) {
    super(options.detail)
    this.name = "TextOptionError"
    this.option = options.option
    this.detail = options.detail
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("usage")
  }
}
