/**
 * TREC qrels and run files, and trec_eval-compatible evaluation of a run against qrels: the same numbers as
 * `trec_eval -q -m ndcg_cut.10 …`, so any result here can be checked with an external tool. Parsing is
 * `@ssra/core`'s `Trec` byte parser (one implementation for the whole project); `evaluateFiles` is the fast path
 * for large files (packed arrays end to end, no `Map` per query).
 *
 * @since 0.1.0
 */

import { Buffer } from "node:buffer"
import { AtomicFile, Trec as CoreTrec } from "@ssra/core"
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import { evaluatePackedRankings } from "./internal/packedRankings.js"
import { gainsOf, QrelsStore, RunBatches } from "./internal/streamingTrec.js"
import * as Metrics from "./Metrics.js"

/**
 * Judgments: query id → document id → grade.
 *
 * @since 0.1.0
 * @category models
 */
export type Qrels = Map<string, Map<string, number>>

/**
 * A run: query id → document id → score.
 *
 * @since 0.1.0
 * @category models
 */
export type Run = Map<string, Map<string, number>>

/**
 * The core TREC reader's error as an evaluation error: duplicates, non-finite scores and out-of-scale grades
 * keep their own reasons, and the entry is named `qid/did`.
 */
const fromReadError = (e: CoreTrec.TrecReadError): EvaluationError =>
  new EvaluationError({
    reason:
      e.kind === "duplicate"
        ? "duplicate-document"
        : e.kind === "non-finite"
          ? "nan-score"
          : e.kind === "grade-range"
            ? "grade-out-of-scale"
            : e.kind === "empty"
              ? "empty"
              : e.kind === "io" || e.kind === "not-found"
                ? "io"
                : "malformed",
    file: e.file,
    ...(e.line !== undefined ? { line: e.line } : {}),
    ...(e.qid !== undefined ? { id: e.did !== undefined ? `${e.qid}/${e.did}` : e.qid } : {}),
    detail: e.detail,
    ...(e.hint !== undefined ? { hint: e.hint } : {})
  })

/**
 * Parses qrels text (`qid iteration docid grade` per line). A repeated (query, document) judgment or a
 * non-integer grade is an error; grades above `maxGrade` (when given) are errors too.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseQrels = (
  text: string,
  file = "<qrels>",
  options: { readonly maxGrade?: number | undefined } = {}
): Effect.Effect<Qrels, EvaluationError> =>
  Effect.suspend(() =>
    Effect.mapBoth(CoreTrec.parseQrelsPacked(Buffer.from(text, "utf8"), file, { maxGrade: options.maxGrade }), {
      onFailure: fromReadError,
      onSuccess: CoreTrec.toMap
    })
  )

/**
 * Parses a run (`qid Q0 docid rank score tag` per line; the rank column is ignored, as trec_eval does). A
 * document listed twice for a query and a score that is not a finite number are errors naming the line.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRun = (text: string, file = "<run>"): Effect.Effect<Run, EvaluationError> =>
  Effect.suspend(() =>
    Effect.mapBoth(CoreTrec.parseRunPacked(Buffer.from(text, "utf8"), file), {
      onFailure: fromReadError,
      onSuccess: CoreTrec.toMap
    })
  )

/**
 * Reads and parses a qrels file (read in blocks straight from bytes: any size).
 *
 * @since 0.1.0
 * @category parsing
 */
export const readQrels = (
  file: string,
  options: { readonly maxGrade?: number | undefined } = {}
): Effect.Effect<Qrels, EvaluationError> =>
  Effect.mapBoth(CoreTrec.readQrelsPacked(file, { maxGrade: options.maxGrade }), {
    onFailure: fromReadError,
    onSuccess: CoreTrec.toMap
  })

/**
 * Reads and parses a run file (read in blocks straight from bytes: any size).
 *
 * @since 0.1.0
 * @category parsing
 */
export const readRun = (file: string): Effect.Effect<Run, EvaluationError> =>
  Effect.mapBoth(CoreTrec.readRunPacked(file), { onFailure: fromReadError, onSuccess: CoreTrec.toMap })

/**
 * Formats a run in TREC format, each query's documents in rank order (trec_eval's order) with 1-based ranks.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatRun = (run: Run, tag = "ssra"): string => {
  let out = ""
  for (const [qid, docs] of run) {
    const ids = [...docs.keys()]
    const scores = Float64Array.from(docs.values())
    const order = Metrics.rankTop(scores, ids)
    order.forEach((i, rank) => {
      out += `${qid} Q0 ${ids[i]} ${rank + 1} ${scores[i]} ${tag}\n`
    })
  }
  return out
}

/**
 * Formats qrels in TREC format.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatQrels = (qrels: Qrels): string => {
  let out = ""
  for (const [qid, docs] of qrels) for (const [did, g] of docs) out += `${qid} 0 ${did} ${g}\n`
  return out
}

/**
 * Writes a run file atomically.
 *
 * @since 0.1.0
 * @category formatting
 */
export const writeRun = (file: string, run: Run, tag = "ssra") =>
  Effect.mapError(
    AtomicFile.writeFile(file, formatRun(run, tag)),
    (e) => new EvaluationError({ reason: "io", file, detail: e.message })
  )

/**
 * A measure name: `ndcg@10`, trec_eval's `ndcg_cut.10` / `ndcg_cut_10`, `map@k` (`map_cut.k`), `recall@k`
 * (`recall.k`), `p@k` (`P.k`, `P_k`), `mrr@k` (`recip_rank_cut.k`), and trec_eval's measures without a cutoff:
 * `map`, `ndcg` and `recip_rank` (over the whole ranking; `k` is `Infinity`). Returns the canonical key
 * (`ndcg_at_10`; `map`, `ndcg`, `recip_rank` for the uncut ones) or `undefined`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseMeasure = (
  name: string
):
  | { readonly family: (typeof Metrics.rankingFamilies)[number]; readonly k: number; readonly key: string }
  | undefined => {
  const uncut = /^(ndcg|map|recip_rank)$/i.exec(name.trim())
  if (uncut) {
    const raw = uncut[1]!.toLowerCase()
    return { family: raw === "recip_rank" ? "mrr" : (raw as "ndcg" | "map"), k: Number.POSITIVE_INFINITY, key: raw }
  }
  const m = /^(ndcg|ndcg_cut|map|map_cut|recall|p|precision|mrr|recip_rank|recip_rank_cut)(?:@|\.|_|_at_)(\d+)$/i.exec(
    name.trim()
  )
  if (!m) return undefined
  const k = Number(m[2])
  if (!(k >= 1)) return undefined
  const raw = m[1]!.toLowerCase()
  const family =
    raw === "ndcg" || raw === "ndcg_cut"
      ? "ndcg"
      : raw === "map" || raw === "map_cut"
        ? "map"
        : raw === "recall"
          ? "recall"
          : raw === "p" || raw === "precision"
            ? "precision"
            : "mrr"
  return { family, k, key: `${family}_at_${k}` }
}

/** trec_eval's default cutoffs of `P`, `recall`, `ndcg_cut` and `map_cut` named without any. */
const trecDefaultCutoffs = [5, 10, 15, 20, 30, 100, 200, 500, 1000]

/**
 * The measures one `-m` argument names, as trec_eval reads it: a single measure (`ndcg@10`, `map`), a comma
 * list of cutoffs (`P.5,10,20`, `ndcg_cut.10,20`) or a cut family without cutoffs (`P`, `recall`, `ndcg_cut`,
 * `map_cut`: trec_eval's defaults 5,10,15,20,30,100,200,500,1000). Unknown names are returned as they are, for
 * the caller's error.
 *
 * @since 0.1.0
 * @category parsing
 */
export const expandMeasure = (name: string): Array<string> => {
  const text = name.trim()
  const list = /^([A-Za-z_]+)([.@_])(\d+(?:,\d+)+)$/.exec(text)
  if (list) return list[3]!.split(",").map((k) => `${list[1]}${list[2]}${k}`)
  if (/^(p|recall|ndcg_cut|map_cut|precision)$/i.test(text)) return trecDefaultCutoffs.map((k) => `${text}.${k}`)
  return [text]
}

/**
 * The trec_eval name of a canonical key (`ndcg_at_10` → `ndcg_cut_10`, `precision_at_5` → `P_5`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const trecName = (key: string): string => {
  const m = /^(\w+)_at_(\d+)$/.exec(key)
  if (!m) return key
  const names: Record<string, string> = {
    ndcg: "ndcg_cut",
    map: "map_cut",
    recall: "recall",
    precision: "P",
    mrr: "recip_rank_cut"
  }
  return `${names[m[1]!] ?? m[1]}_${m[2]}`
}

/**
 * Per-query values and means of a run.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrecEvaluation {
  readonly measures: ReadonlyArray<string>
  readonly queries: ReadonlyArray<string>
  readonly perQuery: Record<string, Float64Array>
  readonly mean: Record<string, number>
  /** Judged queries the run has no documents for (trec_eval skips them; so do we, and we count them). */
  readonly judgedNotInRun: number
  /** Run queries the qrels do not judge, skipped with `unjudged: "skip"` (0 otherwise: they are an error). */
  readonly unjudgedInRun: number
}

type Measure = ReturnType<typeof parseMeasure> & {}

/** Options of `evaluate`, `evaluatePacked` and `evaluateFiles`. */
interface EvaluateOptions {
  readonly measures?: ReadonlyArray<string> | undefined
  readonly runFile?: string | undefined
  readonly relevance?: number | undefined
  /**
   * A run query the qrels do not judge: an error naming it ("error", the default: a wrong qrels file must not pass
   * for a low score) or skipped and counted ("skip", what trec_eval does silently).
   */
  readonly unjudged?: "error" | "skip" | undefined
}

const parseMeasures = (names: ReadonlyArray<string>): Array<Measure> | EvaluationError => {
  const measures: Array<Measure> = []
  const seen = new Set<string>()
  for (const name of names.flatMap(expandMeasure)) {
    const m = parseMeasure(name)
    if (m !== undefined && seen.has(m.key)) continue
    if (m !== undefined) seen.add(m.key)
    if (m === undefined) {
      return new EvaluationError({
        reason: "malformed",
        id: name,
        detail: `unknown measure "${name}"`,
        hint: "use ndcg@k, map@k, recall@k, p@k, mrr@k, or trec_eval's names: map, ndcg, recip_rank, P.k, recall.k, ndcg_cut.k, map_cut.k"
      })
    }
    measures.push(m)
  }
  return measures
}

const unknownQuery = (qid: string, runFile: string | undefined, line?: number) =>
  new EvaluationError({
    reason: "unknown-query",
    ...(runFile === undefined ? {} : { file: runFile }),
    ...(line === undefined ? {} : { line }),
    id: qid,
    detail: "query is in the run but has no judgments in the qrels",
    hint: 'evaluate against the qrels of the same test set, or skip the run\'s unjudged queries (--skip-unjudged, unjudged: "skip"), which trec_eval does silently'
  })

/**
 * The cutoff at which a measure without one (`map`, `ndcg`, `recip_rank`) is complete: no query ranks or judges
 * more documents.
 */
const longestList = (offsets: Uint32Array, judgedOffsets: Uint32Array): number => {
  let longest = 1
  for (let q = 0; q + 1 < offsets.length; q++) {
    longest = Math.max(longest, offsets[q + 1]! - offsets[q]!, judgedOffsets[q + 1]! - judgedOffsets[q]!)
  }
  return longest
}

const summarize = (
  evaluateAt: (cutoffs: ReadonlyArray<number>) => Record<string, Float64Array>,
  full: () => number,
  measures: ReadonlyArray<Measure>,
  queries: ReadonlyArray<string>,
  judgedNotInRun: number,
  unjudgedInRun = 0
): TrecEvaluation => {
  const uncut = measures.some((m) => m.k === Number.POSITIVE_INFINITY) ? full() : 0
  const at = (m: Measure) => (m.k === Number.POSITIVE_INFINITY ? uncut : m.k)
  const all = evaluateAt([...new Set(measures.map(at))])
  const perQuery: Record<string, Float64Array> = {}
  const mean: Record<string, number> = {}
  for (const m of measures) {
    const values = all[`${m.family}_at_${at(m)}`]!
    perQuery[m.key] = values
    let s = 0
    for (let i = 0; i < values.length; i++) s += values[i]!
    mean[m.key] = s / values.length
  }
  return { measures: measures.map((m) => m.key), queries, perQuery, mean, judgedNotInRun, unjudgedInRun }
}

/**
 * Evaluates a run against qrels like `trec_eval -q`: every run query must be judged (an unknown query id is an
 * error naming `runFile` and the id), judged queries missing from the run are skipped and counted, and each
 * measure is averaged over the run's queries (all-zero-judgment queries score 0 and count).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (
  qrels: Qrels,
  run: Run,
  options: EvaluateOptions = {}
): Effect.Effect<TrecEvaluation, EvaluationError> =>
  Effect.suspend(() => {
    const measures = parseMeasures(options.measures ?? ["ndcg@10"])
    if (measures instanceof EvaluationError) return Effect.fail(measures)
    const all = [...run.keys()]
    const queries = options.unjudged === "skip" ? all.filter((qid) => qrels.has(qid)) : all
    let positions = 0
    let judged = 0
    for (const qid of queries) {
      const j = qrels.get(qid)
      if (j === undefined) return Effect.fail(unknownQuery(qid, options.runFile))
      positions += run.get(qid)!.size
      judged += j.size
    }
    const offsets = new Uint32Array(queries.length + 1)
    const judgedOffsets = new Uint32Array(queries.length + 1)
    const scores = new Float64Array(positions)
    const gains = new Float64Array(positions)
    const judgedGains = new Float64Array(judged)
    const ids: Array<string> = new Array(positions)
    let p = 0
    let jp = 0
    queries.forEach((qid, q) => {
      const j = qrels.get(qid)!
      for (const [did, score] of run.get(qid)!) {
        ids[p] = did
        scores[p] = score
        gains[p] = j.get(did) ?? 0
        p++
      }
      for (const g of j.values()) judgedGains[jp++] = g
      offsets[q + 1] = p
      judgedOffsets[q + 1] = jp
    })
    let judgedNotInRun = 0
    for (const qid of qrels.keys()) if (!run.has(qid)) judgedNotInRun++
    return Effect.succeed(
      summarize(
        (cutoffs) =>
          Metrics.evaluateRankings(
            { offsets, scores, ids, gains, judgedOffsets, judgedGains },
            cutoffs,
            options.relevance ?? 1
          ),
        () => longestList(offsets, judgedOffsets),
        measures,
        queries,
        judgedNotInRun,
        all.length - queries.length
      )
    )
  })

/**
 * `evaluate` over packed qrels and a packed run (`@ssra/core`'s `Trec.readQrelsPacked` / `readRunPacked`): the
 * same semantics and bit-identical numbers, without a `Map` entry per document. Pass the qrels' `documents` to
 * the run reader (`{ documents: qrels.documents }`) to skip translating document ids.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluatePacked = (
  qrels: CoreTrec.Packed,
  runIn: CoreTrec.Packed,
  options: EvaluateOptions = {}
): Effect.Effect<TrecEvaluation, EvaluationError> =>
  Effect.suspend(() => {
    const measures = parseMeasures(options.measures ?? ["ndcg@10"])
    if (measures instanceof EvaluationError) return Effect.fail(measures)
    const judgedIndex = new Map<string, number>()
    for (let j = 0; j < qrels.queries.length; j++) judgedIndex.set(qrels.queries[j]!, j)
    const unjudgedInRun =
      options.unjudged === "skip" ? runIn.queries.reduce((n, q) => n + (judgedIndex.has(q) ? 0 : 1), 0) : 0
    const run = unjudgedInRun > 0 ? onlyQueries(runIn, (q) => judgedIndex.has(q)) : runIn
    const queries = run.queries
    const nq = queries.length
    // run query → qrels query, and whether the qrels hold exactly the run's queries in the same order
    const toJudged = new Uint32Array(nq)
    let aligned = qrels.queries.length === nq
    let judged = 0
    for (let q = 0; q < nq; q++) {
      const j = judgedIndex.get(queries[q]!)
      if (j === undefined) return Effect.fail(unknownQuery(queries[q]!, options.runFile, run.lineOf(run.offsets[q]!)))
      toJudged[q] = j
      if (j !== q) aligned = false
      judged += qrels.offsets[j + 1]! - qrels.offsets[j]!
    }
    // run document id → qrels document id (identity when both share one `DocumentIds`)
    const shared = run.documents === qrels.documents
    const translate = shared ? undefined : new Int32Array(run.documents.size)
    if (translate !== undefined) {
      const strings = run.documents.strings
      for (let d = 0; d < translate.length; d++) translate[d] = qrels.documents.idOf(strings[d]!)
    }
    const positions = run.docs.length
    const gains = new Float64Array(positions)
    const runStrings = run.documents.strings
    const stamp = new Int32Array(qrels.documents.size)
    const gainOf = new Float64Array(qrels.documents.size)
    for (let q = 0; q < nq; q++) {
      const j = toJudged[q]!
      for (let p = qrels.offsets[j]!; p < qrels.offsets[j + 1]!; p++) {
        stamp[qrels.docs[p]!] = q + 1
        gainOf[qrels.docs[p]!] = qrels.values[p]!
      }
      for (let p = run.offsets[q]!; p < run.offsets[q + 1]!; p++) {
        const did = run.docs[p]!
        const d = translate === undefined ? did : translate[did]!
        gains[p] = d >= 0 && stamp[d] === q + 1 ? gainOf[d]! : 0
      }
    }
    let judgedOffsets: Uint32Array
    let judgedGains: Float64Array
    if (aligned) {
      judgedOffsets = qrels.offsets
      judgedGains = qrels.values
    } else {
      judgedOffsets = new Uint32Array(nq + 1)
      judgedGains = new Float64Array(judged)
      let jp = 0
      for (let q = 0; q < nq; q++) {
        const j = toJudged[q]!
        judgedGains.set(qrels.values.subarray(qrels.offsets[j]!, qrels.offsets[j + 1]!), jp)
        jp += qrels.offsets[j + 1]! - qrels.offsets[j]!
        judgedOffsets[q + 1] = jp
      }
    }
    return Effect.succeed(
      summarize(
        (cutoffs) =>
          evaluatePackedRankings(
            {
              offsets: run.offsets,
              scores: run.values,
              docs: run.docs,
              strings: runStrings,
              gains,
              judgedOffsets,
              judgedGains
            },
            cutoffs,
            options.relevance ?? 1
          ),
        () => longestList(run.offsets, judgedOffsets),
        measures,
        queries,
        qrels.queries.length - nq,
        unjudgedInRun
      )
    )
  })

/** A packed run restricted to the queries `keep` accepts (same documents table; lines still those of the file). */
const onlyQueries = (run: CoreTrec.Packed, keep: (qid: string) => boolean): CoreTrec.Packed => {
  const kept: Array<number> = []
  let positions = 0
  for (let q = 0; q < run.queries.length; q++) {
    if (!keep(run.queries[q]!)) continue
    kept.push(q)
    positions += run.offsets[q + 1]! - run.offsets[q]!
  }
  const offsets = new Uint32Array(kept.length + 1)
  const docs = new Uint32Array(positions)
  const values = new Float64Array(positions)
  const origin = new Uint32Array(positions)
  let p = 0
  kept.forEach((q, i) => {
    for (let s = run.offsets[q]!; s < run.offsets[q + 1]!; s++, p++) {
      docs[p] = run.docs[s]!
      values[p] = run.values[s]!
      origin[p] = s
    }
    offsets[i + 1] = p
  })
  return {
    file: run.file,
    queries: kept.map((q) => run.queries[q]!),
    offsets,
    docs,
    values,
    lineOf: (position) => run.lineOf(origin[position]!),
    documents: run.documents
  }
}

/**
 * `evaluateFiles` on files grouped by query, in bounded memory (`internal/streamingTrec.ts`): `undefined` when
 * either file is not grouped (the caller then takes the packed path).
 */
const evaluateGroupedFiles = (
  qrelsFile: string,
  runFile: string,
  options: EvaluateFilesOptions
): Effect.Effect<TrecEvaluation | undefined, EvaluationError> =>
  Effect.gen(function* () {
    const measures = parseMeasures(options.measures ?? ["ndcg@10"])
    if (measures instanceof EvaluationError) return yield* measures
    const store = new QrelsStore()
    const grouped = yield* Effect.mapError(
      CoreTrec.streamQueries<never>("qrels", qrelsFile, (group) => void store.add(group), {
        maxGrade: options.maxGrade
      }),
      fromReadError
    )
    if (!grouped) return undefined
    const batches = new RunBatches(measures, options.relevance ?? 1)
    const table = CoreTrec.makeDocumentIds({ keepStrings: false })
    const seen = new Uint8Array(store.queries)
    const queries: Array<string> = []
    let unjudgedInRun = 0
    let scratch = new Float64Array(1024)
    const runGrouped = yield* CoreTrec.streamQueries("run", runFile, (group): EvaluationError | undefined => {
      const j = store.index.get(group.qid)
      if (j === undefined) {
        if (options.unjudged !== "skip") return unknownQuery(group.qid, runFile, group.line)
        unjudgedInRun++
        return undefined
      }
      seen[j] = 1
      queries.push(group.qid)
      const grades = store.judgments(j, table)
      if (scratch.length < group.size) scratch = new Float64Array(group.size)
      batches.add(group, gainsOf(group, table, grades, scratch), grades)
      return undefined
    }).pipe(Effect.mapError((e) => (e instanceof EvaluationError ? e : fromReadError(e))))
    if (!runGrouped) return undefined
    batches.flush()
    const perQuery: Record<string, Float64Array> = {}
    const mean: Record<string, number> = {}
    for (const m of measures) {
      const values = batches.out[m.key]!.values()
      perQuery[m.key] = values
      let sum = 0
      for (let i = 0; i < values.length; i++) sum += values[i]!
      mean[m.key] = sum / values.length
    }
    const judgedNotInRun = seen.reduce((n, v) => n + (v === 0 ? 1 : 0), 0)
    return { measures: measures.map((m) => m.key), queries, perQuery, mean, judgedNotInRun, unjudgedInRun }
  })

/** Options of `evaluateFiles`. */
interface EvaluateFilesOptions {
  readonly measures?: ReadonlyArray<string> | undefined
  readonly relevance?: number | undefined
  readonly maxGrade?: number | undefined
  readonly unjudged?: "error" | "skip" | undefined
}

/**
 * Evaluates a run file against a qrels file like `trec_eval -q qrels run`, the fast path for large files. Files
 * grouped by query (each query's lines contiguous, as trec_eval and most tools write them) are streamed: the
 * qrels kept as id bytes + grades, the run read and scored query by query, so memory is about the qrels' ids
 * and grades (≈ 210 MB for 10M judgments with unique ids) whatever the run's size. Other files are parsed
 * straight from bytes into packed arrays, then `evaluatePacked`. Same numbers either way, bit for bit. Errors name
 * the file, line and `qid/did`.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluateFiles = (
  qrelsFile: string,
  runFile: string,
  options: EvaluateFilesOptions = {}
): Effect.Effect<TrecEvaluation, EvaluationError> =>
  Effect.gen(function* () {
    const streamed = yield* evaluateGroupedFiles(qrelsFile, runFile, options)
    if (streamed !== undefined) return streamed
    const qrels = yield* Effect.mapError(
      CoreTrec.readQrelsPacked(qrelsFile, { maxGrade: options.maxGrade }),
      fromReadError
    )
    const run = yield* Effect.mapError(CoreTrec.readRunPacked(runFile, { documents: qrels.documents }), fromReadError)
    return yield* evaluatePacked(qrels, run, {
      measures: options.measures,
      relevance: options.relevance,
      runFile,
      unjudged: options.unjudged
    })
  })
