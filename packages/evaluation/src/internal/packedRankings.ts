/**
 * `Metrics.evaluateRankings` for packed TREC files: the same selection and the same floating-point operations in
 * the same order (so bit-identical results), but document ids come as interned integers (`docs`) into one
 * string table (`strings`) instead of one array slot per ranked document — no 10M-entry string array for the
 * garbage collector to walk. Ties are broken by `Metrics.compareUtf8` on the interned strings, as there.
 */
import * as Metrics from "../Metrics.js"

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

/** Best `k` of positions `[start, end)` into `out`, best first (score descending, then id descending). */
const selectTop = (
  scores: Float64Array,
  docs: Uint32Array,
  strings: ReadonlyArray<string>,
  start: number,
  end: number,
  k: number,
  out: Uint32Array
): number => {
  if (k <= 0) return 0
  let size = 0
  for (let i = start; i < end; i++) {
    const s = scores[i]!
    if (size === k) {
      const last = out[k - 1]!
      const sl = scores[last]!
      if (s < sl || (s === sl && Metrics.compareUtf8(strings[docs[i]!]!, strings[docs[last]!]!) < 0)) continue
    }
    let lo = 0
    let hi = size
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const m = out[mid]!
      const sm = scores[m]!
      if (sm > s || (sm === s && Metrics.compareUtf8(strings[docs[m]!]!, strings[docs[i]!]!) > 0)) lo = mid + 1
      else hi = mid
    }
    out.copyWithin(lo + 1, lo, size === k ? k - 1 : size)
    out[lo] = i
    if (size < k) size++
  }
  return size
}

/** nDCG/MAP/Recall/P/MRR at each cutoff for every query (keys `ndcg_at_10` …), as `Metrics.evaluateRankings`. */
export const evaluatePackedRankings = (
  batch: PackedBatch,
  cutoffs: ReadonlyArray<number>,
  relevance: number
): Record<string, Float64Array> => {
  const queries = batch.offsets.length - 1
  const ks = [...new Set(cutoffs)].sort((a, b) => a - b)
  const maxK = ks[ks.length - 1] ?? 0
  const out: Record<string, Float64Array> = {}
  const columns = ks.map((k) => Metrics.rankingFamilies.map((f) => (out[`${f}_at_${k}`] = new Float64Array(queries))))
  const top = new Uint32Array(maxK)
  const { scores, docs, strings, gains, judgedGains } = batch
  let ideal = new Float64Array(64)
  for (let q = 0; q < queries; q++) {
    const count = selectTop(scores, docs, strings, batch.offsets[q]!, batch.offsets[q + 1]!, maxK, top)
    const js = batch.judgedOffsets[q]!
    const je = batch.judgedOffsets[q + 1]!
    if (ideal.length < je - js) ideal = new Float64Array(je - js)
    let positives = 0
    let relevant = 0
    for (let j = js; j < je; j++) {
      const g = judgedGains[j]!
      if (g > 0) ideal[positives++] = g
      if (g >= relevance) relevant++
    }
    const sortedIdeal = ideal.subarray(0, positives).sort().reverse()
    let dcg = 0
    let idcg = 0
    let hits = 0
    let apSum = 0
    let mrr = 0
    let ki = 0
    for (let i = 0; i < maxK; i++) {
      if (i < count) {
        const g = gains[top[i]!]!
        if (g > 0) dcg += g / Math.log2(i + 2)
        if (g >= relevance) {
          hits++
          apSum += hits / (i + 1)
          if (mrr === 0) mrr = 1 / (i + 1)
        }
      }
      if (i < positives) idcg += sortedIdeal[i]! / Math.log2(i + 2)
      while (ki < ks.length && ks[ki] === i + 1) {
        const k = ks[ki]!
        const c = columns[ki]!
        c[0]![q] = idcg > 0 ? dcg / idcg : 0
        c[1]![q] = relevant > 0 ? apSum / relevant : 0
        c[2]![q] = relevant > 0 ? hits / relevant : 0
        c[3]![q] = hits / k
        c[4]![q] = mrr
        ki++
      }
    }
  }
  return out
}
