import { Sampling } from "@ssra/core"
import { describe, expect, it } from "vitest"
import { Metrics, Statistics } from "../src/index.js"

/** Simulated per-query values: `n` draws of a known mean (a sum of uniforms: bell-shaped, bounded). */
const simulate = (rng: Sampling.SeededRandom, n: number, mean: number) =>
  Float64Array.from({ length: n }, () => mean + (rng.next() + rng.next() + rng.next() - 1.5) * 0.4)

/** |covered − expected| within 3 binomial standard deviations over `trials`. */
const withinBinomial = (covered: number, trials: number, p: number) =>
  Math.abs(covered / trials - p) <= 3 * Math.sqrt((p * (1 - p)) / trials)

describe("Statistics", () => {
  const a = Array.from({ length: 60 }, (_, i) => 0.5 + 0.3 * Math.sin(i))
  const better = a.map((x, i) => x + 0.05 + 0.01 * Math.cos(i * 3))
  it("paired bootstrap: CI brackets a clear improvement, seeded and reproducible", () => {
    const r = Statistics.pairedBootstrap(a, better, { seed: 7, resamples: 1000 })
    expect(r.difference).toBeGreaterThan(0.04)
    expect(r.ci![0]).toBeGreaterThan(0)
    expect(r.ci![0]).toBeLessThan(r.difference)
    expect(r.ci![1]).toBeGreaterThan(r.difference)
    expect(r.pValue!).toBeLessThan(0.01)
    expect(Statistics.pairedBootstrap(a, better, { seed: 7, resamples: 1000 })).toEqual(r)
  })
  it("randomization: identical systems are not significant, a shift is", () => {
    const same = Statistics.pairedRandomization(a, a, { permutations: 500, seed: 1 })
    expect(same.difference).toBe(0)
    expect(same.pValue).toBe(1)
    const shifted = Statistics.pairedRandomization(a, better, { permutations: 500, seed: 1 })
    expect(shifted.pValue!).toBeLessThan(0.01)
    expect(() => Statistics.pairedRandomization([1], [1, 2])).toThrow(/differ/)
  })
  it("weighted AP equals scikit-learn AP on the resampled multiset", () => {
    const labels = [0, 1, 2, 3, 1, 0, 2, 3, 0, 1]
    const scores = [0.1, 0.4, 0.4, 0.9, 0.2, 0.3, 0.7, 0.4, 0.05, 0.6]
    const weights = [2, 0, 1, 3, 1, 0, 1, 2, 1, 1]
    const expandedLabels: Array<number> = []
    const expandedScores: Array<number> = []
    weights.forEach((w, i) => {
      for (let k = 0; k < w; k++) {
        expandedLabels.push(labels[i]!)
        expandedScores.push(scores[i]!)
      }
    })
    const weighted = new Statistics.WeightedAveragePrecision(labels, scores, [1, 2, 3]).compute(weights)
    const direct = Metrics.averagePrecisionAtThresholds(expandedLabels, expandedScores, [1, 2, 3])
    weighted.forEach((v, j) => {
      expect(Math.abs(v! - direct[j]!)).toBeLessThan(1e-12)
    })
  })
  it("AP intervals contain the point estimate; undefined thresholds give null", () => {
    const labels = Array.from({ length: 80 }, (_, i) => i % 3)
    const scores = labels.map((l, i) => l + Math.sin(i) * 1.2)
    const point = Metrics.averagePrecisionAtThresholds(labels, scores, [1, 2, 3])
    const cis = Statistics.averagePrecisionIntervals(labels, scores, [1, 2, 3], { resamples: 300, seed: 3 })
    expect(cis[0]![0]).toBeLessThanOrEqual(point[0]!)
    expect(cis[0]![1]).toBeGreaterThanOrEqual(point[0]!)
    expect(point[2]).toBeNull()
    expect(cis[2]).toBeNull()
  })

  it("one differing query: exact p = 1, smallest possible p 1, and an interval around 0 (they agree)", () => {
    const base = Array.from({ length: 50 }, (_, i) => 0.3 + 0.01 * (i % 7))
    const other = base.map((x, i) => (i === 17 ? x + 0.615 : x))
    const r = Statistics.pairedRandomization(base, other, { seed: 0 })
    expect(r.difference).toBeCloseTo(0.0123, 10)
    expect(r.pValue).toBe(1)
    expect(r.exact).toBe(true)
    expect(r.differing).toBe(1)
    expect(r.minPValue).toBe(1)
    // 0 is inside, as p = 1 says; no negative shift is plausible: 49 of the 50 queries are identical
    expect(r.ci![0]).toBe(0)
    expect(r.ci![1]).toBeGreaterThan(r.difference)
    // a few differing queries, all the same way: exact p = 2/2^m, the smallest possible
    const five = base.map((x, i) => (i % 10 === 0 ? x + 0.2 : x))
    const r5 = Statistics.pairedRandomization(base, five, { seed: 0 })
    expect(r5.differing).toBe(5)
    expect(r5.pValue).toBe(2 / 32)
    expect(r5.minPValue).toBe(2 / 32)
    expect(r5.ci![0]).toBeLessThanOrEqual(0)
    // too few units for any shift to be rejected at 5%: no interval
    expect(Statistics.pairedRandomization([0, 0, 0], [1, 2, 3]).ci).toBeNull()
  })

  it("the randomization interval holds 0 exactly when p >= 0.05 (seeded simulated comparisons)", () => {
    const rng = new Sampling.SeededRandom(11)
    let significant = 0
    for (let t = 0; t < 40; t++) {
      const n = 8 + rng.int(40)
      const a = simulate(rng, n, 0.5)
      const shift = (rng.next() - 0.3) * 0.12
      // some queries unchanged, as when two rankers agree on them
      const b = a.map((x) => (rng.int(3) === 0 ? x : x + shift + (rng.next() - 0.5) * 0.1))
      const r = Statistics.pairedRandomization(a, b, { seed: t, permutations: 1000 })
      const zeroInside = r.ci![0] <= 0 && 0 <= r.ci![1]
      expect(zeroInside, `trial ${t}: p ${r.pValue} ci ${r.ci}`).toBe(r.pValue! >= 0.05)
      expect(r.ci![0]).toBeLessThanOrEqual(r.difference)
      expect(r.ci![1]).toBeGreaterThanOrEqual(r.difference)
      if (r.pValue! < 0.05) significant++
    }
    expect(significant).toBeGreaterThan(5)
    expect(significant).toBeLessThan(38)
  })

  it("bootstrap 95% intervals of a mean cover the true mean at their nominal rate (200 seeded datasets)", () => {
    const rng = new Sampling.SeededRandom(2024)
    const trials = 200
    let covered = 0
    for (let t = 0; t < trials; t++) {
      const values = simulate(rng, 40, 0.6)
      const ci = Statistics.meanInterval(values, { seed: t, resamples: 1000 })!
      if (ci[0] <= 0.6 && 0.6 <= ci[1]) covered++
    }
    // the percentile bootstrap runs a little under 95% at n = 40; 3 binomial SDs of 200 trials is ±4.6 points
    expect(withinBinomial(covered, trials, 0.95), `${covered}/${trials} covered`).toBe(true)
  })

  it("randomization intervals of a paired difference cover the true difference at their nominal rate", () => {
    const rng = new Sampling.SeededRandom(99)
    const trials = 200
    let covered = 0
    for (let t = 0; t < trials; t++) {
      const a = simulate(rng, 30, 0.5)
      const b = a.map((x) => x + 0.03 + (rng.next() + rng.next() - 1) * 0.2)
      const r = Statistics.pairedRandomization(a, b, { seed: t, permutations: 400 })
      if (r.ci![0] <= 0.03 && 0.03 <= r.ci![1]) covered++
    }
    expect(withinBinomial(covered, trials, 0.95), `${covered}/${trials} covered`).toBe(true)
  })
})
