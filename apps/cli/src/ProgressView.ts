/**
 * Draws the pipeline's progress events: on a terminal, a bar per task with rate and ETA redrawn in place plus one
 * line per finished stage; elsewhere (CI, logs, pipes), one JSON object per line with the same numbers.
 *
 * @since 0.1.0
 */
import type { Progress } from "@ssra/pipeline"
import * as Duration from "./Duration.js"

interface Track {
  readonly started: number
  lastDraw: number
}

const formatDuration = (ms: number): string => Duration.human(ms / 1000)

/**
 * A progress sink writing to `stream` (stderr by default): bars when it is a TTY, JSON lines otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  stream: {
    write: (text: string) => unknown
    isTTY?: boolean | undefined
    columns?: number | undefined
  } = process.stderr,
  now: () => number = () => performance.now(),
  every: (ms: number, tick: () => void) => () => void = (ms, tick) => {
    const timer = setInterval(tick, ms)
    timer.unref()
    return () => clearInterval(timer)
  }
): Progress.ProgressSink => {
  const tty = stream.isTTY === true
  const tracks = new Map<string, Track>()
  let barShown = false
  // the stage that started last and has not ended, with its start time (what an interruption stopped)
  let open: { readonly stage: string; readonly started: number } | undefined
  const clearBar = () => {
    if (barShown) {
      stream.write("\r\x1b[2K")
      barShown = false
    }
  }
  // a stage with no progress events of its own still shows that it is working, and for how long (terminal only)
  let stopTicker: (() => void) | undefined
  const stopTicking = () => {
    stopTicker?.()
    stopTicker = undefined
  }
  const startTicking = (stage: string, started: number) => {
    stopTicking()
    stopTicker = every(1000, () => {
      const elapsed = now() - started
      if (elapsed < 2000) return
      stream.write(`\r\x1b[2K  ${stage} working… ${formatDuration(elapsed)}`)
      barShown = true
    })
  }
  // the run ended: the last bar stays on screen as it was, its line ended, so no message lands on it
  const closeBar = () => {
    if (barShown) {
      stream.write("\n")
      barShown = false
    }
  }
  return {
    emit: (event) => {
      const t = now()
      if (event.type === "progress") {
        stopTicking()
        const id = `${event.stage}/${event.task}`
        let track = tracks.get(id)
        if (track === undefined || event.done === 0) {
          track = { started: t, lastDraw: 0 }
          tracks.set(id, track)
        }
        const elapsed = t - track.started
        const rate = elapsed > 0 ? (event.done / elapsed) * 1000 : 0
        const eta = rate > 0 ? ((event.total - event.done) / rate) * 1000 : Number.NaN
        if (!tty) {
          stream.write(
            `${JSON.stringify({ type: "progress", stage: event.stage, task: event.task, done: event.done, total: event.total, unit: event.unit, ratePerSecond: Math.round(rate * 100) / 100, etaSeconds: Number.isFinite(eta) ? Math.round(eta / 1000) : null })}\n`
          )
          return
        }
        if (t - track.lastDraw < 100 && event.done < event.total) return
        track.lastDraw = t
        const width = 24
        const frac = event.total > 0 ? Math.min(1, event.done / event.total) : 1
        const filled = Math.round(frac * width)
        const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`
        // on a narrow terminal the stage name is cut, never the numbers and their units at the end
        const tail = ` ${bar} ${event.done}/${event.total} ${event.unit}  ${rate.toFixed(1)}/s  ETA ${formatDuration(eta)}`
        const room = Math.max(0, (stream.columns ?? 120) - 1 - tail.length)
        const line = `${`  ${event.stage} ${event.task}`.slice(0, room)}${tail}`
        stream.write(`\r\x1b[2K${line}`)
        barShown = true
        return
      }
      if (event.type === "stage-start") open = { stage: event.stage, started: t }
      else if (event.type === "stage-end" && open?.stage === event.stage) open = undefined
      if (event.type !== "note") stopTicking()
      if (!tty) {
        stream.write(`${JSON.stringify(event)}\n`)
        return
      }
      if (event.type === "run-end") {
        closeBar()
        if (event.outcome === "interrupted" && open !== undefined)
          stream.write(`✗ ${open.stage} interrupted after ${formatDuration(t - open.started)}\n`)
        open = undefined
        return
      }
      clearBar()
      if (event.type === "stage-start") {
        stream.write(`▶ ${event.stage}${event.key ? ` (${event.key})` : ""}\n`)
        startTicking(event.stage, t)
      } else if (event.type === "stage-end") {
        const counts =
          event.counts && Object.keys(event.counts).length > 0
            ? `  ${Object.entries(event.counts)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}`
            : ""
        stream.write(
          `${event.skipped ? "↺" : "✓"} ${event.stage} ${event.skipped ? "reused (already complete)" : `done in ${formatDuration(event.durationMs)}`}${counts}\n`
        )
      } else stream.write(`  ${event.stage}: ${event.message}\n`)
    }
  }
}
