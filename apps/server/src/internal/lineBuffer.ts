// Batched line output for access logs: lines collect in memory and go out in one write every `flushMs` (or once
// `maxBytes` are waiting), instead of one synchronous write per request. Flushed on close and on process exit.

export interface LineBuffer {
  readonly write: (line: string) => void
  /** Writes out what is waiting now. */
  readonly flush: () => void
  /** Flushes and stops (removes the exit hook). */
  readonly close: () => void
}

export const make = (
  sink: (chunk: string) => void,
  options: { readonly flushMs: number; readonly maxBytes: number }
): LineBuffer => {
  let pending = ""
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false

  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    if (pending.length === 0) return
    const chunk = pending
    pending = ""
    sink(chunk)
  }
  const onExit = (): void => flush()
  process.once("exit", onExit)

  return {
    write: (line) => {
      if (closed) {
        sink(`${line}\n`)
        return
      }
      pending += `${line}\n`
      if (pending.length >= options.maxBytes) flush()
      else if (timer === undefined) {
        timer = setTimeout(flush, options.flushMs)
        timer.unref()
      }
    },
    flush,
    close: () => {
      flush()
      closed = true
      process.removeListener("exit", onExit)
    }
  }
}
