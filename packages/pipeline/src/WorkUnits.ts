/**
 * Checkpointed, shardable work: a list of items is cut into fixed chunks, each chunk's output is committed as
 * its own JSONL file (temp + rename), and finished chunks are never redone. A `kill -9` loses at most the chunk in
 * flight; a rerun does the missing chunks and concatenates all of them in chunk order, so the result equals an
 * uninterrupted run. Each chunk's randomness comes only from its index, so `--shard i/n` (chunk `c` belongs to
 * shard `c mod n`) on several machines, merged, gives the same bytes as one machine.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, type DatasetError, Hash, Jsonl } from "@ssra/core"
import { ChatClient } from "@ssra/llm"
import { Context, Effect, Schema, Stream } from "effect"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"

/**
 * A shard of the work: this machine does the chunks whose index mod `count` equals `index` (0-based).
 *
 * @since 0.1.0
 * @category models
 */
export interface Shard {
  readonly index: number
  readonly count: number
}

/**
 * Parses the CLI's 1-based `i/n` (e.g. `2/4`) into a 0-based shard.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseShard = (text: string): Shard | undefined => {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (!m) return undefined
  const i = Number(m[1])
  const n = Number(m[2])
  if (n < 1 || i < 1 || i > n) return undefined
  return { index: i - 1, count: n }
}

/**
 * Raised when this shard finished its chunks but others are still missing: merge the shards' run directories
 * (`ssra merge`) and rerun without `--shard` to finish.
 *
 * @since 0.1.0
 * @category errors
 */
export class ShardPending extends Schema.TaggedError<ShardPending>()("ShardPending", {
  stage: Schema.String,
  shard: Schema.String,
  done: Schema.Int,
  total: Schema.Int
}) {
  override get message(): string {
    return `shard ${this.shard}: its chunks of ${this.stage} are done (${this.done}/${this.total} chunks present); copy the other shards' run directories in with \`ssra merge\`, then rerun without --shard`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<I, O, E, R> {
  readonly stage: string
  /** The work-unit set's name inside the artifact directory. */
  readonly name: string
  /** The artifact directory the chunks live under (`<dir>/chunks/<name>/`). */
  readonly dir: string
  readonly items: ReadonlyArray<I>
  readonly chunkSize: number
  readonly schema: Schema.Codec<O, any>
  readonly shard?: Shard | undefined
  readonly process: (items: ReadonlyArray<I>, chunk: number) => Effect.Effect<ReadonlyArray<O>, E, R>
  /** A stable identity of the items, so a changed item list never reuses old chunks. */
  readonly identity: (item: I) => string
}

/**
 * What a stage does with a chunk whose LLM calls failed for good on the endpoint's transient trouble (after their
 * own set-aside round): the chunk is set aside and the stage goes on; at its end, after `coolDownMs`, set-aside
 * chunks get another try (answers that came back are cached, so only the failed calls are sent again); what still
 * fails is left out of this run, recorded in `chunks/<name>/set-aside.json` with its error, and retried on the
 * next run — as long as it is at most `maxFailedFraction` of the stage's items; above that the stage stops.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetAsidePolicy {
  readonly maxFailedFraction: number
  readonly coolDownMs: number
  /** Told of every chunk left out of this run. */
  readonly onExcluded?: ((stage: string, items: number, error: string) => void) | undefined
}

/**
 * The set-aside policy in scope (default: 1% of a stage's items, 30 s cool-down).
 *
 * @since 0.1.0
 * @category services
 */
export const SetAside = Context.Reference<SetAsidePolicy>("@ssra/pipeline/SetAside", {
  defaultValue: () => ({ maxFailedFraction: 0.01, coolDownMs: 30_000 })
})

const SET_ASIDE = "set-aside.json"

/**
 * Whether an artifact directory holds chunks left out of the run (its record must not be written, so the next
 * run builds it again and retries them).
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasSetAside = (artifactDir: string): boolean => {
  const root = path.join(artifactDir, "chunks")
  if (!fs.existsSync(root)) return false
  return fs.readdirSync(root).some((name) => fs.existsSync(path.join(root, name, SET_ASIDE)))
}

const chunkFile = (dir: string, index: number) => path.join(dir, `chunk-${String(index).padStart(6, "0")}.jsonl`)

/**
 * Runs the work in chunks, resuming from committed chunks; returns every output row in item order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <I, O, E, R>(
  options: Options<I, O, E, R>
): Effect.Effect<Array<O>, E | DatasetError.DatasetError | PipelineError | ShardPending, R> =>
  Effect.gen(function* () {
    const files = yield* runFiles(options)
    const out: Array<O> = []
    for (const file of files) {
      const rows = yield* Jsonl.readAll(file, options.schema, { allowEmpty: true })
      for (const row of rows) out.push(row)
    }
    return out
  })

/**
 * Streams the rows of committed chunk files in order, one chunk in memory at a time.
 *
 * @since 0.1.0
 * @category constructors
 */
export const readChunks = <O>(
  files: ReadonlyArray<string>,
  schema: Schema.Codec<O, any>
): Stream.Stream<O, DatasetError.DatasetError> =>
  Stream.flatMap(Stream.fromIterable(files), (file) => Jsonl.read(file, schema, { allowEmpty: true }))

/**
 * Like `run`, but returns the committed chunk files (in item order) instead of their rows, for outputs too large
 * to hold: read them back with `readChunks`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runFiles = <I, O, E, R>(
  options: Options<I, O, E, R>
): Effect.Effect<Array<string>, E | DatasetError.DatasetError | PipelineError | ShardPending, R> =>
  Effect.gen(function* () {
    const dir = path.join(options.dir, "chunks", options.name)
    const size = Math.max(1, Math.floor(options.chunkSize))
    const total = Math.ceil(options.items.length / size)
    const planHash = Hash.hashValue({ size, items: options.items.map(options.identity) })
    yield* Effect.try({
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        const planFile = path.join(dir, "plan.json")
        let previous: string | undefined
        try {
          previous = JSON.parse(fs.readFileSync(planFile, "utf8")).planHash
        } catch {
          previous = undefined
        }
        if (previous !== planHash) {
          // A different item list under the same directory (an edited input): old chunks are not ours.
          for (const f of fs.readdirSync(dir)) if (f.startsWith("chunk-")) fs.rmSync(path.join(dir, f), { force: true })
          AtomicFile.writeFileSync(
            planFile,
            JSON.stringify({ planHash, chunks: total, chunkSize: size, items: options.items.length }) + "\n"
          )
        }
      },
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          stage: options.stage,
          detail: `cannot prepare work units in ${dir}: ${(cause as Error).message}`,
          hint: "check the run directory is writable and the disk has space"
        })
    })
    const present = (index: number) => fs.existsSync(chunkFile(dir, index))
    let done = 0
    for (let c = 0; c < total; c++) if (present(c)) done++
    const report = () =>
      Progress.emit({ type: "progress", stage: options.stage, task: options.name, done, total, unit: "chunks" })
    yield* report()
    const attempt = (c: number) =>
      options.process(options.items.slice(c * size, (c + 1) * size), c).pipe(
        Effect.flatMap((rows) => Jsonl.writeAll(chunkFile(dir, c), rows, { schema: options.schema })),
        Effect.as(undefined),
        // the endpoint's transient trouble sets the chunk aside; anything else stops the stage as before
        Effect.catchIf(ChatClient.isTransient, (e) => Effect.succeed(e as unknown as { readonly message: string }))
      )
    const aside = new Map<number, string>()
    for (let c = 0; c < total; c++) {
      if (options.shard !== undefined && c % options.shard.count !== options.shard.index) continue
      if (present(c)) continue
      const failed = yield* attempt(c)
      if (failed !== undefined) aside.set(c, failed.message)
      else done++
      yield* report()
      // a chunk's work is synchronous: let an interruption (Ctrl-C) in between chunks
      yield* Effect.yieldNow
    }
    const excluded = yield* secondRound(options, dir, size, aside, attempt)
    const missing: Array<number> = []
    for (let c = 0; c < total; c++) if (!present(c) && !excluded.has(c)) missing.push(c)
    if (missing.length > 0) {
      return yield* new ShardPending({
        stage: options.stage,
        shard: options.shard ? `${options.shard.index + 1}/${options.shard.count}` : "-",
        done: total - missing.length,
        total
      })
    }
    return Array.from({ length: total }, (_, c) => c)
      .filter((c) => !excluded.has(c))
      .map((c) => chunkFile(dir, c))
  })

/**
 * The end-of-stage round of set-aside chunks: a cool-down, one more try each, then what still fails is left out
 * within the budget (recorded in `set-aside.json`) or stops the stage with a summary.
 */
const secondRound = <I, O, E, R>(
  options: Options<I, O, E, R>,
  dir: string,
  size: number,
  aside: ReadonlyMap<number, string>,
  attempt: (c: number) => Effect.Effect<{ readonly message: string } | undefined, E | DatasetError.DatasetError, R>
): Effect.Effect<ReadonlyMap<number, string>, E | DatasetError.DatasetError | PipelineError, R> =>
  Effect.gen(function* () {
    const file = path.join(dir, SET_ASIDE)
    fs.rmSync(file, { force: true })
    if (aside.size === 0) return aside
    const policy = yield* SetAside
    const itemsOf = (c: number) => Math.min(size, options.items.length - c * size)
    yield* Progress.note(
      options.stage,
      `${aside.size} chunk(s) set aside after their LLM calls failed (${[...aside.values()][0]}); another try after a ${policy.coolDownMs} ms cool-down`
    )
    yield* Effect.sleep(policy.coolDownMs)
    const still = new Map<number, string>()
    for (const [c] of aside) {
      const failed = yield* attempt(c)
      if (failed !== undefined) still.set(c, failed.message)
    }
    if (still.size === 0) return still
    const items = [...still.keys()].reduce((s, c) => s + itemsOf(c), 0)
    const share = items / Math.max(1, options.items.length)
    const summary = `${items} of ${options.items.length} items (${still.size} chunk(s)) of ${options.stage} set aside: their LLM calls still failed after a second round; first error: ${[...still.values()][0]}`
    if (share > policy.maxFailedFraction) {
      return yield* new PipelineError({
        reason: "backend-unreachable",
        stage: options.stage,
        detail: `${summary}. That is ${(share * 100).toFixed(1)}% of the stage, above the error budget of ${(policy.maxFailedFraction * 100).toFixed(1)}% (backends.llm.maxFailedFraction)`,
        hint: "check the endpoint's health and rerun the same command: finished chunks and cached answers are kept; or raise backends.llm.maxFailedFraction to go on without them"
      })
    }
    const entries = [...still].map(([chunk, error]) => ({ chunk, items: itemsOf(chunk), error }))
    yield* Effect.sync(() =>
      AtomicFile.writeFileSync(file, `${JSON.stringify({ stage: options.stage, entries }, null, 2)}\n`)
    )
    for (const e of entries) policy.onExcluded?.(options.stage, e.items, e.error)
    yield* Progress.note(
      options.stage,
      `${summary}; left out of this run (within backends.llm.maxFailedFraction) and retried on the next run`
    )
    return still
  })

/**
 * Copies every artifact file (finished artifacts and committed chunks) that `target` lacks from each source run
 * directory: the merge step after sharded runs. Files are content-addressed, so nothing is overwritten.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mergeRuns = (
  target: string,
  sources: ReadonlyArray<string>
): Effect.Effect<{ readonly copied: number }, PipelineError> =>
  Effect.gen(function* () {
    // shards of one run share a seed and the same input files: refuse to mix runs that do not
    let first: { readonly dir: string; readonly seed: unknown; readonly inputs: string } | undefined
    for (const source of sources) {
      if (!fs.existsSync(path.join(source, "artifacts"))) {
        return yield* new PipelineError({
          reason: "config",
          detail: fs.existsSync(source)
            ? `${source} has no artifacts/ directory: it is not an ssra run directory`
            : `run directory ${source} does not exist`,
          hint: "pass the run directories of `ssra run --shard i/n` (one --from per shard)"
        })
      }
      const manifestFile = path.join(source, "manifest.json")
      if (!fs.existsSync(manifestFile)) continue
      const manifest = yield* Effect.try({
        try: () => JSON.parse(fs.readFileSync(manifestFile, "utf8")) as { seed?: unknown; inputs?: unknown },
        catch: (cause) =>
          new PipelineError({
            reason: "input",
            detail: `${manifestFile} is not valid JSON: ${(cause as Error).message}`,
            hint: "a run writes its manifest atomically: was this file edited?"
          })
      })
      const here = {
        dir: source,
        seed: manifest.seed,
        inputs: JSON.stringify(
          ((manifest.inputs as Array<{ kind: string; sha256: string }> | undefined) ?? [])
            .map((i) => [i.kind, i.sha256])
            .sort()
        )
      }
      if (first === undefined) first = here
      else if (first.seed !== here.seed || first.inputs !== here.inputs) {
        return yield* new PipelineError({
          reason: "config",
          detail: `${first.dir} and ${source} are not shards of one run: ${first.seed !== here.seed ? `seed ${String(first.seed)} vs ${String(here.seed)}` : "their input files differ (sha256 in manifest.json)"}`,
          hint: "merge only the run directories of one `ssra run --shard i/n` command run with the same config and data"
        })
      }
    }
    return yield* copyArtifacts(target, sources)
  })

const copyArtifacts = (
  target: string,
  sources: ReadonlyArray<string>
): Effect.Effect<{ readonly copied: number }, PipelineError> =>
  Effect.try({
    try: () => {
      let copied = 0
      for (const source of sources) {
        const root = path.join(source, "artifacts")
        if (!fs.existsSync(root)) throw new Error(`${source} has no artifacts/ directory: is it an ssra run directory?`)
        const walk = (rel: string) => {
          for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
            const name = path.join(rel, entry.name)
            if (entry.name.startsWith(".")) continue
            if (entry.isDirectory()) walk(name)
            else if (entry.isFile()) {
              const to = path.join(target, "artifacts", name)
              if (fs.existsSync(to)) continue
              // artifact.json last within a directory is not needed: a copied record is verified by hash on use.
              AtomicFile.writeFileSync(to, fs.readFileSync(path.join(root, name)))
              copied++
            }
          }
        }
        walk("")
      }
      return { copied }
    },
    catch: (cause) =>
      new PipelineError({
        reason: "io",
        detail: `merge failed: ${(cause as Error).message}`,
        hint: "pass run directories produced by `ssra run --shard i/n` with the same config"
      })
  })
