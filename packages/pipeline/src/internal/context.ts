import type { Effect } from "effect"
import type { Artifact } from "../Artifact.js"
import type { Config } from "../PipelineConfig.js"
import { PipelineError } from "../PipelineError.js"
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
  <E extends { readonly _tag: string; readonly message: string }>(
    e: E
  ): PipelineError | Exclude<E, { readonly _tag: "ModelError" | "DatasetError" | "LlmError" }> => {
    if (e._tag === "ModelError") {
      const reason = (e as unknown as { reason: string }).reason
      return new PipelineError({
        reason: reason === "unavailable" ? "backend-unreachable" : reason === "budget-exceeded" ? "budget" : "internal",
        stage,
        detail: e.message,
        ...(reason === "unavailable"
          ? { hint: "check the endpoint is running and reachable; finished chunks are kept, rerun to resume" }
          : reason === "budget-exceeded"
            ? { hint: "raise backends.llm.maxCostUsd and rerun: finished chunks are kept" }
            : {})
      })
    }
    if (e._tag === "LlmError") {
      const reason = (e as unknown as { reason: string }).reason
      const unreachable = [
        "connection",
        "timeout",
        "unavailable",
        "circuit-open",
        "server-error",
        "rate-limited"
      ].includes(reason)
      return new PipelineError({
        reason: unreachable
          ? "backend-unreachable"
          : reason === "budget-exceeded"
            ? "budget"
            : reason === "auth"
              ? "config"
              : "internal",
        stage,
        detail: e.message,
        hint: unreachable
          ? "check the endpoint is running and reachable; finished chunks are kept, rerun to resume"
          : reason === "budget-exceeded"
            ? "raise backends.llm.maxCostUsd and rerun: finished chunks are kept"
            : "check backends.llm (model name, API key env variable)"
      })
    }
    if (e._tag === "DatasetError")
      return new PipelineError({
        reason: "io",
        stage,
        detail: e.message,
        hint: "check the run directory and the disk; rerun to resume"
      })
    return e as never
  }
