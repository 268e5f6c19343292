import { assert, describe, it } from "@effect/vitest"
import { ProgressView } from "../src/index.js"

const sink = (isTTY: boolean) => {
  const out: Array<string> = []
  let t = 0
  const view = ProgressView.make({ write: (s: string) => out.push(s), isTTY, columns: 200 }, () => t)
  return { out, view, tick: (ms: number) => (t += ms) }
}

describe("ProgressView", () => {
  it("writes one JSON object per event with rate and ETA when not a terminal", () => {
    const { out, view, tick } = sink(false)
    view.emit({ type: "stage-start", stage: "stage2", key: "abc" })
    view.emit({ type: "progress", stage: "stage2", task: "generation", done: 0, total: 10, unit: "chunks" })
    tick(2000)
    view.emit({ type: "progress", stage: "stage2", task: "generation", done: 4, total: 10, unit: "chunks" })
    const last = JSON.parse(out.at(-1)!)
    assert.strictEqual(last.ratePerSecond, 2)
    assert.strictEqual(last.etaSeconds, 3)
    assert.strictEqual(JSON.parse(out[0]!).type, "stage-start")
  })

  it("draws a bar with rate and ETA on a terminal and a line per finished stage", () => {
    const { out, view, tick } = sink(true)
    view.emit({ type: "progress", stage: "synthesis:v2", task: "generation", done: 0, total: 8, unit: "chunks" })
    tick(4000)
    view.emit({ type: "progress", stage: "synthesis:v2", task: "generation", done: 4, total: 8, unit: "chunks" })
    const bar = out.at(-1)!
    assert.include(bar, "4/8 chunks")
    assert.include(bar, "1.0/s")
    assert.include(bar, "ETA 4 s")
    view.emit({ type: "stage-end", stage: "synthesis:v2", skipped: true, durationMs: 3, counts: { kept: 5 } })
    assert.include(out.at(-1)!, "↺ synthesis:v2 reused")
  })

  it("closes the last bar when the run is interrupted and names the stage it stopped", () => {
    const { out, view, tick } = sink(true)
    view.emit({ type: "stage-start", stage: "query-model:v2", key: "k" })
    tick(5000)
    view.emit({ type: "progress", stage: "query-model:v2", task: "fit", done: 3, total: 10, unit: "iterations" })
    view.emit({ type: "run-end", outcome: "interrupted" })
    // the bar's line is ended (not cleared), then one line says where the run stopped
    assert.include(out.at(-3)!, "3/10 iterations")
    assert.strictEqual(out.at(-2), "\n")
    assert.strictEqual(out.at(-1), "✗ query-model:v2 interrupted after 5 s\n")
  })

  it("writes the run's end as a JSON line when not a terminal", () => {
    const { out, view } = sink(false)
    view.emit({ type: "run-end", outcome: "interrupted" })
    assert.deepStrictEqual(JSON.parse(out.at(-1)!), { type: "run-end", outcome: "interrupted" })
  })

  it("shows elapsed time for a stage without progress events of its own, until it ends", () => {
    const out: Array<string> = []
    let t = 0
    let tick: (() => void) | undefined
    const view = ProgressView.make(
      { write: (s: string) => out.push(s), isTTY: true, columns: 200 },
      () => t,
      (_ms, f) => {
        tick = f
        return () => {
          tick = undefined
        }
      }
    )
    view.emit({ type: "stage-start", stage: "score-model", key: "k" })
    t = 5000
    tick!()
    assert.include(out.at(-1)!, "score-model working… 5 s")
    view.emit({ type: "stage-end", stage: "score-model", skipped: false, durationMs: 6000 })
    assert.strictEqual(tick, undefined)
    assert.include(out.at(-1)!, "✓ score-model done in 6 s")
  })
})
