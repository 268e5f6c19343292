/**
 * One benchmark phase, run in its own process so its peak memory (maxRSS) is its own:
 * `phase.ts <jsonl-write|jsonl-read|parquet-write|parquet-read|idle> <file> <rows>`. Prints one JSON line.
 */

import * as fs from "node:fs"
import { Jsonl, Pair, Parquet, Sampling } from "@ssra/core"
import { Effect, Stream } from "effect"

const [phase, file, rowsArg] = process.argv.slice(2) as [string, string, string]
const rows = Number(rowsArg)

// Deterministic rows shaped like the bundled sets: a short query, a title-length document, ids like the real ones.
const HAN_START = 0x4e00
const HAN_SPAN = 0x9fa5 - 0x4e00
function* generate(n: number): Generator<Pair.LabeledPair> {
  const rng = new Sampling.SeededRandom(20261123)
  const text = (min: number, max: number) => {
    const codes = new Array<number>(min + rng.int(max - min + 1))
    for (let i = 0; i < codes.length; i++)
      codes[i] = rng.next() < 0.1 ? 97 + rng.int(26) : HAN_START + rng.int(HAN_SPAN)
    // one flat string, as JSON.parse would produce (not a rope of one-character pieces)
    return String.fromCharCode(...codes)
  }
  for (let i = 0; i < n; i++) {
    const q = (i / 3) | 0
    yield {
      qid: `bench-q${q.toString(16).padStart(12, "0")}`,
      did: `bench-d${i.toString(16).padStart(12, "0")}`,
      query: text(3, 14),
      doc: text(8, 40),
      label: rng.int(4) as 0 | 1 | 2 | 3,
      src: `bench:${i}`
    }
  }
}

const run = Effect.gen(function* () {
  const started = performance.now()
  let count = 0
  switch (phase) {
    case "jsonl-write":
      count = (yield* Jsonl.write(file, Stream.fromIterable(generate(rows), { chunkSize: 1024 }), {
        schema: Pair.LabeledPair
      })).rows
      break
    case "parquet-write":
      count = (yield* Parquet.write(file, Stream.fromIterable(generate(rows), { chunkSize: 1024 }), {
        schema: Pair.LabeledPair
      })).rows
      break
    case "jsonl-read":
      count = yield* Stream.runCount(Jsonl.read(file, Pair.LabeledPair))
      break
    case "parquet-read":
      count = yield* Stream.runCount(Parquet.read(file, Pair.LabeledPair))
      break
    case "generate-only":
      for (const _ of generate(rows)) count++
      break
    case "idle":
      break
    default:
      throw new Error(`unknown phase ${phase}`)
  }
  const seconds = (performance.now() - started) / 1000
  const bytes = phase === "idle" || phase === "generate-only" ? 0 : fs.statSync(file).size
  const cpu = process.cpuUsage()
  console.log(
    JSON.stringify({
      phase,
      rows: count,
      bytes,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      maxRssMiB: process.resourceUsage().maxRSS / 1024
    })
  )
})

Effect.runPromise(run).catch((error) => {
  console.error(String(error?.message ?? error))
  process.exit(1)
})
