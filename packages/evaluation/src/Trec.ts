/**
 * TREC qrels and run files, and trec_eval-compatible evaluation of a run against qrels: the same numbers as
 * `trec_eval -q -m ndcg_cut.10 …`, so any result here can be checked with an external tool.
 *
 * @since 0.1.0
 */

import { AtomicFile } from "@ssra/core"
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import { forEachChunk, forEachLine, splitFields } from "./internal/textLines.js"
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
 * A streaming qrels parser: feed it text (whole lines), then `finish`.
 */
const qrelsParser = (file: string, options: { readonly maxGrade?: number | undefined }) => {
  const qrels: Qrels = new Map()
  const bounds = new Int32Array(10)
  let failure: EvaluationError | undefined
  let lastQid = ""
  let docs: Map<string, number> | undefined
  const onLine = (text: string, start: number, end: number, line: number) => {
    if (failure !== undefined) return
    const count = splitFields(text, start, end, bounds)
    if (count === 0) return
    if (count !== 4) {
      failure = new EvaluationError({
        reason: "malformed",
        file,
        line,
        detail: `expected 4 fields "qid iter docid grade", got ${count}`
      })
      return
    }
    const qidLength = bounds[1]! - bounds[0]!
    if (docs === undefined || qidLength !== lastQid.length || !text.startsWith(lastQid, bounds[0]!)) {
      lastQid = text.slice(bounds[0]!, bounds[1]!)
      docs = qrels.get(lastQid)
      if (docs === undefined) qrels.set(lastQid, (docs = new Map()))
    }
    const did = text.slice(bounds[4]!, bounds[5]!)
    const gradeText = text.slice(bounds[6]!, bounds[7]!)
    const grade = Number(gradeText)
    if (!Number.isInteger(grade)) {
      failure = new EvaluationError({
        reason: "malformed",
        file,
        line,
        id: `${lastQid}/${did}`,
        detail: `grade "${gradeText}" is not an integer`
      })
      return
    }
    if (grade < 0 || (options.maxGrade !== undefined && grade > options.maxGrade)) {
      failure = new EvaluationError({
        reason: "grade-out-of-scale",
        file,
        line,
        id: `${lastQid}/${did}`,
        detail: `grade ${grade} is outside 0..${options.maxGrade ?? "∞"}`
      })
      return
    }
    if (docs.has(did)) {
      failure = new EvaluationError({
        reason: "duplicate-document",
        file,
        line,
        id: `${lastQid}/${did}`,
        detail: "document judged twice for the same query"
      })
      return
    }
    docs.set(did, grade)
  }
  const finish = (): Effect.Effect<Qrels, EvaluationError> => {
    if (failure !== undefined) return Effect.fail(failure)
    if (qrels.size === 0) return Effect.fail(new EvaluationError({ reason: "empty", file, detail: "no judgments" }))
    return Effect.succeed(qrels)
  }
  return { onLine, finish, failed: () => failure !== undefined }
}

/**
 * A streaming run parser (the rank column is ignored, as trec_eval does).
 */
const runParser = (file: string) => {
  const run: Run = new Map()
  const bounds = new Int32Array(14)
  let failure: EvaluationError | undefined
  let lastQid = ""
  let docs: Map<string, number> | undefined
  const onLine = (text: string, start: number, end: number, line: number) => {
    if (failure !== undefined) return
    const count = splitFields(text, start, end, bounds)
    if (count === 0) return
    if (count !== 6) {
      failure = new EvaluationError({
        reason: "malformed",
        file,
        line,
        detail: `expected 6 fields "qid Q0 docid rank score tag", got ${count}`
      })
      return
    }
    const qidLength = bounds[1]! - bounds[0]!
    if (docs === undefined || qidLength !== lastQid.length || !text.startsWith(lastQid, bounds[0]!)) {
      lastQid = text.slice(bounds[0]!, bounds[1]!)
      docs = run.get(lastQid)
      if (docs === undefined) run.set(lastQid, (docs = new Map()))
    }
    const did = text.slice(bounds[4]!, bounds[5]!)
    const scoreText = text.slice(bounds[8]!, bounds[9]!)
    const score = Number(scoreText)
    if (!Number.isFinite(score)) {
      failure = new EvaluationError({
        reason: "nan-score",
        file,
        line,
        id: `${lastQid}/${did}`,
        detail: `score "${scoreText}" is not a finite number`
      })
      return
    }
    if (docs.has(did)) {
      failure = new EvaluationError({
        reason: "duplicate-document",
        file,
        line,
        id: `${lastQid}/${did}`,
        detail: "document listed twice for the same query",
        hint: "a run ranks each document once per query"
      })
      return
    }
    docs.set(did, score)
  }
  const finish = (): Effect.Effect<Run, EvaluationError> => {
    if (failure !== undefined) return Effect.fail(failure)
    if (run.size === 0)
      return Effect.fail(new EvaluationError({ reason: "empty", file, detail: "no ranked documents" }))
    return Effect.succeed(run)
  }
  return { onLine, finish, failed: () => failure !== undefined }
}

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
  Effect.suspend(() => {
    const parser = qrelsParser(file, options)
    forEachLine(text, 1, parser.onLine)
    return parser.finish()
  })

/**
 * Parses a run (`qid Q0 docid rank score tag` per line; the rank column is ignored, as trec_eval does). A
 * document listed twice for a query and a score that is not a finite number are errors naming the line.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRun = (text: string, file = "<run>"): Effect.Effect<Run, EvaluationError> =>
  Effect.suspend(() => {
    const parser = runParser(file)
    forEachLine(text, 1, parser.onLine)
    return parser.finish()
  })

const readWith = <A>(
  file: string,
  parser: { onLine: Parameters<typeof forEachLine>[2]; finish: () => Effect.Effect<A, EvaluationError> }
) =>
  Effect.flatMap(
    Effect.try({
      try: () => forEachChunk(file, (text, firstLine) => forEachLine(text, firstLine, parser.onLine)),
      catch: (cause) =>
        new EvaluationError({
          reason: "io",
          file,
          detail: `cannot read: ${(cause as Error).message}`,
          hint: "check the path"
        })
    }),
    () => parser.finish()
  )

/**
 * Reads and parses a qrels file (streamed in blocks: any size).
 *
 * @since 0.1.0
 * @category parsing
 */
export const readQrels = (file: string, options: { readonly maxGrade?: number | undefined } = {}) =>
  readWith(file, qrelsParser(file, options))

/**
 * Reads and parses a run file (streamed in blocks: any size).
 *
 * @since 0.1.0
 * @category parsing
 */
export const readRun = (file: string) => readWith(file, runParser(file))

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
 * (`recall.k`), `p@k` (`P.k`), `mrr@k`. Returns the canonical key (`ndcg_at_10`) or `undefined`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseMeasure = (
  name: string
):
  | { readonly family: (typeof Metrics.rankingFamilies)[number]; readonly k: number; readonly key: string }
  | undefined => {
  const m = /^(ndcg|ndcg_cut|map|map_cut|recall|p|precision|mrr|recip_rank)(?:@|\.|_|_at_)(\d+)$/i.exec(name.trim())
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
  options: {
    readonly measures?: ReadonlyArray<string> | undefined
    readonly runFile?: string | undefined
    readonly relevance?: number | undefined
  } = {}
): Effect.Effect<TrecEvaluation, EvaluationError> =>
  Effect.suspend(() => {
    const names = options.measures ?? ["ndcg@10"]
    const measures: Array<ReturnType<typeof parseMeasure> & {}> = []
    for (const name of names) {
      const m = parseMeasure(name)
      if (m === undefined) {
        return Effect.fail(
          new EvaluationError({
            reason: "malformed",
            id: name,
            detail: `unknown measure "${name}"`,
            hint: "use ndcg@k, map@k, recall@k, p@k or mrr@k (or trec_eval's ndcg_cut.k)"
          })
        )
      }
      measures.push(m)
    }
    const queries = [...run.keys()]
    let positions = 0
    let judged = 0
    for (const qid of queries) {
      const j = qrels.get(qid)
      if (j === undefined) {
        return Effect.fail(
          new EvaluationError({
            reason: "unknown-query",
            ...(options.runFile === undefined ? {} : { file: options.runFile }),
            id: qid,
            detail: "query is in the run but has no judgments in the qrels",
            hint: "evaluate against the qrels of the same test set"
          })
        )
      }
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
    const cutoffs = [...new Set(measures.map((m) => m.k))]
    const all = Metrics.evaluateRankings(
      { offsets, scores, ids, gains, judgedOffsets, judgedGains },
      cutoffs,
      options.relevance ?? 1
    )
    const perQuery: Record<string, Float64Array> = {}
    const mean: Record<string, number> = {}
    for (const m of measures) {
      const values = all[m.key]!
      perQuery[m.key] = values
      let s = 0
      for (let i = 0; i < values.length; i++) s += values[i]!
      mean[m.key] = s / values.length
    }
    let judgedNotInRun = 0
    for (const qid of qrels.keys()) if (!run.has(qid)) judgedNotInRun++
    return Effect.succeed({ measures: measures.map((m) => m.key), queries, perQuery, mean, judgedNotInRun })
  })
