// @ssra/pipeline: resolve a run's configuration (defaults + your overrides), validated field by field.
import { PipelineConfig } from "@ssra/pipeline"
import { Effect } from "effect"

const config = await Effect.runPromise(
  PipelineConfig.decodeResolved(PipelineConfig.merge(PipelineConfig.defaults, { seed: 7, runDir: "runs/demo" }))
)
if (config.seed !== 7) throw new Error(`seed ${config.seed}`)
console.log("pipeline: seed", config.seed, "runDir", config.runDir)
