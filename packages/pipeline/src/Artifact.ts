/**
 * Content-addressed stage outputs. A stage's output directory is named by a hash of its stage name, its config
 * and the content hashes of its inputs; it is complete when its `artifact.json` exists and every file it lists
 * still has the recorded hash. A complete artifact is reused instead of rebuilt — that is how a rerun resumes —
 * and any change of config or input gives a new directory, so stale results are never mixed in.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { AtomicFile, Hash } from "@ssra/core"
import { Effect, Option, Schema } from "effect"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"
import * as WorkUnits from "./WorkUnits.js"

/**
 * Bumped when an artifact's on-disk meaning changes, so old run directories are not reused by mistake.
 *
 * @since 0.1.0
 * @category constants
 */
export const formatVersion = 2

const require = createRequire(import.meta.url)

/**
 * The versions of the ssra packages whose code produces artifacts. They are part of every artifact key, so a run
 * directory is never reused across releases that may compute a stage differently.
 *
 * @since 0.1.0
 * @category constants
 */
export const codeVersions: Readonly<Record<string, string>> = Object.fromEntries(
  ["pipeline", "core", "embedding", "evaluation", "filters", "llm", "query-model", "score-model"].map((name) => {
    try {
      return [name, String((require(`@ssra/${name}/package.json`) as { version?: unknown }).version ?? "?")]
    } catch {
      return [name, "?"]
    }
  })
)

/**
 * An input of a stage: a named content hash (a data file's SHA-256 or an upstream artifact's content hash).
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly name: string
  readonly sha256: string
}

/**
 * What identifies a stage's output.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly stage: string
  readonly config: unknown
  readonly inputs: ReadonlyArray<Input>
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const FileEntry = Schema.Struct({ path: Schema.String, sha256: Schema.String, bytes: Schema.Int })

/**
 * The record written as `artifact.json` when a stage's output is complete.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ArtifactRecord = Schema.Struct({
  formatVersion: Schema.Int,
  stage: Schema.String,
  key: Schema.String,
  config: Schema.Unknown,
  inputs: Schema.Array(Schema.Struct({ name: Schema.String, sha256: Schema.String })),
  files: Schema.Array(FileEntry),
  counts: Schema.Record(Schema.String, Schema.Number),
  info: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category models
 */
export type ArtifactRecord = typeof ArtifactRecord.Type

/**
 * A complete artifact: its record, its directory, and whether this run reused it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Artifact {
  readonly dir: string
  readonly record: ArtifactRecord
  readonly skipped: boolean
  readonly durationMs: number
}

/**
 * The key (16 hex characters) of a spec.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyOf = (spec: Spec): string =>
  Hash.hashValue({ formatVersion, codeVersions, stage: spec.stage, config: spec.config, inputs: spec.inputs }).slice(
    0,
    16
  )

/**
 * The directory of a spec's artifact inside a run directory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dirOf = (runDir: string, spec: Spec): string =>
  path.join(runDir, "artifacts", `${spec.stage}-${keyOf(spec)}`)

/**
 * The content hash of an artifact (what downstream stages name as their input).
 *
 * @since 0.1.0
 * @category constructors
 */
export const contentHash = (record: ArtifactRecord): string => Hash.hashValue(record.files)

/**
 * The artifact as a downstream input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const asInput = (name: string, artifact: Artifact): Input => ({ name, sha256: contentHash(artifact.record) })

const RECORD = "artifact.json"

/** Files that are part of the artifact's content: everything but the record, temp files and work-unit chunks. */
const listFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = path.join(rel, entry.name)
      if (entry.name.startsWith(".")) continue
      if (entry.isDirectory()) {
        if (rel === "" && entry.name === "chunks") continue
        walk(name)
      } else if (entry.isFile() && !(rel === "" && entry.name === RECORD)) out.push(name.split(path.sep).join("/"))
    }
  }
  walk("")
  return out.sort()
}

const hashFileSync = (file: string): { sha256: string; bytes: number } => {
  const content = fs.readFileSync(file)
  return { sha256: Hash.sha256(content), bytes: content.length }
}

const decodeRecord = Schema.decodeUnknownExit(Schema.fromJsonString(ArtifactRecord))

/**
 * The complete artifact of `spec`, if there is one whose files all still match their hashes.
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookup = (runDir: string, spec: Spec): Effect.Effect<Option.Option<ArtifactRecord>> =>
  Effect.sync(() => {
    const dir = dirOf(runDir, spec)
    let text: string
    try {
      text = fs.readFileSync(path.join(dir, RECORD), "utf8")
    } catch {
      return Option.none()
    }
    const exit = decodeRecord(text)
    if (exit._tag === "Failure") return Option.none()
    const record = exit.value
    if (record.key !== keyOf(spec) || record.formatVersion !== formatVersion) return Option.none()
    for (const file of record.files) {
      try {
        if (hashFileSync(path.join(dir, file.path)).sha256 !== file.sha256) return Option.none()
      } catch {
        return Option.none()
      }
    }
    return Option.some(record)
  })

/**
 * What a stage's build step reports besides its files.
 *
 * @since 0.1.0
 * @category models
 */
export interface BuildResult {
  readonly counts?: Readonly<Record<string, number>> | undefined
  readonly info?: unknown
}

/**
 * Returns the complete artifact of `spec`, building it with `build(dir)` only when no valid one exists. The build
 * writes its files into `dir` (atomically, file by file); the record is written last, so a crash mid-build leaves
 * no record and the next run builds again (reusing whatever work-unit chunks the build had committed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const cached = <E, R>(
  runDir: string,
  spec: Spec,
  build: (dir: string) => Effect.Effect<BuildResult, E, R>
): Effect.Effect<Artifact, E | PipelineError, R> =>
  Effect.gen(function* () {
    const dir = dirOf(runDir, spec)
    const key = keyOf(spec)
    const started = performance.now()
    yield* Progress.emit({ type: "stage-start", stage: spec.stage, key })
    const existing = yield* lookup(runDir, spec)
    if (Option.isSome(existing)) {
      const durationMs = performance.now() - started
      yield* Progress.emit({
        type: "stage-end",
        stage: spec.stage,
        skipped: true,
        durationMs,
        counts: existing.value.counts
      })
      return { dir, record: existing.value, skipped: true, durationMs }
    }
    yield* Effect.try({
      // a build killed earlier (kill -9) may have left temp files: its committed chunks stay, its temps go
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        AtomicFile.sweepStale(dir, { recursive: true })
      },
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          stage: spec.stage,
          detail: `cannot create ${dir}: ${(cause as Error).message}`,
          hint: "check the run directory is writable and the disk has space"
        })
    })
    const result = yield* build(dir)
    const record: ArtifactRecord = yield* Effect.try({
      try: () => {
        const files = listFiles(dir).map((p) => ({ path: p, ...hashFileSync(path.join(dir, p)) }))
        const rec: ArtifactRecord = {
          formatVersion,
          stage: spec.stage,
          key,
          config: spec.config,
          inputs: spec.inputs,
          files,
          counts: { ...(result.counts ?? {}) },
          info: result.info ?? null
        }
        // items set aside (LLM calls that failed for good) leave the artifact unrecorded: the next run retries them
        if (!WorkUnits.hasSetAside(dir))
          AtomicFile.writeFileSync(path.join(dir, RECORD), JSON.stringify(rec, null, 2) + "\n")
        return rec
      },
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          stage: spec.stage,
          detail: `cannot record the artifact in ${dir}: ${(cause as Error).message}`,
          hint: "check the disk has space, then rerun the same command: finished work is kept"
        })
    })
    const durationMs = performance.now() - started
    yield* Progress.emit({ type: "stage-end", stage: spec.stage, skipped: false, durationMs, counts: record.counts })
    return { dir, record, skipped: false, durationMs }
  })

/**
 * The path of a file of an artifact.
 *
 * @since 0.1.0
 * @category constructors
 */
export const file = (artifact: Artifact, name: string): string => path.join(artifact.dir, name)

/**
 * The complete artifacts of a stage in a run directory (e.g. `train:ssra`), newest first — for tools that read
 * a finished run (export, serve).
 *
 * @since 0.1.0
 * @category lookup
 */
export const find = (
  runDir: string,
  stage: string
): Array<{ readonly dir: string; readonly record: ArtifactRecord }> => {
  const root = path.join(runDir, "artifacts")
  if (!fs.existsSync(root)) return []
  const out: Array<{ dir: string; record: ArtifactRecord; mtime: number }> = []
  for (const name of fs.readdirSync(root)) {
    if (!name.startsWith(`${stage}-`) || name.length !== stage.length + 17) continue
    const dir = path.join(root, name)
    const file = path.join(dir, RECORD)
    if (!fs.existsSync(file)) continue
    const exit = decodeRecord(fs.readFileSync(file, "utf8"))
    if (exit._tag === "Success" && exit.value.stage === stage)
      out.push({ dir, record: exit.value, mtime: fs.statSync(file).mtimeMs })
  }
  return out.sort((a, b) => b.mtime - a.mtime).map(({ dir, record }) => ({ dir, record }))
}
