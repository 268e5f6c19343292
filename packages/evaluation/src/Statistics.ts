/**
 * Paired significance tests and bootstrap confidence intervals for comparing two systems on the same queries
 * (or pairs). Every resample is drawn from a seeded generator, so a comparison is reproducible.
 *
 * @since 0.1.0
 */
import { Sampling } from "@ssra/core"
import { EvaluationError } from "./EvaluationError.js"
import type { EvaluationResult } from "./EvaluationResult.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface BootstrapOptions {
  readonly resamples?: number | undefined
  readonly seed?: number | undefined
  readonly confidence?: number | undefined
}

/**
 * A paired comparison of B against A: `difference = B − A` with a percentile-bootstrap confidence interval;
 * `pValue` is two-sided (from the bootstrap for `pairedBootstrap`, from sign flips for `pairedRandomization`).
 *
 * @since 0.1.0
 * @category models
 */
export interface PairedComparison {
  readonly a: number
  readonly b: number
  readonly difference: number
  readonly ci: readonly [number, number] | null
  readonly pValue: number | null
  readonly n: number
  readonly method: "bootstrap" | "randomization"
  readonly iterations: number
  readonly seed: number
  /** Randomization only: units whose two values differ (the only ones a sign flip changes). */
  readonly differing?: number
  /** Randomization only: the smallest p-value the test can give with `differing` units, `min(1, 2^(1 − differing))`. */
  readonly minPValue?: number
  /** Randomization only: whether `pValue` enumerates every sign pattern (≤ 20 differing units) or samples them. */
  readonly exact?: boolean
}

const percentile = (sorted: Float64Array, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const pos = q * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return xs.length === 0 ? Number.NaN : s / xs.length
}

const checkPaired = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length)
    throw new EvaluationError({
      reason: "mismatch",
      detail: `paired samples differ in length: ${a.length} vs ${b.length}`
    })
  if (a.length === 0) throw new EvaluationError({ reason: "empty", detail: "paired samples are empty" })
}

/**
 * Percentile-bootstrap confidence interval of any statistic of `n` units: `statistic(indices)` is evaluated on
 * resampled index sets (with replacement); resamples where it is undefined (`null`) are skipped.
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const bootstrapInterval = (
  n: number,
  statistic: (indices: Uint32Array) => number | null,
  options: BootstrapOptions = {}
): { readonly ci: readonly [number, number] | null; readonly values: Float64Array } => {
  const resamples = options.resamples ?? 2000
  if (!(Number.isInteger(resamples) && resamples >= 1))
    throw new EvaluationError({
      reason: "invalid-option",
      detail: `resamples must be an integer >= 1, got ${resamples}`
    })
  const confidence = options.confidence ?? 0.95
  const rng = new Sampling.SeededRandom(options.seed ?? 0)
  const indices = new Uint32Array(n)
  const values: Array<number> = []
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = rng.int(n)
    const v = statistic(indices)
    if (v !== null && Number.isFinite(v)) values.push(v)
  }
  const sorted = Float64Array.from(values).sort()
  const alpha = (1 - confidence) / 2
  return { ci: sorted.length === 0 ? null : [percentile(sorted, alpha), percentile(sorted, 1 - alpha)], values: sorted }
}

/**
 * Bootstrap confidence interval of a mean.
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const meanInterval = (
  values: ArrayLike<number>,
  options: BootstrapOptions = {}
): readonly [number, number] | null =>
  values.length === 0
    ? null
    : bootstrapInterval(
        values.length,
        (idx) => {
          let s = 0
          for (let i = 0; i < idx.length; i++) s += values[idx[i]!]!
          return s / idx.length
        },
        options
      ).ci

/**
 * Paired bootstrap of the difference of two statistics on the same units: both are evaluated on the same
 * resampled indices. The two-sided p-value is twice the share of resampled differences on the other side of 0
 * (capped at 1).
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const pairedBootstrapStatistic = (
  n: number,
  statisticA: (indices: Uint32Array) => number | null,
  statisticB: (indices: Uint32Array) => number | null,
  options: BootstrapOptions = {}
): PairedComparison => {
  const all = new Uint32Array(n)
  for (let i = 0; i < n; i++) all[i] = i
  const a = statisticA(all)
  const b = statisticB(all)
  const resamples = options.resamples ?? 2000
  const seed = options.seed ?? 0
  const { ci, values } = bootstrapInterval(
    n,
    (idx) => {
      const x = statisticA(idx)
      const y = statisticB(idx)
      return x === null || y === null ? null : y - x
    },
    { ...options, resamples, seed }
  )
  if (a === null || b === null) {
    return {
      a: a ?? Number.NaN,
      b: b ?? Number.NaN,
      difference: Number.NaN,
      ci: null,
      pValue: null,
      n,
      method: "bootstrap",
      iterations: resamples,
      seed
    }
  }
  const difference = b - a
  let other = 0
  for (const v of values) if (difference >= 0 ? v <= 0 : v >= 0) other++
  const pValue = values.length === 0 ? null : Math.min(1, (2 * (other + 1)) / (values.length + 1))
  return { a, b, difference, ci, pValue, n, method: "bootstrap", iterations: resamples, seed }
}

/**
 * Paired bootstrap of the difference of means (B − A) over units such as queries.
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const pairedBootstrap = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: BootstrapOptions = {}
): PairedComparison => {
  checkPaired(a, b)
  const meanOf = (xs: ArrayLike<number>) => (idx: Uint32Array) => {
    let s = 0
    for (let i = 0; i < idx.length; i++) s += xs[idx[i]!]!
    return s / idx.length
  }
  return pairedBootstrapStatistic(a.length, meanOf(a), meanOf(b), options)
}

/** Units up to which the sign-flip test enumerates all 2^m sign patterns instead of sampling them. */
const EXACT_UNITS = 20

/**
 * Two-sided sign-flip p-value of `mean(d) = shift`: the share of sign patterns of the non-zero `d_i − shift`
 * whose |mean| reaches the observed one — every pattern when there are at most `EXACT_UNITS` (exact), else
 * `permutations` seeded samples, `(#extreme + 1) / (permutations + 1)`. Units equal to the shift flip to
 * themselves and are left out (same distribution, fewer draws).
 */
const signFlipP = (
  d: Float64Array,
  shift: number,
  permutations: number,
  seed: number,
  exactUnits = EXACT_UNITS
): { readonly p: number; readonly differing: number; readonly exact: boolean } => {
  const e: Array<number> = []
  let sum = 0
  let magnitude = 0
  for (let i = 0; i < d.length; i++) {
    const x = d[i]! - shift
    if (x !== 0) e.push(x)
    sum += x
    magnitude += Math.abs(x)
  }
  const m = e.length
  if (m === 0) return { p: 1, differing: 0, exact: true }
  const observed = Math.abs(sum)
  // sums of up to 2^20 terms accumulate rounding: a pattern as extreme as the observed one may land a hair below
  const eps = 1e-9 * magnitude
  let extreme = 0
  if (m <= exactUnits) {
    // Gray code: each next pattern flips one sign, so each sum is one update
    const sign = new Int8Array(m).fill(1)
    let s = e.reduce((acc, x) => acc + x, 0)
    const patterns = 2 ** m
    for (let k = 0; k < patterns; k++) {
      if (k > 0) {
        const j = 31 - Math.clz32(k & -k)
        s -= 2 * sign[j]! * e[j]!
        sign[j] = -sign[j]!
      }
      if (Math.abs(s) >= observed - eps) extreme++
    }
    return { p: extreme / patterns, differing: m, exact: true }
  }
  const rng = new Sampling.SeededRandom(seed)
  for (let p = 0; p < permutations; p++) {
    let s = 0
    for (let i = 0; i < m; i++) s += (rng.nextUint32() & 1) === 0 ? e[i]! : -e[i]!
    if (Math.abs(s) >= observed - eps) extreme++
  }
  return { p: (extreme + 1) / (permutations + 1), differing: m, exact: false }
}

/**
 * The confidence interval that inverts the sign-flip test: every shift δ whose test of symmetry about δ has
 * p ≥ α (found by bisection on each side of the mean, to 1e-5 of the differences' range; exact patterns up to
 * 12 units, else sampled; the test at δ = 0 decided by `pZero`, so 0 is inside exactly when the test does not
 * reject). With one differing query the interval is [0, …]: any negative shift makes every difference positive. `null` when no shift is ever rejected (too few units for α: with n
 * units the smallest p is 2^(1−n)).
 */
const signFlipInterval = (
  d: Float64Array,
  alpha: number,
  pZero: number,
  permutations: number,
  seed: number
): readonly [number, number] | null => {
  const center = mean(d)
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (let i = 0; i < d.length; i++) {
    lo = Math.min(lo, d[i]!)
    hi = Math.max(hi, d[i]!)
  }
  const spread = Math.max(hi - lo, Math.abs(center), 1e-12)
  const accepted = (delta: number) =>
    delta === 0 ? pZero >= alpha : signFlipP(d, delta, permutations, seed, 12).p >= alpha
  const bound = (direction: -1 | 1): number | null => {
    // beyond every d_i all signs agree: the smallest p; step out until rejected
    let inside = center
    let outside = center + direction * spread
    for (let step = 0; accepted(outside); step++) {
      if (step === 4) return null
      inside = outside
      outside = center + direction * spread * 2 ** (step + 1)
    }
    // 0 decides on its own which side of the boundary it is on
    if ((0 - inside) * (0 - outside) < 0) {
      if (accepted(0)) inside = 0
      else outside = 0
    }
    for (let i = 0; i < 40 && Math.abs(outside - inside) > 1e-5 * spread; i++) {
      const mid = (inside + outside) / 2
      if (accepted(mid)) inside = mid
      else outside = mid
    }
    return inside
  }
  const lower = bound(-1)
  const upper = bound(1)
  if (lower === null || upper === null) return null
  // the test at 0 has the last word (a non-monotone p(δ) must not put 0 on the wrong side)
  return pZero >= alpha ? [Math.min(lower, 0), Math.max(upper, 0)] : [lower, upper]
}

/**
 * Paired randomization (sign-flip permutation) test of the difference of means: each unit's pair of values is
 * swapped with probability 1/2; the two-sided p-value is exact (all 2^m patterns of the m units that differ)
 * for m ≤ 20, else `(#{|d*| ≥ |d|} + 1) / (permutations + 1)` over seeded samples. `differing` says how many
 * units differ and `minPValue` the smallest p the test can reach with them (1 for a single differing query).
 * The confidence interval inverts the same test (the shifts it does not reject), so 0 lies inside it exactly
 * when p ≥ 1 − confidence: the interval and the p-value never disagree. `null` when n is too small for any
 * shift to be rejected.
 *
 * @since 0.1.0
 * @category tests
 */
export const pairedRandomization = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: {
    readonly permutations?: number | undefined
    /** Sign-flip samples per test while searching the interval's bounds (default: min(permutations, 2000)). */
    readonly resamples?: number | undefined
    readonly seed?: number | undefined
    readonly confidence?: number | undefined
  } = {}
): PairedComparison => {
  checkPaired(a, b)
  const n = a.length
  const permutations = options.permutations ?? 10000
  if (!(Number.isInteger(permutations) && permutations >= 1))
    throw new EvaluationError({
      reason: "invalid-option",
      detail: `permutations must be an integer >= 1, got ${permutations}`
    })
  const seed = options.seed ?? 0
  const d = new Float64Array(n)
  for (let i = 0; i < n; i++) d[i] = b[i]! - a[i]!
  const test = signFlipP(d, 0, permutations, seed)
  const alpha = 1 - (options.confidence ?? 0.95)
  const ci = signFlipInterval(d, alpha, test.p, options.resamples ?? Math.min(permutations, 2000), seed)
  return {
    a: mean(a),
    b: mean(b),
    difference: mean(b) - mean(a),
    ci,
    pValue: test.p,
    n,
    method: "randomization",
    iterations: test.exact ? 2 ** test.differing : permutations,
    seed,
    differing: test.differing,
    minPValue: Math.min(1, 2 ** (1 - test.differing)),
    exact: test.exact
  }
}

/**
 * Average precision at thresholds under resampling weights, in O(n) per resample: the pairs are sorted by
 * score once, and a bootstrap resample is a multiplicity per pair (scikit-learn's AP on a resampled multiset
 * equals AP with those multiplicities as sample weights).
 *
 * @since 0.1.0
 * @category bootstrap
 */
export class WeightedAveragePrecision {
  private readonly order: Uint32Array
  private readonly blockEnd: Uint32Array
  /** @since 0.1.0 */
  constructor(
    readonly labels: ArrayLike<number>,
    readonly scores: ArrayLike<number>,
    readonly thresholds: ReadonlyArray<number>
  ) {
    const n = labels.length
    this.order = new Uint32Array(n)
    for (let i = 0; i < n; i++) this.order[i] = i
    this.order.sort((a, b) => scores[b]! - scores[a]!)
    // blockEnd[i] = end (exclusive) of the tie block starting at sorted position i
    this.blockEnd = new Uint32Array(n)
    let i = 0
    while (i < n) {
      let end = i
      while (end < n && scores[this.order[end]!] === scores[this.order[i]!]) end++
      for (let j = i; j < end; j++) this.blockEnd[j] = end
      i = end
    }
  }
  /** AP per threshold with these weights (`null` where undefined). @since 0.1.0 */
  compute(weights: ArrayLike<number>): Array<number | null> {
    const t = this.thresholds.length
    const n = this.labels.length
    const positives = new Float64Array(t)
    let total = 0
    for (let i = 0; i < n; i++) {
      const w = weights[i]!
      if (w === 0) continue
      total += w
      for (let j = 0; j < t; j++) if (this.labels[i]! >= this.thresholds[j]!) positives[j]! += w
    }
    const tp = new Float64Array(t)
    const recall = new Float64Array(t)
    const ap = new Float64Array(t)
    let seen = 0
    let i = 0
    while (i < n) {
      const end = this.blockEnd[i]!
      let blockWeight = 0
      for (let p = i; p < end; p++) {
        const idx = this.order[p]!
        const w = weights[idx]!
        if (w === 0) continue
        blockWeight += w
        for (let j = 0; j < t; j++) if (this.labels[idx]! >= this.thresholds[j]!) tp[j]! += w
      }
      if (blockWeight > 0) {
        seen += blockWeight
        for (let j = 0; j < t; j++) {
          const pj = positives[j]!
          if (pj === 0) continue
          const r = tp[j]! / pj
          const dr = recall[j]! - r
          if (dr !== 0) ap[j]! += dr * (tp[j]! / seen)
          recall[j] = r
        }
      }
      i = end
    }
    const out: Array<number | null> = new Array(t)
    for (let j = 0; j < t; j++) out[j] = positives[j] === 0 || positives[j] === total ? null : -ap[j]!
    return out
  }
}

const multiplicities = (indices: Uint32Array, into: Float64Array): Float64Array => {
  into.fill(0)
  for (let i = 0; i < indices.length; i++) into[indices[i]!]!++
  return into
}

/**
 * Bootstrap confidence intervals of AP at each threshold (pairs resampled with replacement).
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const averagePrecisionIntervals = (
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  thresholds: ReadonlyArray<number>,
  options: BootstrapOptions = {}
): Array<readonly [number, number] | null> => {
  const ap = new WeightedAveragePrecision(labels, scores, thresholds)
  const n = labels.length
  const weights = new Float64Array(n)
  const rng = new Sampling.SeededRandom(options.seed ?? 0)
  const draws: Array<Array<number>> = thresholds.map(() => [])
  for (let r = 0; r < (options.resamples ?? 2000); r++) {
    weights.fill(0)
    for (let i = 0; i < n; i++) weights[rng.int(n)]!++
    ap.compute(weights).forEach((v, j) => {
      if (v !== null) draws[j]!.push(v)
    })
  }
  const alpha = (1 - (options.confidence ?? 0.95)) / 2
  return draws.map((xs) => {
    if (xs.length === 0) return null
    const sorted = Float64Array.from(xs).sort()
    return [percentile(sorted, alpha), percentile(sorted, 1 - alpha)] as const
  })
}

/**
 * Paired bootstrap of the AP difference (B − A) at each threshold, both systems scored on the same pairs.
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const pairedAveragePrecision = (
  labels: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  thresholds: ReadonlyArray<number>,
  options: BootstrapOptions = {}
): Array<PairedComparison> => {
  const a = new WeightedAveragePrecision(labels, scoresA, thresholds)
  const b = new WeightedAveragePrecision(labels, scoresB, thresholds)
  const n = labels.length
  const wa = new Float64Array(n)
  const wb = new Float64Array(n)
  return thresholds.map((_, j) =>
    pairedBootstrapStatistic(
      n,
      (idx) => a.compute(multiplicities(idx, wa))[j]!,
      (idx) => b.compute(multiplicities(idx, wb))[j]!,
      options
    )
  )
}

/**
 * 95% (or `confidence`) bootstrap intervals for a result's metrics: per-query metrics resample queries, AP
 * metrics resample pairs. Metrics without per-unit values get no interval.
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const resultIntervals = (
  result: EvaluationResult,
  options: BootstrapOptions = {}
): Record<string, readonly [number, number] | null> => {
  const out: Record<string, readonly [number, number] | null> = {}
  if (result.perUnit !== undefined) {
    for (const [metric, values] of Object.entries(result.perUnit.values)) out[metric] = meanInterval(values, options)
  }
  if (result.pairs !== undefined && result.pairs.labels.length > 0) {
    const thresholds = ((result.config.thresholds as ReadonlyArray<number> | undefined) ?? [1, 2, 3]).slice()
    const { labels, scores } = result.pairs
    const ap = new WeightedAveragePrecision(labels, scores, thresholds)
    const n = labels.length
    const weights = new Float64Array(n)
    const resamples = options.resamples ?? 2000
    const rng = new Sampling.SeededRandom(options.seed ?? 0)
    const draws: Array<Array<number>> = thresholds.map(() => [])
    const means: Array<number> = []
    for (let r = 0; r < resamples; r++) {
      weights.fill(0)
      for (let i = 0; i < n; i++) weights[rng.int(n)]!++
      const v = ap.compute(weights)
      let s = 0
      let c = 0
      v.forEach((x, j) => {
        if (x !== null) {
          draws[j]!.push(x)
          s += x
          c++
        }
      })
      if (c > 0) means.push(s / c)
    }
    const alpha = (1 - (options.confidence ?? 0.95)) / 2
    const interval = (xs: Array<number>): readonly [number, number] | null => {
      if (xs.length === 0) return null
      const sorted = Float64Array.from(xs).sort()
      return [percentile(sorted, alpha), percentile(sorted, 1 - alpha)]
    }
    thresholds.forEach((t, j) => {
      out[`ap_ge_${t}`] = result.metrics[`ap_ge_${t}`] === null ? null : interval(draws[j]!)
    })
    out.ap_mean = result.metrics.ap_mean === null ? null : interval(means)
  }
  return out
}
