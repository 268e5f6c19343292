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
  now: () => number = () => performance.now()
): Progress.ProgressSink => {
  const tty = stream.isTTY === true
  const tracks = new Map<string, Track>()
  let barShown = false
  const clearBar = () => {
    if (barShown) {
      stream.write("\r\x1b[2K")
      barShown = false
    }
  }
  return {
    emit: (event) => {
      const t = now()
      if (event.type === "progress") {
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
      if (!tty) {
        stream.write(`${JSON.stringify(event)}\n`)
        return
      }
      clearBar()
      if (event.type === "stage-start") stream.write(`▶ ${event.stage}${event.key ? ` (${event.key})` : ""}\n`)
      else if (event.type === "stage-end") {
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
