import { describe, expect, it } from "vitest"
import { Metrics, Statistics } from "../src/index.js"

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
})
