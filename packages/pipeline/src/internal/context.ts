import { DatasetError, Failure, Models } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import type { Effect } from "effect"
import type { Artifact } from "../Artifact.js"
import type { Config } from "../PipelineConfig.js"
import { PipelineError, reasonOf } from "../PipelineError.js"
import type { Recorder, StageEntry } from "../RunManifest.js"
import type { Shard } from "../WorkUnits.js"
import type { Strings } from "./strings.js"

/** What every stage receives: the resolved config, the run directory, the shard and the manifest recorder. */
export interface RunContext {
  readonly config: Config
  readonly runDir: string
  readonly shard?: Shard | undefined
  readonly recorder: Recorder
  /** The run's string pool for what stages read back (absent: nothing is interned). */
  readonly strings?: Strings | undefined
}

/** Records a finished stage in the manifest. */
export const record = (
  ctx: RunContext,
  artifact: Artifact,
  extra: Partial<Pick<StageEntry, "filters" | "components" | "tokens">> = {}
): Effect.Effect<void, PipelineError> => {
  const info = artifact.record.info as {
    filters?: StageEntry["filters"]
    components?: StageEntry["components"]
    tokens?: StageEntry["tokens"]
  } | null
  const tokens = extra.tokens ?? info?.tokens
  return ctx.recorder.addStage({
    stage: artifact.record.stage,
    key: artifact.record.key,
    dir: artifact.dir,
    reused: artifact.skipped,
    durationMs: Math.round(artifact.durationMs),
    counts: artifact.record.counts,
    filters: extra.filters ?? info?.filters ?? [],
    components: extra.components ?? info?.components ?? [],
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(tokens !== undefined ? { tokens } : {})
  })
}

/** The pipeline error for a failure inside a stage, keeping tagged pipeline errors and shard signals as they are. */
export const stageError =
  (stage: string) =>
  <E>(e: E): PipelineError | Exclude<E, Models.ModelError | DatasetError.DatasetError | ChatClient.LlmError> => {
    // a dataset failure inside a stage reads or writes the run directory: the disk, not the user's input
    if (e instanceof DatasetError.DatasetError)
      return new PipelineError({
        reason: "io",
        stage,
        detail: e.message,
        hint: "check the run directory and the disk; rerun to resume"
      })
    if (!(e instanceof Models.ModelError || e instanceof ChatClient.LlmError))
      return e as Exclude<E, Models.ModelError | DatasetError.DatasetError | ChatClient.LlmError>
    // a model or endpoint failure: its own classification, with the run's next step as the hint
    const kind = Failure.classify(e).class
    const hint =
      kind === "backend-unreachable"
        ? "check the endpoint is running and reachable; finished chunks are kept, rerun to resume"
        : kind === "budget"
          ? "raise backends.llm.maxCostUsd and rerun: finished chunks are kept"
          : e instanceof ChatClient.LlmError
            ? "check backends.llm (model name, API key env variable)"
            : undefined
    return new PipelineError({
      reason: reasonOf(kind),
      stage,
      detail: e.message,
      ...(hint !== undefined ? { hint } : {})
    })
  }
