/**
 * Runs a suite: every system on every dataset with every evaluator, then writes the results in MTEB's layout,
 * a suite `results.json`, TREC run files, a Markdown summary and one self-contained HTML report (with the
 * paired comparisons against the first system).
 *
 * @since 0.1.0
 */

import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { AtomicFile, Hash, Jsonl, type Models, Pair } from "@ssra/core"
import {
  Comparison,
  EvaluationError,
  type EvaluationResult,
  PairClassificationEvaluator,
  Report,
  ResultFile,
  RetrievalEvaluator,
  Statistics,
  Trec
} from "@ssra/evaluation"
import { Clock, Effect } from "effect"
import type { HttpClient } from "effect/http"
import type * as Suite from "./Suite.js"
import * as Systems from "./Systems.js"

/**
 * What a run wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunSummary {
  readonly output: string
  readonly files: ReadonlyArray<string>
  readonly results: ReadonlyArray<ResultFile.TaskResult>
  readonly deltas: ReadonlyArray<Comparison.Delta>
  readonly markdown: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly output?: string | undefined
  readonly resamples?: number | undefined
  readonly permutations?: number | undefined
  readonly log?: ((line: string) => Effect.Effect<void>) | undefined
}

const ioError = (file: string) => (e: { readonly message: string }) =>
  new EvaluationError.EvaluationError({ reason: "io", file, detail: e.message })

const loadRows = (file: string) =>
  Effect.mapError(
    Jsonl.readAll(file, Pair.LabeledPair),
    (e) =>
      new EvaluationError.EvaluationError({
        reason: e.reason === "empty" ? "empty" : "malformed",
        file,
        detail: e.message
      })
  )

/**
 * Whether an embedder can be evaluated at `dimensions` (the SSRA preset's 128): it must be larger, and when it
 * declares its Matryoshka sizes (a DualEncoder's `config.matryoshkaDimensions`), one of them.
 */
const supportsDimensions = (embedder: Models.TextEmbedder, dimensions: number | undefined): dimensions is number => {
  if (dimensions === undefined || embedder.dimensions <= dimensions) return false
  const nested = (embedder as { readonly config?: { readonly matryoshkaDimensions?: ReadonlyArray<number> } }).config
    ?.matryoshkaDimensions
  return nested === undefined || nested.includes(dimensions)
}

/** Checks the retrieval rows against TREC qrels: same queries, same documents, same grades. */
const crossCheckQrels = (
  rows: ReadonlyArray<Pair.LabeledPair>,
  qrelsFile: string,
  rowsFile: string,
  maxGrade: number | undefined
) =>
  Effect.gen(function* () {
    const qrels = yield* Trec.readQrels(qrelsFile, { maxGrade })
    for (const r of rows) {
      const judged = qrels.get(r.qid)
      if (judged === undefined) {
        return yield* new EvaluationError.EvaluationError({
          reason: "unknown-query",
          file: rowsFile,
          id: r.qid,
          detail: `query has no judgments in ${qrelsFile}`
        })
      }
      const g = judged.get(r.did)
      if (g !== r.label) {
        return yield* new EvaluationError.EvaluationError({
          reason: "mismatch",
          file: rowsFile,
          id: `${r.qid}/${r.did}`,
          detail: g === undefined ? `document is not judged in ${qrelsFile}` : `label ${r.label} but the qrels say ${g}`
        })
      }
    }
    const inRows = new Set(rows.map((r) => r.qid))
    return [...qrels.keys()].filter((q) => !inRows.has(q)).length
  })

/** What every evaluation of a run shares: the suite, its resolved settings and the systems built from it. */
interface RunContext {
  readonly loaded: Suite.LoadedSuite
  readonly log: (line: string) => Effect.Effect<void>
  readonly output: string
  readonly preset: NonNullable<Suite.Suite["preset"]>
  readonly seed: number
  readonly resamples: number
  readonly systems: ReadonlyArray<Systems.ReadySystem>
}

type Dataset = Suite.Suite["datasets"][number]

/** The short content hash of a rows file that names the dataset revision in the results. */
const revisionOf = (rows: ReadonlyArray<Pair.LabeledPair>) =>
  Hash.sha256(rows.map((r) => `${r.qid}\t${r.did}\t${r.label}`).join("\n")).slice(0, 16)

/** Writes the TREC run of a retrieval evaluation's queries, so external tools can reproduce the numbers. */
const writeTrecRun = (
  output: string,
  system: Systems.ReadySystem,
  dataset: Dataset,
  rows: ReadonlyArray<Pair.LabeledPair>,
  result: EvaluationResult.EvaluationResult,
  scores: ReadonlyArray<number>
) =>
  Effect.gen(function* () {
    const kept = new Set(result.perUnit?.ids ?? [])
    const trecRun: Trec.Run = new Map()
    rows.forEach((r, i) => {
      if (!kept.has(r.qid)) return
      let docs = trecRun.get(r.qid)
      if (docs === undefined) trecRun.set(r.qid, (docs = new Map()))
      docs.set(r.did, scores[i]!)
    })
    const runFile = join(output, "runs", system.name, `${dataset.name}.trec`)
    yield* Effect.try({
      try: () => mkdirSync(join(output, "runs", system.name), { recursive: true }),
      catch: (e) => ioError(runFile)(e as Error)
    })
    yield* Trec.writeRun(runFile, trecRun, system.name)
    return runFile
  })

/** Every system on a dataset's retrieval rows: appends the task results and the TREC run files written. */
const evaluateRetrieval = (
  ctx: RunContext,
  dataset: Dataset,
  file: string,
  results: Array<ResultFile.TaskResult>,
  files: Array<string>
) =>
  Effect.gen(function* () {
    const { loaded, log, preset, resamples, seed } = ctx
    const { suite } = loaded
    const scale = dataset.grades === undefined ? undefined : { max: dataset.grades }
    const rows = yield* loadRows(file)
    const revision = revisionOf(rows)
    const extraNotes: Array<string> = []
    if (dataset.qrels !== undefined) {
      const unmatched = yield* crossCheckQrels(rows, loaded.resolve(dataset.qrels), file, dataset.grades)
      if (unmatched > 0) extraNotes.push(`${unmatched} judged queries of the qrels are not in the retrieval file`)
    }
    for (const system of ctx.systems) {
      let captured: ReadonlyArray<number> = []
      const scorer: typeof system.scorer = (pairs) =>
        Effect.tap(system.scorer(pairs), (s) => Effect.sync(() => (captured = s)))
      const t0 = yield* Clock.currentTimeMillis
      const result: EvaluationResult.EvaluationResult = yield* RetrievalEvaluator.evaluate({
        name: `${dataset.name}-retrieval`,
        rows,
        scorer,
        file,
        scale,
        ...(preset === "ssra" ? RetrievalEvaluator.ssraPreset : {}),
        ...(suite.retrieval ?? {})
      })
      const t1 = yield* Clock.currentTimeMillis
      yield* log(
        `${system.name} · ${result.name}: ${result.primaryMetric} ${result.primary?.toFixed(4) ?? "n/a"} (${result.counts?.queries} queries)`
      )
      const withNotes = {
        ...result,
        notes: [...(result.notes ?? []), ...extraNotes],
        config: { ...result.config, system: system.description }
      }
      results.push(
        ResultFile.fromEvaluation(withNotes, {
          modelName: system.name,
          dataset: dataset.name,
          datasetRevision: revision,
          evaluationTime: (t1 - t0) / 1000,
          intervals: Statistics.resultIntervals(result, { resamples, seed })
        })
      )
      files.push(yield* writeTrecRun(ctx.output, system, dataset, rows, result, captured))
    }
  })

/** Every system on a dataset's pair-classification rows: appends the task results. */
const evaluatePairs = (ctx: RunContext, dataset: Dataset, file: string, results: Array<ResultFile.TaskResult>) =>
  Effect.gen(function* () {
    const { loaded, log, preset, resamples, seed } = ctx
    const scale = dataset.grades === undefined ? undefined : { max: dataset.grades }
    const rows = yield* loadRows(file)
    const revision = revisionOf(rows)
    const pc = loaded.suite.pairClassification ?? {}
    for (const system of ctx.systems) {
      const wantDims =
        pc.dimensions === undefined ? (preset === "ssra" ? 128 : undefined) : (pc.dimensions ?? undefined)
      const t0 = yield* Clock.currentTimeMillis
      const result = yield* PairClassificationEvaluator.evaluate({
        name: `${dataset.name}-pairs`,
        rows,
        file,
        scale,
        ...(system.embedder === undefined
          ? { scorer: system.scorer }
          : {
              embedder: system.embedder,
              dimensions: supportsDimensions(system.embedder, wantDims) ? wantDims : undefined
            }),
        ...(pc.balanced === undefined ? {} : { balanced: pc.balanced }),
        ...(pc.instructions === undefined ? {} : { instructions: pc.instructions })
      })
      const t1 = yield* Clock.currentTimeMillis
      yield* log(
        `${system.name} · ${result.name}: AP@≥1/2/3 ${["ap_ge_1", "ap_ge_2", "ap_ge_3"].map((k) => result.metrics[k]?.toFixed(4) ?? "n/a").join(" / ")}`
      )
      results.push(
        ResultFile.fromEvaluation(
          { ...result, config: { ...result.config, system: system.description } },
          {
            modelName: system.name,
            dataset: dataset.name,
            datasetRevision: revision,
            evaluationTime: (t1 - t0) / 1000,
            intervals: Statistics.resultIntervals(result, { resamples, seed })
          }
        )
      )
    }
  })

/**
 * Writes the run's reports — MTEB's layout, the suite `results.json`, `comparisons.json` when there are deltas,
 * `summary.md` and `report.html` — appending their paths to `files`; returns the Markdown summary.
 */
const writeReports = (
  ctx: RunContext,
  results: ReadonlyArray<ResultFile.TaskResult>,
  deltas: ReadonlyArray<Comparison.Delta>,
  started: number,
  files: Array<string>
) =>
  Effect.gen(function* () {
    const { suite } = ctx.loaded
    const output = ctx.output
    const created = new Date(started).toISOString()
    const title = suite.title ?? `ssra-eval: ${suite.name}`
    files.push(...(yield* ResultFile.writeMtebLayout(join(output, "results"), results)))
    const suiteFile = join(output, "results.json")
    yield* ResultFile.writeJson(suiteFile, {
      suite: suite.name,
      created,
      systems: ctx.systems.map((s) => s.name),
      datasets: suite.datasets.map((d) => d.name),
      results
    } satisfies ResultFile.SuiteResults)
    files.push(suiteFile)
    if (deltas.length > 0) {
      const deltaFile = join(output, "comparisons.json")
      yield* ResultFile.writeJson(deltaFile, deltas)
      files.push(deltaFile)
    }
    const markdown = Report.markdown({ title, created, results, deltas })
    const mdFile = join(output, "summary.md")
    yield* Effect.mapError(AtomicFile.writeFile(mdFile, markdown), ioError(mdFile))
    const htmlFile = join(output, "report.html")
    yield* Effect.mapError(
      AtomicFile.writeFile(htmlFile, Report.html({ title, created, results, deltas })),
      ioError(htmlFile)
    )
    files.push(mdFile, htmlFile)
    return markdown
  })

/**
 * Runs the suite and writes everything under the output directory (default `<suite dir>/eval-out/<suite name>`).
 * Needs an `HttpClient` only for remote systems (provide `NodeHttpClient.layerUndici` around the whole run).
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  loaded: Suite.LoadedSuite,
  options: RunOptions = {}
): Effect.Effect<RunSummary, EvaluationError.EvaluationError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { suite } = loaded
    const output = options.output ?? loaded.resolve(suite.output ?? join("eval-out", suite.name))
    const evaluators = suite.evaluators ?? ["retrieval", "pair-classification"]
    const seed = suite.seed ?? 0
    const resamples = options.resamples ?? suite.bootstrap?.resamples ?? 2000
    const permutations = options.permutations ?? suite.bootstrap?.permutations ?? 10000
    const started = yield* Clock.currentTimeMillis
    const systems: Array<Systems.ReadySystem> = []
    for (const s of suite.systems) systems.push(yield* Systems.build(s, loaded.resolve))
    const ctx: RunContext = {
      loaded,
      log: options.log ?? (() => Effect.void),
      output,
      preset: suite.preset ?? "ssra",
      seed,
      resamples,
      systems
    }
    const results: Array<ResultFile.TaskResult> = []
    const files: Array<string> = []
    for (const dataset of suite.datasets) {
      if (evaluators.includes("retrieval") && dataset.retrieval !== undefined)
        yield* evaluateRetrieval(ctx, dataset, loaded.resolve(dataset.retrieval), results, files)
      if (evaluators.includes("pair-classification") && dataset.pairs !== undefined)
        yield* evaluatePairs(ctx, dataset, loaded.resolve(dataset.pairs), results)
    }
    if (results.length === 0) {
      return yield* new EvaluationError.EvaluationError({
        reason: "empty",
        file: loaded.file,
        detail: "the suite selects no evaluation (check datasets and evaluators)"
      })
    }
    const deltas = systems.length >= 2 ? yield* Comparison.compare(results, { resamples, permutations, seed }) : []
    const markdown = yield* writeReports(ctx, results, deltas, started, files)
    return { output, files, results, deltas, markdown }
  })
