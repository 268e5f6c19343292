/**
 * The run manifest (`<run>/manifest.json`): everything needed to reproduce and audit a run — the full config,
 * seeds, package and runtime versions, input file hashes, and per stage its artifact key, whether it was reused,
 * its timing, its counts in and out, every filter's counts with reasons, and LLM tokens and cost. It is rewritten
 * atomically after every stage, so an interrupted run still says how far it got.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile } from "@ssra/core"
import { Effect, Schema } from "effect"
import { codeVersions } from "./Artifact.js"
import { PipelineError } from "./PipelineError.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const FilterCounts = Schema.Struct({
  filter: Schema.String,
  input: Schema.Number,
  kept: Schema.Number,
  rejected: Schema.Number,
  reasons: Schema.Record(Schema.String, Schema.Number)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const StageEntry = Schema.Struct({
  stage: Schema.String,
  key: Schema.String,
  dir: Schema.String,
  reused: Schema.Boolean,
  durationMs: Schema.Number,
  counts: Schema.Record(Schema.String, Schema.Number),
  filters: Schema.Array(FilterCounts),
  components: Schema.Array(Schema.Struct({ name: Schema.String, id: Schema.String, config: Schema.Unknown })),
  /** The process's peak resident memory so far (MiB) when the stage was recorded: where it jumps is where a run's
   * memory goes. */
  maxRssMiB: Schema.optionalKey(Schema.Number),
  tokens: Schema.optionalKey(
    Schema.Struct({ prompt: Schema.Number, completion: Schema.Number, calls: Schema.Number, costUsd: Schema.Number })
  )
})

/**
 * @since 0.1.0
 * @category models
 */
export type StageEntry = typeof StageEntry.Type

/**
 * LLM calls, tokens and cost, summed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LlmSpend = Schema.Struct({
  invocations: Schema.Number,
  calls: Schema.Number,
  promptTokens: Schema.Number,
  completionTokens: Schema.Number,
  costUsd: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type LlmSpend = typeof LlmSpend.Type

const noSpend: LlmSpend = { invocations: 0, calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }

/**
 * What earlier invocations on `runDir` spent on LLM calls, read from its manifest (`llmCumulative`, or the LLM
 * totals of a manifest written before that field existed); nothing when there is no readable manifest.
 *
 * @since 0.1.0
 * @category constructors
 */
export const previousSpend = (runDir: string): LlmSpend => {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as {
      llmCumulative?: LlmSpend
      totals?: { llmCalls?: number; promptTokens?: number; completionTokens?: number; costUsd?: number }
    }
    if (m.llmCumulative !== undefined && Schema.is(LlmSpend)(m.llmCumulative)) return m.llmCumulative
    const t = m.totals
    if (t === undefined || !(t.llmCalls! > 0)) return noSpend
    return {
      invocations: 1,
      calls: t.llmCalls ?? 0,
      promptTokens: t.promptTokens ?? 0,
      completionTokens: t.completionTokens ?? 0,
      costUsd: t.costUsd ?? 0
    }
  } catch {
    return noSpend
  }
}

/**
 * One invocation of `ssra` on a run directory: when it started and ended, how long it ran and how it ended
 * (`running` while it runs; `killed` when a later invocation found it still `running`, i.e. it died without
 * recording its end, e.g. `kill -9`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Invocation = Schema.Struct({
  startedAt: Schema.String,
  endedAt: Schema.optionalKey(Schema.String),
  durationMs: Schema.Number,
  outcome: Schema.Literals([
    "running",
    "complete",
    "failed",
    "interrupted",
    "shard-done",
    "awaiting-training",
    "killed"
  ])
})

/**
 * @since 0.1.0
 * @category models
 */
export type Invocation = typeof Invocation.Type

/**
 * The invocations an earlier manifest on `runDir` recorded (one `running` is now `killed`: it never recorded its
 * end); a manifest written before invocations were recorded counts as one invocation of its own duration.
 *
 * @since 0.1.0
 * @category constructors
 */
export const previousInvocations = (runDir: string): ReadonlyArray<Invocation> => {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as {
      invocations?: unknown
      startedAt?: string
      updatedAt?: string
      status?: string
      totals?: { durationMs?: number }
    }
    if (Array.isArray(m.invocations))
      return m.invocations
        .filter(Schema.is(Invocation))
        .map((i) => (i.outcome === "running" ? { ...i, outcome: "killed" as const } : i))
    if (typeof m.startedAt !== "string" || typeof m.totals?.durationMs !== "number") return []
    const outcome = Schema.is(Invocation.fields.outcome)(m.status) && m.status !== "running" ? m.status : "killed"
    return [
      {
        startedAt: m.startedAt,
        ...(typeof m.updatedAt === "string" ? { endedAt: m.updatedAt } : {}),
        durationMs: m.totals.durationMs,
        outcome
      }
    ]
  } catch {
    return []
  }
}

/**
 * The time of every invocation so far summed, and how many there were.
 *
 * @since 0.1.0
 * @category constructors
 */
export const timeSpent = (
  invocations: ReadonlyArray<Invocation>
): { readonly durationMs: number; readonly invocations: number } => ({
  durationMs: invocations.reduce((sum, i) => sum + i.durationMs, 0),
  invocations: invocations.length
})

/**
 * A stage that needs a model trained outside ssra: where its SFT kit is, and the commands to train it, serve it
 * and go on.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Handoff = Schema.Struct({
  stage: Schema.String,
  /** What must be trained, e.g. "query model v1". */
  model: Schema.String,
  kit: Schema.String,
  rows: Schema.Number,
  train: Schema.String,
  serve: Schema.String,
  /** The flag (and config key) that points the rerun at the served model. */
  resume: Schema.String,
  /** `awaiting` until the rerun finds the endpoint; then `served` with the endpoint it used. */
  status: Schema.Literals(["awaiting", "served"]),
  endpoint: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Handoff = typeof Handoff.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const RunManifest = Schema.Struct({
  formatVersion: Schema.Int,
  tool: Schema.String,
  /** `awaiting-training`: stopped at a hand-off (see `handoffs`): train and serve the kit, then rerun. */
  /** `interrupted`: stopped by Ctrl-C / SIGTERM; finished stages are kept, rerun the same command to resume. */
  status: Schema.Literals(["running", "complete", "failed", "shard-done", "awaiting-training", "interrupted"]),
  startedAt: Schema.String,
  updatedAt: Schema.String,
  config: Schema.Unknown,
  seed: Schema.Int,
  versions: Schema.Record(Schema.String, Schema.String),
  inputs: Schema.Array(
    Schema.Struct({
      kind: Schema.String,
      file: Schema.String,
      sha256: Schema.String,
      rows: Schema.Number,
      rejected: Schema.Number
    })
  ),
  stages: Schema.Array(StageEntry),
  totals: Schema.Struct({
    durationMs: Schema.Number,
    llmCalls: Schema.Number,
    promptTokens: Schema.Number,
    completionTokens: Schema.Number,
    costUsd: Schema.Number
  }),
  /**
   * LLM usage per stage (calls, cached calls, tokens, cost) when an LLM backend was used, and `logprobs`: whether
   * the backend returns logprobs and who said so (`{ value, source: "config" | "preset" | "gguf" | "probe" |
   * "assumed" }`), which decides the judge's strategy.
   */
  llm: Schema.optionalKey(Schema.Unknown),
  /**
   * LLM usage of every invocation on this run directory so far, this one included (a rerun after a crash or a
   * budget stop pays only for new calls; cached answers are free): what `maxCostUsd` caps.
   */
  llmCumulative: Schema.optionalKey(LlmSpend),
  /** Models trained outside ssra for this run: their kits, commands and endpoints (kept across invocations). */
  handoffs: Schema.optionalKey(Schema.Array(Handoff)),
  /** Every invocation on this run directory so far, this one last (`totals.durationMs` is this one's time). */
  invocations: Schema.optionalKey(Schema.Array(Invocation)),
  error: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RunManifest = typeof RunManifest.Type

/**
 * Package versions recorded in a manifest (ssra packages are versioned together).
 *
 * @since 0.1.0
 * @category constants
 */
export const versions = (): Record<string, string> => ({
  ...Object.fromEntries(Object.entries(codeVersions).map(([name, version]) => [`@ssra/${name}`, version])),
  node: process.versions.node,
  platform: `${process.platform}-${process.arch}`
})

/**
 * The part of `@ssra/llm`'s cost report the manifest keeps.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmUsageReport {
  readonly total: {
    readonly calls: number
    readonly promptTokens: number
    readonly completionTokens: number
    readonly cost: number
  }
}

/**
 * A manifest being written during a run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorder {
  readonly file: string
  readonly current: () => RunManifest
  /** The time of every invocation on this run directory, this one up to now included, and their number. */
  readonly timeSoFar: () => { readonly durationMs: number; readonly invocations: number }
  readonly setInputs: (inputs: RunManifest["inputs"]) => void
  /** Records LLM usage (a CostTracker report) and its totals. */
  readonly setLlmUsage: (report: LlmUsageReport) => void
  /** Records whether the LLM backend returns logprobs and who said so (kept beside the usage under `llm`). */
  readonly setLlmLogprobs: (logprobs: { readonly value: boolean; readonly source: string }) => void
  readonly addStage: (entry: StageEntry) => Effect.Effect<void, PipelineError>
  /** What earlier invocations on this run directory spent on LLM calls (read when this one started). */
  readonly previousLlm: LlmSpend
  /**
   * The live usage of this invocation's LLM client: read again when the manifest is finished, so a failed or
   * interrupted invocation still records what it spent.
   */
  readonly trackLlm: (report: () => LlmUsageReport) => void
  readonly finish: (status: RunManifest["status"], error?: string) => Effect.Effect<void, PipelineError>
  /** Records (or updates, by stage) a hand-off to external training and writes the manifest. */
  readonly setHandoff: (handoff: Handoff) => Effect.Effect<void, PipelineError>
}

/** The hand-offs an earlier invocation on this run directory recorded (kept across reruns). */
const previousHandoffs = (runDir: string): ReadonlyArray<Handoff> => {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as { handoffs?: unknown }
    return Array.isArray(m.handoffs) ? m.handoffs.filter(Schema.is(Handoff)) : []
  } catch {
    return []
  }
}

/** The manifest with an invocation's LLM usage: its own under `llm` and `totals`, with earlier ones' in `llmCumulative`. */
const withLlmUsage = (
  manifest: RunManifest,
  report: LlmUsageReport,
  previousLlm: LlmSpend,
  logprobs: { readonly value: boolean; readonly source: string } | undefined
): RunManifest => ({
  ...manifest,
  llm: { ...report, ...(logprobs !== undefined ? { logprobs } : {}) },
  totals: {
    ...manifest.totals,
    llmCalls: report.total.calls,
    promptTokens: report.total.promptTokens,
    completionTokens: report.total.completionTokens,
    costUsd: report.total.cost
  },
  llmCumulative: {
    invocations: previousLlm.invocations + 1,
    calls: previousLlm.calls + report.total.calls,
    promptTokens: previousLlm.promptTokens + report.total.promptTokens,
    completionTokens: previousLlm.completionTokens + report.total.completionTokens,
    costUsd: previousLlm.costUsd + report.total.cost
  }
})

/** The manifest with a finished stage: its entry (replacing an earlier one of the stage) and its tokens in `totals`. */
const withStage = (manifest: RunManifest, entry: StageEntry): RunManifest => {
  const t = entry.tokens
  return {
    ...manifest,
    // a stage reused later in the same run keeps the entry of the run that built it
    stages: manifest.stages.some((s) => s.stage === entry.stage && !s.reused && entry.reused)
      ? manifest.stages
      : [...manifest.stages.filter((s) => s.stage !== entry.stage), entry],
    totals: t
      ? {
          ...manifest.totals,
          llmCalls: manifest.totals.llmCalls + t.calls,
          promptTokens: manifest.totals.promptTokens + t.prompt,
          completionTokens: manifest.totals.completionTokens + t.completion,
          costUsd: manifest.totals.costUsd + t.costUsd
        }
      : manifest.totals
  }
}

/**
 * Starts a manifest for `runDir` (written at once, then after every stage).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (runDir: string, config: unknown, seed: number): Effect.Effect<Recorder, PipelineError> =>
  Effect.gen(function* () {
    const file = path.join(runDir, "manifest.json")
    const previousLlm = previousSpend(runDir)
    const handoffs = previousHandoffs(runDir)
    const earlier = previousInvocations(runDir)
    let tracked: (() => LlmUsageReport) | undefined
    let logprobs: { readonly value: boolean; readonly source: string } | undefined
    // a run directory path that names a file is a wrong flag, not a failing disk
    const existing = fs.statSync(runDir, { throwIfNoEntry: false })
    if (existing !== undefined && !existing.isDirectory()) {
      return yield* new PipelineError({
        reason: "config",
        detail: `run directory ${runDir} is a file, not a directory`,
        hint: "pass a new or existing directory with --run-dir (runDir)"
      })
    }
    const started = performance.now()
    const now = () => new Date().toISOString()
    let manifest: RunManifest = {
      formatVersion: 1,
      tool: "ssra",
      status: "running",
      startedAt: now(),
      updatedAt: now(),
      config,
      seed,
      versions: versions(),
      inputs: [],
      stages: [],
      totals: { durationMs: 0, llmCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
      // carried over even when this invocation never reaches its LLM client (e.g. it stops at the spent cap)
      ...(previousLlm.invocations > 0 ? { llmCumulative: previousLlm } : {}),
      ...(handoffs.length > 0 ? { handoffs } : {})
    }
    const startedAt = manifest.startedAt
    const invocation = (durationMs: number, outcome: Invocation["outcome"]): Invocation => ({
      startedAt,
      ...(outcome === "running" ? {} : { endedAt: now() }),
      durationMs,
      outcome
    })
    const write = Effect.try({
      try: () => {
        fs.mkdirSync(runDir, { recursive: true })
        const durationMs = Math.round(performance.now() - started)
        manifest = {
          ...manifest,
          updatedAt: now(),
          totals: { ...manifest.totals, durationMs },
          invocations: [...earlier, invocation(durationMs, manifest.status)]
        }
        AtomicFile.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n")
      },
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          detail: `cannot write ${file}: ${(cause as Error).message}`,
          hint: "check the run directory is writable and the disk has space; finished stages are kept"
        })
    })
    yield* write
    const recorder: Recorder = {
      file,
      current: () => manifest,
      timeSoFar: () => timeSpent([...earlier, invocation(Math.round(performance.now() - started), "running")]),
      setInputs: (inputs) => {
        manifest = { ...manifest, inputs }
      },
      setLlmLogprobs: (answer) => {
        logprobs = answer
        manifest = { ...manifest, llm: { ...(manifest.llm as object | undefined), logprobs } }
      },
      setLlmUsage: (report) => {
        manifest = withLlmUsage(manifest, report, previousLlm, logprobs)
      },
      previousLlm,
      trackLlm: (report) => {
        tracked = report
      },
      addStage: (entry) => {
        manifest = withStage(manifest, entry)
        return write
      },
      setHandoff: (handoff) => {
        manifest = {
          ...manifest,
          handoffs: [...(manifest.handoffs ?? []).filter((h) => h.stage !== handoff.stage), handoff]
        }
        return write
      },
      finish: (status, error) => {
        if (tracked !== undefined) recorder.setLlmUsage(tracked())
        manifest = { ...manifest, status, ...(error !== undefined ? { error } : {}) }
        return write
      }
    }
    return recorder
  })
