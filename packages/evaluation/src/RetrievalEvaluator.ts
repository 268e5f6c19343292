/**
 * Retrieval evaluation by reranking each query's judged candidates (the SSRA protocol): score every
 * (query, candidate) pair, rank per query trec_eval-style, report nDCG/MAP/Recall/P/MRR at cutoffs, with
 * per-query values kept for paired statistics.
 *
 * @since 0.1.0
 */
import { Grade } from "@ssra/core"
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import type { EvaluationResult } from "./EvaluationResult.js"
import type { GradedRow } from "./internal/rows.js"
import { scoreRows, validateGrades } from "./internal/rows.js"
import * as Metrics from "./Metrics.js"
import type { PairScorer } from "./PairScorer.js"
import { withInstructions } from "./PairScorer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RetrievalOptions {
  readonly name: string
  readonly rows: ReadonlyArray<GradedRow>
  readonly scorer: PairScorer
  /** The grade scale (default: inferred from the labels). Labels off the scale are errors. */
  readonly scale?: Grade.GradeScale | undefined
  /** The file the rows came from, for error messages. */
  readonly file?: string | undefined
  /** Queries with fewer judged candidates are dropped and counted (SSRA preset: 10). Default 1. */
  readonly minCandidates?: number | undefined
  readonly cutoffs?: ReadonlyArray<number> | undefined
  /** Default `ndcg_at_10`. */
  readonly primaryMetric?: string | undefined
  readonly instructions?: { readonly query?: string | undefined; readonly document?: string | undefined } | undefined
  /** Grade at which a document counts as relevant for MAP/Recall/P/MRR (default 1). */
  readonly relevance?: number | undefined
}

/**
 * The SSRA retrieval preset: queries with < 10 judged candidates dropped, nDCG@10 primary (nDCG@5 reported).
 *
 * @since 0.1.0
 * @category presets
 */
export const ssraPreset = { minCandidates: 10, primaryMetric: "ndcg_at_10", cutoffs: [1, 3, 5, 10, 20] } as const

/**
 * Scores all rows in one scorer call (so BM25's IDF comes from the whole file's titles), then evaluates the
 * queries that have at least `minCandidates` candidates.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (options: RetrievalOptions): Effect.Effect<EvaluationResult, EvaluationError> =>
  Effect.gen(function* () {
    const { rows, file } = options
    const scale = options.scale ?? Grade.inferScale(rows.map((r) => Math.max(0, Math.min(3, r.label))))
    yield* validateGrades(rows, scale, file, "retrieval")
    const cutoffs = options.cutoffs ?? [1, 3, 5, 10, 20]
    const primaryMetric = options.primaryMetric ?? "ndcg_at_10"
    const minCandidates = options.minCandidates ?? 1
    // group by query, rejecting repeated candidates
    const groups = new Map<string, Array<number>>()
    const seen = new Set<string>()
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!
      const key = `${r.qid}\u0000${r.did}`
      if (seen.has(key)) {
        return yield* new EvaluationError({
          reason: "duplicate-document",
          ...(file === undefined ? {} : { file }),
          line: i + 1,
          id: `${r.qid}/${r.did}`,
          detail: "candidate listed twice for the same query",
          hint: "de-duplicate the test file"
        })
      }
      seen.add(key)
      const g = groups.get(r.qid)
      if (g === undefined) groups.set(r.qid, [i])
      else g.push(i)
    }
    const scorer = withInstructions(options.scorer, options.instructions ?? {})
    const scores = yield* scoreRows(scorer, rows, file)
    const kept = [...groups].filter(([, idx]) => idx.length >= minCandidates)
    const dropped = groups.size - kept.length
    if (kept.length === 0) {
      return yield* new EvaluationError({
        reason: "empty",
        ...(file === undefined ? {} : { file }),
        detail: `all ${groups.size} queries have fewer than ${minCandidates} candidates`,
        hint: "lower minCandidates or check the file"
      })
    }
    const total = kept.reduce((s, [, idx]) => s + idx.length, 0)
    const offsets = new Uint32Array(kept.length + 1)
    const flatScores = new Float64Array(total)
    const gains = new Float64Array(total)
    const ids: Array<string> = new Array(total)
    let p = 0
    let withoutRelevant = 0
    kept.forEach(([, idx], q) => {
      let anyRelevant = false
      for (const i of idx) {
        flatScores[p] = scores[i]!
        gains[p] = rows[i]!.label
        ids[p] = rows[i]!.did
        if (rows[i]!.label > 0) anyRelevant = true
        p++
      }
      if (!anyRelevant) withoutRelevant++
      offsets[q + 1] = p
    })
    const values = Metrics.evaluateRankings(
      { offsets, scores: flatScores, ids, gains, judgedOffsets: offsets, judgedGains: gains },
      cutoffs,
      options.relevance ?? 1
    )
    const metrics: Record<string, number | null> = {}
    const perUnitValues: Record<string, Array<number>> = {}
    for (const [key, column] of Object.entries(values)) {
      let s = 0
      for (let i = 0; i < column.length; i++) s += column[i]!
      metrics[key] = s / column.length
      perUnitValues[key] = Array.from(column)
    }
    const histogram: Record<string, number> = {}
    for (let g = 0; g <= scale.max; g++) histogram[`grade_${g}`] = 0
    for (let i = 0; i < gains.length; i++) histogram[`grade_${gains[i]}`]!++
    if (!(primaryMetric in metrics)) {
      return yield* new EvaluationError({
        reason: "malformed",
        id: primaryMetric,
        detail: `primary metric ${primaryMetric} is not computed`,
        hint: `choose one of ${Object.keys(metrics).join(", ")}`
      })
    }
    const notes: Array<string> = []
    if (dropped > 0)
      notes.push(`${dropped} ${dropped === 1 ? "query" : "queries"} had < ${minCandidates} candidates (dropped)`)
    if (withoutRelevant > 0)
      notes.push(`${withoutRelevant} queries have no relevant candidate (they score 0 and count)`)
    return {
      name: options.name,
      evaluator: "retrieval",
      primaryMetric,
      primary: metrics[primaryMetric]!,
      metrics,
      config: {
        minCandidates,
        cutoffs: [...cutoffs],
        relevance: options.relevance ?? 1,
        scale: scale.max,
        ...(options.instructions === undefined ? {} : { instructions: options.instructions })
      },
      counts: {
        queries: kept.length,
        candidates: total,
        droppedQueries: dropped,
        droppedCandidates: rows.length - total,
        queriesWithoutRelevant: withoutRelevant,
        ...histogram
      },
      notes,
      perUnit: { ids: kept.map(([qid]) => qid), values: perUnitValues }
    } satisfies EvaluationResult
  })
