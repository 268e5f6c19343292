/**
 * Grade-controlled generation as checkpointed work units: documents are cut into chunks; for each chunk the
 * query model writes queries at each target grade, and the per-document gates run at once (score agreement,
 * pairwise consistency, length, script), so one committed chunk holds finished, judged candidates with every
 * verdict. Seeds derive from the run seed, the document and the grade only, so chunk order, resumption and
 * sharding never change a row.
 *
 * @since 0.1.0
 */
import {
  type DatasetError,
  type Document,
  Grade,
  Hash,
  Jsonl,
  type Models,
  Sampling,
  SyntheticQuery,
  Text
} from "@ssra/core"
import type { Filter } from "@ssra/filters"
import { Effect, Stream } from "effect"
import { PipelineError } from "./PipelineError.js"
import type * as RunManifest from "./RunManifest.js"
import * as WorkUnits from "./WorkUnits.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface GenerateOptions {
  readonly stage: SyntheticQuery.SyntheticQuery["stage"]
  /** Progress/manifest name of the stage (e.g. `stage2`, `synthesis:ssra`). */
  readonly stageName: string
  /** The artifact directory the chunks live in. */
  readonly dir: string
  readonly writer: Models.QueryWriter
  readonly documents: ReadonlyArray<Document.Document>
  readonly grades: ReadonlyArray<Grade.Grade>
  readonly perGrade: number
  readonly seed: number
  readonly chunkSize: number
  readonly shard?: WorkUnits.Shard | undefined
  /** Gates applied to each chunk's candidates, in order (each sees only what the previous kept). */
  readonly gates: ReadonlyArray<Filter.Filter<Models.ModelError>>
  readonly parentRun?: string | undefined
}

/**
 * Applies filters in sequence; returns every candidate (kept and rejected) in input order with its verdicts.
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyGates = (
  candidates: ReadonlyArray<SyntheticQuery.SyntheticQuery>,
  gates: ReadonlyArray<Filter.Filter<Models.ModelError>>
): Effect.Effect<Array<SyntheticQuery.SyntheticQuery>, Models.ModelError> =>
  Effect.gen(function* () {
    const final = new Map<string, SyntheticQuery.SyntheticQuery>()
    let alive: ReadonlyArray<SyntheticQuery.SyntheticQuery> = candidates
    for (const gate of gates) {
      if (alive.length === 0) break
      const result = yield* gate.apply(alive)
      for (const r of result.rejected) final.set(r.id, r)
      alive = result.kept
    }
    for (const k of alive) final.set(k.id, k)
    return candidates.map((c) => final.get(c.id) ?? c)
  })

/**
 * Whether every verdict of a candidate kept it.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isKept = (c: SyntheticQuery.SyntheticQuery): boolean => c.verdicts.every((v) => v.keep)

/**
 * Filter counts recomputed from the verdicts of all candidates (so resumed and sharded runs report the same).
 *
 * @since 0.1.0
 * @category statistics
 */
export const countsFromVerdicts = (
  rows: Iterable<SyntheticQuery.SyntheticQuery>
): Array<typeof RunManifest.FilterCounts.Type> => {
  const tally = verdictTally()
  for (const row of rows) tally.add(row)
  return tally.counts()
}

/**
 * `countsFromVerdicts` one row at a time, for candidate sets streamed from disk.
 *
 * @since 0.1.0
 * @category statistics
 */
export const verdictTally = () => {
  const order: Array<string> = []
  const table = new Map<string, { input: number; kept: number; rejected: number; reasons: Record<string, number> }>()
  return {
    add: (row: SyntheticQuery.SyntheticQuery): void => {
      for (const v of row.verdicts) {
        let entry = table.get(v.filter)
        if (entry === undefined) {
          entry = { input: 0, kept: 0, rejected: 0, reasons: {} }
          table.set(v.filter, entry)
          order.push(v.filter)
        }
        entry.input++
        if (v.keep) entry.kept++
        else {
          entry.rejected++
          const code = (v.reason ?? "rejected").split(":")[0]!
          entry.reasons[code] = (entry.reasons[code] ?? 0) + 1
        }
      }
    },
    counts: (): Array<typeof RunManifest.FilterCounts.Type> =>
      order.map((filter) => ({ filter, ...table.get(filter)! }))
  }
}

/**
 * Per target grade: candidates written, and how many the score model judged at the target grade (the paper's
 * Table 6 alignment, measured against the score model).
 *
 * @since 0.1.0
 * @category statistics
 */
export const alignment = (rows: Iterable<SyntheticQuery.SyntheticQuery>) => {
  const tally = alignmentTally()
  for (const r of rows) tally.add(r)
  return tally.result
}

/**
 * `alignment` one row at a time.
 *
 * @since 0.1.0
 * @category statistics
 */
export const alignmentTally = () => {
  const result: Record<string, { written: number; judgedAtTarget: number; kept: number }> = {}
  return {
    result,
    add: (r: SyntheticQuery.SyntheticQuery): void => {
      const k = `grade${r.targetGrade}`
      const e = (result[k] ??= { written: 0, judgedAtTarget: 0, kept: 0 })
      e.written++
      if (r.judged?.grade === r.targetGrade) e.judgedAtTarget++
      if (isKept(r)) e.kept++
    }
  }
}

/**
 * Generates for every document at every grade in checkpointed chunks; returns every candidate with verdicts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (
  options: GenerateOptions
): Effect.Effect<
  Array<SyntheticQuery.SyntheticQuery>,
  Models.ModelError | PipelineError | DatasetError.DatasetError | WorkUnits.ShardPending
> => WorkUnits.run(units(options))

/**
 * Like `generate`, but returns the committed chunk files instead of the candidates (read them back with
 * `WorkUnits.readChunks`): at millions of documents the candidates do not fit in memory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateFiles = (
  options: GenerateOptions
): Effect.Effect<
  Array<string>,
  Models.ModelError | PipelineError | DatasetError.DatasetError | WorkUnits.ShardPending
> => WorkUnits.runFiles(units(options))

const units = (
  options: GenerateOptions
): WorkUnits.Options<Document.Document, SyntheticQuery.SyntheticQuery, Models.ModelError | PipelineError, never> => ({
  stage: options.stageName,
  name: "generation",
  dir: options.dir,
  items: options.documents,
  chunkSize: options.chunkSize,
  schema: SyntheticQuery.SyntheticQuery,
  shard: options.shard,
  identity: (d) => `${d.id}\u0000${Hash.sha256(d.text).slice(0, 16)}`,
  process: (docs) =>
    Effect.gen(function* () {
      const requests: Array<Models.QueryRequest> = []
      for (const document of docs) {
        for (const targetGrade of options.grades) {
          requests.push({
            document,
            targetGrade,
            n: options.perGrade,
            seed: Sampling.hashSeed(`${options.seed}/${document.id}/${targetGrade}`)
          })
        }
      }
      const generated = yield* options.writer.generate(requests)
      if (generated.length !== requests.length) {
        return yield* new PipelineError({
          reason: "internal",
          stage: options.stageName,
          detail: `query model ${options.writer.id} answered ${generated.length} of ${requests.length} requests`
        })
      }
      const candidates: Array<SyntheticQuery.SyntheticQuery> = []
      const seen = new Set<string>()
      requests.forEach((request, i) => {
        for (const g of generated[i]!) {
          const query = Text.normalize(g.query)
          const id = Hash.hashValue([request.document.id, request.targetGrade, query]).slice(0, 20)
          if (seen.has(id)) continue
          seen.add(id)
          candidates.push({
            id,
            did: request.document.id,
            doc: request.document.text,
            query,
            stage: options.stage,
            targetGrade: request.targetGrade,
            generator: g.generator,
            verdicts: [],
            seed: request.seed,
            ...(options.parentRun !== undefined ? { parentRun: options.parentRun } : {})
          })
        }
      })
      return yield* applyGates(candidates, options.gates)
    })
})

/**
 * What `finishSet` wrote and counted.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetSummary {
  readonly candidates: number
  readonly kept: number
  /** Filter counts over every candidate's verdicts, per-chunk gates first, then the set gates. */
  readonly filters: Array<typeof RunManifest.FilterCounts.Type>
  readonly alignment: ReturnType<typeof alignment>
  /** Share of candidates (‰) whose normalized query repeats another candidate's. */
  readonly duplicateRatePermille: number
}

/**
 * Runs whole-set gates (duplicates, test leakage, quotas) over generated chunk files and writes every candidate
 * with its verdicts to `candidatesFile` and the survivors to `keptFile`, both atomically and in chunk order.
 *
 * Set gates must see every surviving candidate at once, so they run over slim copies read one chunk at a time:
 * the document text is one shared copy per document and the per-chunk verdicts are left out (a set gate sees only
 * the verdicts of the set gates before it). Their verdicts are then merged into the full rows, by position among
 * the surviving rows, while the chunks are streamed out again; chunk files that change in between fail with an
 * internal `PipelineError`. Memory is O(surviving candidates × a short query + documents), not
 * O(candidates × document); for gates that do not read earlier verdicts (none of `@ssra/filters`' set gates does)
 * the result is row-for-row what gating the whole set in memory gives.
 *
 * @since 0.1.0
 * @category combinators
 */
export const finishSet = (options: {
  readonly files: ReadonlyArray<string>
  readonly gates: ReadonlyArray<Filter.Filter<Models.ModelError>>
  readonly candidatesFile: string
  readonly keptFile: string
}): Effect.Effect<SetSummary, Models.ModelError | DatasetError.DatasetError | PipelineError> =>
  Effect.gen(function* () {
    const read = () => WorkUnits.readChunks(options.files, SyntheticQuery.SyntheticQuery)
    // every candidate of a document shares one copy of its text (a decoded row would own one)
    const texts = new Map<string, string>()
    const slim = yield* Stream.runFold(
      read(),
      (): Array<SyntheticQuery.SyntheticQuery> => [],
      (acc, row) => {
        if (isKept(row)) {
          let doc = texts.get(row.did)
          if (doc !== row.doc) {
            if (doc === undefined) texts.set(row.did, row.doc)
            doc = row.doc
          }
          acc.push({ ...row, doc, verdicts: [] })
        }
        return acc
      }
    )
    texts.clear()
    let judged = yield* applyGates(slim, options.gates)
    slim.length = 0
    // what the set gates added, in the order of the surviving rows (every later read meets them in that order)
    const added = judged.map((j) => j.verdicts)
    judged = []
    const changed = (detail: string) =>
      new PipelineError({
        reason: "internal",
        detail: `the generation chunks changed while the set gates ran (${detail}): ${options.files.length} chunk files`,
        hint: "run the stage again: its committed chunks are reused"
      })
    const merged = () => {
      let next = 0
      return Stream.concat(
        Stream.mapEffect(read(), (row) => {
          if (!isKept(row)) return Effect.succeed(row)
          const more = added[next++]
          if (more === undefined) return Effect.fail(changed(`more than ${added.length} surviving candidates`))
          return Effect.succeed(more.length === 0 ? row : { ...row, verdicts: [...row.verdicts, ...more] })
        }),
        // the same number of survivors as the gated pass, or the verdicts would belong to other rows
        Stream.fromEffectDrain(
          Effect.suspend(() =>
            next === added.length
              ? Effect.void
              : Effect.fail(changed(`${next} surviving candidates, ${added.length} were gated`))
          )
        )
      )
    }
    const verdicts = verdictTally()
    const aligned = alignmentTally()
    const keys = new Set<string>()
    const all = yield* Jsonl.write(
      options.candidatesFile,
      Stream.tap(merged(), (row) =>
        Effect.sync(() => {
          verdicts.add(row)
          aligned.add(row)
          keys.add(Text.dedupKey(row.query))
        })
      ),
      { schema: SyntheticQuery.SyntheticQuery }
    )
    const kept = yield* Jsonl.write(options.keptFile, Stream.filter(merged(), isKept), {
      schema: SyntheticQuery.SyntheticQuery
    })
    return {
      candidates: all.rows,
      kept: kept.rows,
      filters: verdicts.counts(),
      alignment: aligned.result,
      duplicateRatePermille: Math.round((1 - keys.size / Math.max(1, all.rows)) * 1000)
    }
  })

/**
 * The target grades of a plan that exist on a scale (a 0–2 set never asks for grade 3).
 *
 * @since 0.1.0
 * @category constructors
 */
export const gradesOn = (scale: Grade.GradeScale, grades: ReadonlyArray<number>): Array<Grade.Grade> =>
  [...new Set(grades)].filter((g) => Grade.isOnScale(scale, g)).sort() as Array<Grade.Grade>
