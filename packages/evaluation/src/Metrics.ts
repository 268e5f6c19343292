/**
 * Exact information-retrieval and classification metrics, as pure typed-array code. nDCG@k, MAP@k, Recall@k,
 * P@k and MRR@k follow trec_eval 10.0 (`ndcg_cut`, `map_cut`, `recall`, `P`, `recip_rank` truncated at k);
 * average precision follows scikit-learn's `average_precision_score`; the classifier metrics follow
 * scikit-learn's `accuracy_score`, `f1_score(average="macro")` and `cohen_kappa_score(weights="quadratic")`.
 *
 * @since 0.1.0
 */
import { Trec as CoreTrec } from "@ssra/core"
import { EvaluationError } from "./EvaluationError.js"
import { evaluateRankingsWith, rankingFamilies as internalRankingFamilies, selectTop } from "./internal/rankings.js"

// ---------------------------------------------------------------------------------------------------------
// Ranking order
// ---------------------------------------------------------------------------------------------------------

/**
 * Compares two strings byte-wise as UTF-8 (= by Unicode code point), like C's `strcmp` on UTF-8 text (the one
 * implementation is `@ssra/core`'s `Trec.compareUtf8`).
 *
 * @since 0.1.0
 * @category ordering
 */
export const compareUtf8 = CoreTrec.compareUtf8

/**
 * The trec_eval ranking: indices of `scores` sorted by score descending, ties broken by document id descending
 * (byte-wise UTF-8). Only the first `limit` positions are produced (a partial selection, O(n·log limit)
 * typical), which is all a metric truncated at `k` needs.
 *
 * @since 0.1.0
 * @category ordering
 */
export const rankTop = (
  scores: ArrayLike<number>,
  ids: ArrayLike<string>,
  limit: number = scores.length
): Uint32Array => {
  const n = scores.length
  const k = Math.max(0, Math.min(limit, n))
  if (k > 32 && k * 4 > n) {
    // A (nearly) full ranking: one comparison sort beats insertion.
    const all = new Uint32Array(n)
    for (let i = 0; i < n; i++) all[i] = i
    all.sort((x, y) => CoreTrec.compareRanked(scores[x]!, ids[x]!, scores[y]!, ids[y]!))
    return k === n ? all : all.slice(0, k)
  }
  const top = new Uint32Array(k)
  selectTop(scores, (i, j) => compareUtf8(ids[i]!, ids[j]!), 0, n, k, top)
  return top
}

/**
 * Many queries' rankings packed flat: query `q` owns positions `offsets[q]..offsets[q+1]` of `scores`, `ids`
 * and `gains` (the grade of each retrieved document, 0 when unjudged), and positions
 * `judgedOffsets[q]..judgedOffsets[q+1]` of `judgedGains` (the grades of all its judgments, retrieved or not).
 *
 * @since 0.1.0
 * @category models
 */
export interface RankingBatch {
  readonly offsets: Uint32Array
  readonly scores: Float64Array
  readonly ids: ArrayLike<string>
  readonly gains: Float64Array
  readonly judgedOffsets: Uint32Array
  readonly judgedGains: Float64Array
}

/**
 * The metric families `evaluateRankings` computes at each cutoff.
 *
 * @since 0.1.0
 * @category constants
 */
export const rankingFamilies = internalRankingFamilies

/**
 * nDCG@k, MAP@k, Recall@k, P@k and MRR@k (trec_eval semantics, see `rankingMetricsFromGains`) for every query
 * of a batch and every cutoff, in one partial selection per query. Keys are `ndcg_at_10` etc.; values are
 * index-aligned with the batch's queries. NaN scores must be rejected before (the evaluators and `Trec` do).
 *
 * @since 0.1.0
 * @category ranking
 */
export const evaluateRankings = (
  batch: RankingBatch,
  cutoffs: ReadonlyArray<number>,
  relevance = 1
): Record<string, Float64Array> => {
  const { ids } = batch
  return evaluateRankingsWith(batch, (i, j) => compareUtf8(ids[i]!, ids[j]!), cutoffs, relevance)
}

// ---------------------------------------------------------------------------------------------------------
// Per-query ranking metrics over gains in rank order
// ---------------------------------------------------------------------------------------------------------

/**
 * DCG@k of gains in rank order: `Σ_{i<k} gain_i / log2(i + 2)` (trec_eval's linear gain).
 *
 * @since 0.1.0
 * @category ranking
 */
export const dcgAtK = (rankedGains: ArrayLike<number>, k: number): number => {
  const n = Math.min(k, rankedGains.length)
  let sum = 0
  for (let i = 0; i < n; i++) {
    const g = rankedGains[i]!
    if (g > 0) sum += g / Math.log2(i + 2)
  }
  return sum
}

/**
 * Ideal DCG@k from every judged gain of the query (retrieved or not): the positive gains sorted descending.
 *
 * @since 0.1.0
 * @category ranking
 */
export const idealDcgAtK = (judgedGains: ArrayLike<number>, k: number): number => {
  const positive: Array<number> = []
  for (let i = 0; i < judgedGains.length; i++) if (judgedGains[i]! > 0) positive.push(judgedGains[i]!)
  const sorted = Float64Array.from(positive).sort().reverse()
  return dcgAtK(sorted, k)
}

/**
 * nDCG@k from gains in rank order and the query's judged gains (trec_eval `ndcg_cut.k`): 0 when no judged
 * document is relevant.
 *
 * @since 0.1.0
 * @category ranking
 */
export const ndcgFromGains = (rankedGains: ArrayLike<number>, judgedGains: ArrayLike<number>, k: number): number => {
  const ideal = idealDcgAtK(judgedGains, k)
  return ideal > 0 ? dcgAtK(rankedGains, k) / ideal : 0
}

/**
 * Judgments (document id → grade) or a run (document id → score) of one query.
 *
 * @since 0.1.0
 * @category models
 */
export type DocumentValues = ReadonlyMap<string, number> | Readonly<Record<string, number>>

const entries = (values: DocumentValues): Array<[string, number]> =>
  values instanceof Map ? [...values.entries()] : Object.entries(values as Readonly<Record<string, number>>)

const lookup = (values: DocumentValues, id: string): number | undefined =>
  values instanceof Map
    ? values.get(id)
    : Object.hasOwn(values, id)
      ? (values as Readonly<Record<string, number>>)[id]
      : undefined

const rankedRun = (qrels: DocumentValues, run: DocumentValues, k: number) => {
  const docs = entries(run)
  const ids = docs.map((d) => d[0])
  const scores = new Float64Array(docs.length)
  for (let i = 0; i < docs.length; i++) {
    const s = docs[i]![1]
    if (Number.isNaN(s))
      throw new EvaluationError({ reason: "nan-score", id: ids[i]!, detail: `score of document ${ids[i]} is NaN` })
    scores[i] = s
  }
  const top = rankTop(scores, ids, k)
  const gains = new Float64Array(top.length)
  for (let i = 0; i < top.length; i++) gains[i] = lookup(qrels, ids[top[i]!]!) ?? 0
  return gains
}

/**
 * nDCG@k of one query exactly as trec_eval `ndcg_cut.k`: the run ranked by score descending with ties broken
 * by document id descending (UTF-8 bytes), linear gain = grade, ideal DCG from all judgments (relevant
 * documents the run missed included), 0 for a query without relevant judgments. Throws an `EvaluationError` (`nan-score`) on a NaN
 * score (validate input at the boundary: `Trec` and the evaluators do).
 *
 * @since 0.1.0
 * @category ranking
 */
export const ndcgAtK = (qrels: DocumentValues, run: DocumentValues, k: number): number =>
  ndcgFromGains(
    rankedRun(qrels, run, k),
    entries(qrels).map((e) => e[1]),
    k
  )

/**
 * The ranking metrics computed in one pass over a query's top-k.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryRankingMetrics {
  readonly ndcg: number
  readonly map: number
  readonly recall: number
  readonly precision: number
  readonly mrr: number
}

/**
 * nDCG@k, MAP@k (`map_cut.k`), Recall@k (`recall.k`), P@k (`P.k`, over k even when fewer are retrieved) and
 * MRR@k (reciprocal rank of the first relevant document in the top k) from gains in rank order. A document is
 * relevant when its grade is ≥ `relevance` (trec_eval's default 1); `relevantCount` is the query's number of
 * relevant judgments, `idealDcg` its ideal DCG@k.
 *
 * @since 0.1.0
 * @category ranking
 */
export const rankingMetricsFromGains = (
  rankedGains: ArrayLike<number>,
  k: number,
  relevantCount: number,
  idealDcg: number,
  relevance = 1
): QueryRankingMetrics => {
  const n = Math.min(k, rankedGains.length)
  let dcg = 0
  let hits = 0
  let apSum = 0
  let mrr = 0
  for (let i = 0; i < n; i++) {
    const g = rankedGains[i]!
    if (g > 0) dcg += g / Math.log2(i + 2)
    if (g >= relevance) {
      hits++
      apSum += hits / (i + 1)
      if (mrr === 0) mrr = 1 / (i + 1)
    }
  }
  return {
    ndcg: idealDcg > 0 ? dcg / idealDcg : 0,
    map: relevantCount > 0 ? apSum / relevantCount : 0,
    recall: relevantCount > 0 ? hits / relevantCount : 0,
    precision: k > 0 ? hits / k : 0,
    mrr
  }
}

/**
 * MRR@k of one query (reciprocal rank of the first document with grade ≥ `relevance` within the top k).
 *
 * @since 0.1.0
 * @category ranking
 */
export const mrrAtK = (qrels: DocumentValues, run: DocumentValues, k: number, relevance = 1): number => {
  const gains = rankedRun(qrels, run, k)
  for (let i = 0; i < gains.length; i++) if (gains[i]! >= relevance) return 1 / (i + 1)
  return 0
}

const relevantCount = (qrels: DocumentValues, relevance: number): number => {
  let r = 0
  for (const [, g] of entries(qrels)) if (g >= relevance) r++
  return r
}

/**
 * Recall@k of one query (trec_eval `recall.k`): relevant documents in the top k over all relevant judgments.
 *
 * @since 0.1.0
 * @category ranking
 */
export const recallAtK = (qrels: DocumentValues, run: DocumentValues, k: number, relevance = 1): number => {
  const total = relevantCount(qrels, relevance)
  if (total === 0) return 0
  const gains = rankedRun(qrels, run, k)
  let hits = 0
  for (let i = 0; i < gains.length; i++) if (gains[i]! >= relevance) hits++
  return hits / total
}

/**
 * MAP@k of one query (trec_eval `map_cut.k`): precision at each relevant document in the top k, summed, over
 * all relevant judgments.
 *
 * @since 0.1.0
 * @category ranking
 */
export const mapAtK = (qrels: DocumentValues, run: DocumentValues, k: number, relevance = 1): number => {
  const total = relevantCount(qrels, relevance)
  if (total === 0) return 0
  const gains = rankedRun(qrels, run, k)
  let hits = 0
  let sum = 0
  for (let i = 0; i < gains.length; i++) {
    if (gains[i]! >= relevance) {
      hits++
      sum += hits / (i + 1)
    }
  }
  return sum / total
}

// ---------------------------------------------------------------------------------------------------------
// Average precision (scikit-learn)
// ---------------------------------------------------------------------------------------------------------

/**
 * Average precision for graded labels at several thresholds in one sort, exactly as scikit-learn's
 * `average_precision_score(labels >= t, scores)`: tied scores form one threshold block,
 * `AP = Σ (R_i − R_{i−1}) · P_i` over blocks. `null` where the threshold leaves no positives or no negatives.
 * Only native numeric sorts of the scores run (no comparator callbacks): all scores once, and the positives'
 * scores once per threshold, then one merge walk over the tie blocks.
 *
 * @since 0.1.0
 * @category classification
 */
export const averagePrecisionAtThresholds = (
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  thresholds: ReadonlyArray<number>
): Array<number | null> => {
  const n = labels.length
  if (scores.length !== n)
    throw new EvaluationError({ reason: "mismatch", detail: `${n} labels but ${scores.length} scores` })
  const t = thresholds.length
  const all = new Float64Array(n)
  const positives = new Uint32Array(t)
  for (let i = 0; i < n; i++) {
    const s = scores[i]!
    if (Number.isNaN(s)) throw new EvaluationError({ reason: "nan-score", detail: `score at index ${i} is NaN` })
    all[i] = s
    const l = labels[i]!
    for (let j = 0; j < t; j++) if (l >= thresholds[j]!) positives[j]!++
  }
  all.sort()
  const positiveScores = thresholds.map((th, j) => {
    const out = new Float64Array(positives[j]!)
    let k = 0
    for (let i = 0; i < n; i++) if (labels[i]! >= th) out[k++] = scores[i]!
    return out.sort()
  })
  const cursor = Int32Array.from(positiveScores, (p) => p.length - 1)
  const tp = new Float64Array(t)
  const ap = new Float64Array(t)
  const recall = new Float64Array(t)
  let seen = 0
  let i = n - 1
  while (i >= 0) {
    const s = all[i]!
    let j = i
    while (j >= 0 && all[j] === s) j--
    seen += i - j
    for (let k = 0; k < t; k++) {
      const p = positives[k]!
      if (p === 0) continue
      const ps = positiveScores[k]!
      let c = cursor[k]!
      while (c >= 0 && ps[c]! >= s) {
        tp[k]!++
        c--
      }
      cursor[k] = c
      const r = tp[k]! / p
      const dr = recall[k]! - r
      if (dr !== 0) ap[k]! += dr * (tp[k]! / seen)
      recall[k] = r
    }
    i = j
  }
  const out: Array<number | null> = new Array(t)
  for (let k = 0; k < t; k++) {
    const p = positives[k]!
    out[k] = p === 0 || p === n ? null : -ap[k]!
  }
  return out
}

/**
 * scikit-learn `average_precision_score` for binary labels (any label > 0 is positive, pass `labels >= t`
 * yourself for a threshold): `null` when undefined (no positives or no negatives).
 *
 * @since 0.1.0
 * @category classification
 */
export const averagePrecision = (labels: ArrayLike<number>, scores: ArrayLike<number>): number | null =>
  averagePrecisionAtThresholds(labels, scores, [Number.MIN_VALUE])[0]!

/**
 * AP keyed by threshold name, e.g. `{ "ap@>=1": 0.85, "ap@>=2": 0.15, "ap@>=3": null }`.
 *
 * @since 0.1.0
 * @category classification
 */
export const apAtThresholds = (
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  thresholds: ReadonlyArray<number> = [1, 2, 3]
): Record<string, number | null> => {
  const values = averagePrecisionAtThresholds(labels, scores, thresholds)
  const out: Record<string, number | null> = {}
  thresholds.forEach((th, j) => {
    out[`ap@>=${th}`] = values[j]!
  })
  return out
}

/**
 * Mean of the defined values, `null` when none is defined.
 *
 * @since 0.1.0
 * @category combinators
 */
export const meanDefined = (values: Iterable<number | null>): number | null => {
  let s = 0
  let c = 0
  for (const v of values) {
    if (v !== null) {
      s += v
      c++
    }
  }
  return c === 0 ? null : s / c
}

// ---------------------------------------------------------------------------------------------------------
// Classifier metrics (scikit-learn)
// ---------------------------------------------------------------------------------------------------------

const classesOf = (truth: ArrayLike<number>, predicted: ArrayLike<number>, classes?: ReadonlyArray<number>) => {
  if (truth.length !== predicted.length)
    throw new EvaluationError({
      reason: "mismatch",
      detail: `${truth.length} labels but ${predicted.length} predictions`
    })
  if (classes !== undefined) return [...classes]
  const set = new Set<number>()
  for (let i = 0; i < truth.length; i++) {
    set.add(truth[i]!)
    set.add(predicted[i]!)
  }
  return [...set].sort((a, b) => a - b)
}

/**
 * Confusion matrix: rows are true classes, columns predicted classes, in `classes` order (default: the sorted
 * union of observed labels, as scikit-learn).
 *
 * @since 0.1.0
 * @category classification
 */
export const confusionMatrix = (
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes?: ReadonlyArray<number>
): { readonly classes: ReadonlyArray<number>; readonly matrix: ReadonlyArray<ReadonlyArray<number>> } => {
  const cs = classesOf(truth, predicted, classes)
  const index = new Map(cs.map((c, i) => [c, i]))
  const matrix = cs.map(() => new Array<number>(cs.length).fill(0))
  for (let i = 0; i < truth.length; i++) {
    const r = index.get(truth[i]!)
    const c = index.get(predicted[i]!)
    if (r !== undefined && c !== undefined) matrix[r]![c]!++
  }
  return { classes: cs, matrix }
}

/**
 * Share of exact matches; `null` for no items.
 *
 * @since 0.1.0
 * @category classification
 */
export const accuracy = (truth: ArrayLike<number>, predicted: ArrayLike<number>): number | null => {
  if (truth.length !== predicted.length)
    throw new EvaluationError({
      reason: "mismatch",
      detail: `${truth.length} labels but ${predicted.length} predictions`
    })
  if (truth.length === 0) return null
  let ok = 0
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) ok++
  return ok / truth.length
}

/**
 * Macro-averaged F1 over `classes` (default: the union of observed labels), a class's F1 being 0 where
 * precision and recall are both undefined or zero (scikit-learn's `zero_division=0`); `null` for no items.
 *
 * @since 0.1.0
 * @category classification
 */
export const macroF1 = (
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes?: ReadonlyArray<number>
): number | null => {
  if (truth.length === 0) return null
  const { classes: cs, matrix } = confusionMatrix(truth, predicted, classes)
  let sum = 0
  for (let c = 0; c < cs.length; c++) {
    const tp = matrix[c]![c]!
    let rowSum = 0
    let colSum = 0
    for (let j = 0; j < cs.length; j++) {
      rowSum += matrix[c]![j]!
      colSum += matrix[j]![c]!
    }
    const denominator = rowSum + colSum
    sum += denominator === 0 ? 0 : (2 * tp) / denominator
  }
  return cs.length === 0 ? null : sum / cs.length
}

/**
 * Cohen's kappa with quadratic weights (scikit-learn `cohen_kappa_score(weights="quadratic")`): weights are
 * squared differences of class positions in `classes` (default: the sorted union of observed labels). `null`
 * when undefined (no items, or the expected disagreement is zero).
 *
 * @since 0.1.0
 * @category classification
 */
export const quadraticWeightedKappa = (
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes?: ReadonlyArray<number>
): number | null => {
  if (truth.length === 0) return null
  const { classes: cs, matrix } = confusionMatrix(truth, predicted, classes)
  const k = cs.length
  const rows = new Float64Array(k)
  const cols = new Float64Array(k)
  let total = 0
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      rows[i]! += matrix[i]![j]!
      cols[j]! += matrix[i]![j]!
      total += matrix[i]![j]!
    }
  }
  if (total === 0) return null
  let observed = 0
  let expected = 0
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = (i - j) * (i - j)
      observed += w * matrix[i]![j]!
      expected += (w * rows[i]! * cols[j]!) / total
    }
  }
  return expected === 0 ? null : 1 - observed / expected
}
