/**
 * The one ranking-metrics kernel behind `Metrics.evaluateRankings` and the packed TREC path: partial top-k
 * selection plus nDCG/MAP/Recall/P/MRR at every cutoff. Document ids are never touched here; ties in score
 * are broken by a caller-supplied comparison of two positions, so string ids (`Metrics.RankingBatch.ids`) and
 * interned ids (`docs` into one string table) share the same selection and the same floating-point operations
 * in the same order (bit-identical results).
 */

/** The metric families computed at each cutoff, in column order. */
export const rankingFamilies = ["ndcg", "map", "recall", "precision", "mrr"] as const

/** Compares the document ids at positions `i` and `j` (negative, 0, positive); called only on score ties. */
export type CompareIds = (i: number, j: number) => number

/** A ranking batch without its ids: `Metrics.RankingBatch` minus `ids`. */
export interface GainsBatch {
  readonly offsets: Uint32Array
  readonly scores: Float64Array
  readonly gains: Float64Array
  readonly judgedOffsets: Uint32Array
  readonly judgedGains: Float64Array
}

/**
 * Partial selection of the best `k` of `scores[start..end)` into `out` (absolute indices), best first: score
 * descending, then id descending (by `compareIds`). Returns how many were written.
 */
export const selectTop = (
  scores: ArrayLike<number>,
  compareIds: CompareIds,
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
      if (s < sl || (s === sl && compareIds(i, last) < 0)) continue
    }
    let lo = 0
    let hi = size
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const m = out[mid]!
      const sm = scores[m]!
      if (sm > s || (sm === s && compareIds(m, i) > 0)) lo = mid + 1
      else hi = mid
    }
    out.copyWithin(lo + 1, lo, size === k ? k - 1 : size)
    out[lo] = i
    if (size < k) size++
  }
  return size
}

/** nDCG/MAP/Recall/P/MRR at each cutoff for every query of `batch` (keys `ndcg_at_10` …). */
export const evaluateRankingsWith = (
  batch: GainsBatch,
  compareIds: CompareIds,
  cutoffs: ReadonlyArray<number>,
  relevance: number
): Record<string, Float64Array> => {
  const queries = batch.offsets.length - 1
  const ks = [...new Set(cutoffs)].sort((a, b) => a - b)
  const maxK = ks[ks.length - 1] ?? 0
  const out: Record<string, Float64Array> = {}
  const columns = ks.map((k) => rankingFamilies.map((f) => (out[`${f}_at_${k}`] = new Float64Array(queries))))
  const top = new Uint32Array(maxK)
  const { scores, gains, judgedGains } = batch
  let ideal = new Float64Array(64)
  for (let q = 0; q < queries; q++) {
    const count = selectTop(scores, compareIds, batch.offsets[q]!, batch.offsets[q + 1]!, maxK, top)
    // judged gains: positive ones sorted descending, and the relevant count
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
