// Pipeline benchmark: the demo's whole loop (every system of the comparison) on a seeded sample of a bundled
// set, from an empty run directory, then the same command again (everything reused). Prints per-stage times.
// Usage: pnpm --filter @ssra/pipeline bench [kuake_qtr|qbqtc]

import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { Pipeline, PipelineConfig } from "../src/index.js"

const set = process.argv[2] ?? "kuake_qtr"
const dataDir = path.resolve(import.meta.dirname, "../../../data", set)
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `ssra-bench-${set}-`))
const config = PipelineConfig.merge(
  PipelineConfig.defaults,
  PipelineConfig.demo(dataDir, runDir)
) as PipelineConfig.Config

const timed = async (label: string) => {
  const t0 = performance.now()
  const result = await Effect.runPromise(
    Pipeline.run({ config, systems: Pipeline.systems }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
  const seconds = (performance.now() - t0) / 1000
  console.log(
    `${label}: ${seconds.toFixed(1)} s wall, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`
  )
  return result
}

const cold = await timed("cold run (empty run directory)")
const manifest = JSON.parse(fs.readFileSync(cold.manifestFile, "utf8")) as {
  stages: Array<{ stage: string; durationMs: number }>
}
console.log("\n| stage | seconds |\n|---|---|")
for (const s of manifest.stages) console.log(`| ${s.stage} | ${(s.durationMs / 1000).toFixed(1)} |`)
await timed("\nwarm rerun (every stage reused)")
console.log(
  `\nmachine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), node ${process.version}; run directory ${runDir}`
)
fs.rmSync(runDir, { recursive: true, force: true })
