/**
 * `Metrics.evaluateRankings` for packed TREC files: the same kernel (`rankings.ts`), but document ids come as
 * interned integers (`docs`) into one string table (`strings`) instead of one array slot per ranked document —
 * no 10M-entry string array for the garbage collector to walk. Ties are broken by `Metrics.compareUtf8` on the
 * interned strings, as there.
 */
import * as Metrics from "../Metrics.js"
import { evaluateRankingsWith } from "./rankings.js"

/** A packed ranking batch: like `Metrics.RankingBatch`, with `docs` + `strings` in place of `ids`. */
export interface PackedBatch {
  readonly offsets: Uint32Array
  readonly scores: Float64Array
  readonly docs: Uint32Array
  readonly strings: ReadonlyArray<string>
  readonly gains: Float64Array
  readonly judgedOffsets: Uint32Array
  readonly judgedGains: Float64Array
}

/** nDCG/MAP/Recall/P/MRR at each cutoff for every query (keys `ndcg_at_10` …), as `Metrics.evaluateRankings`. */
export const evaluatePackedRankings = (
  batch: PackedBatch,
  cutoffs: ReadonlyArray<number>,
  relevance: number
): Record<string, Float64Array> => {
  const { docs, strings } = batch
  return evaluateRankingsWith(
    batch,
    (i, j) => Metrics.compareUtf8(strings[docs[i]!]!, strings[docs[j]!]!),
    cutoffs,
    relevance
  )
}
