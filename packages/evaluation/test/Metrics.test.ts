import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { Metrics } from "../src/index.js"

const fixtures = new URL("../../../fixtures/metrics/", import.meta.url)
const ndcgFixture = JSON.parse(readFileSync(new URL("ndcg_cut.json", fixtures), "utf8")) as {
  tolerance: number
  queries: Array<{
    qid: string
    qrels: Record<string, number>
    run: Record<string, number>
    expected: Record<string, number>
  }>
  mean: Record<string, number>
}
const apFixture = JSON.parse(readFileSync(new URL("average_precision.json", fixtures), "utf8")) as {
  tolerance: number
  cases: Array<{ labels: Array<number>; scores: Array<number>; expected: Record<string, number | null> }>
}

describe("ndcg_cut golden vectors (trec_eval 10.0)", () => {
  const cutoffs = Object.keys(ndcgFixture.mean)
  it("matches every query and cutoff within 1e-12", () => {
    let checked = 0
    for (const q of ndcgFixture.queries) {
      for (const name of cutoffs) {
        const k = Number(name.slice("ndcg@".length))
        const got = Metrics.ndcgAtK(q.qrels, q.run, k)
        expect(Math.abs(got - q.expected[name]!), `${q.qid} ${name}`).toBeLessThanOrEqual(ndcgFixture.tolerance)
        checked++
      }
    }
    expect(checked).toBe(ndcgFixture.queries.length * cutoffs.length)
  })
  it("matches the means (all-zero queries count)", () => {
    for (const name of cutoffs) {
      const k = Number(name.slice("ndcg@".length))
      const values = ndcgFixture.queries.map((q) => Metrics.ndcgAtK(q.qrels, q.run, k))
      const mean = values.reduce((a, b) => a + b, 0) / values.length
      expect(Math.abs(mean - ndcgFixture.mean[name]!)).toBeLessThanOrEqual(ndcgFixture.tolerance)
    }
  })
  it("accepts Maps as well as records", () => {
    const q = ndcgFixture.queries[0]!
    const got = Metrics.ndcgAtK(new Map(Object.entries(q.qrels)), new Map(Object.entries(q.run)), 10)
    expect(Math.abs(got - q.expected["ndcg@10"]!)).toBeLessThanOrEqual(1e-12)
  })
})

describe("average_precision golden vectors (scikit-learn 1.2.1)", () => {
  it("matches AP@>=1/2/3 within 1e-12, null where undefined", () => {
    for (const [i, c] of apFixture.cases.entries()) {
      const got = Metrics.apAtThresholds(c.labels, c.scores)
      for (const key of ["ap@>=1", "ap@>=2", "ap@>=3"]) {
        const want = c.expected[key]
        if (want === null) expect(got[key], `case ${i} ${key}`).toBeNull()
        else expect(Math.abs((got[key] as number) - want!), `case ${i} ${key}`).toBeLessThanOrEqual(apFixture.tolerance)
      }
    }
  })
  it("binary averagePrecision agrees with the threshold form", () => {
    const c = apFixture.cases[0]!
    expect(Metrics.averagePrecision(c.labels, c.scores)).toBeCloseTo(c.expected["ap@>=1"]!, 12)
    expect(Metrics.averagePrecision([1, 1], [0.2, 0.1])).toBeNull()
    expect(Metrics.averagePrecision([0, 0], [0.2, 0.1])).toBeNull()
  })
})

describe("ranking order", () => {
  it("breaks ties by document id descending, byte-wise UTF-8", () => {
    // U+1F600 (astral, UTF-8 F0…) sorts after U+FF21 (EF…) byte-wise, but before it in UTF-16 units.
    expect(Metrics.compareUtf8("\u{1F600}", "\uFF21")).toBeGreaterThan(0)
    expect("\u{1F600}" < "\uFF21").toBe(true)
    const ids = ["a", "\uFF21", "\u{1F600}", "b"]
    const top = Metrics.rankTop([1, 1, 1, 2], ids)
    expect([...top].map((i) => ids[i])).toEqual(["b", "\u{1F600}", "\uFF21", "a"])
  })
  it("partial selection equals the full sort", () => {
    const n = 200
    const scores = Array.from({ length: n }, (_, i) => ((i * 7919) % 13) / 13)
    const ids = Array.from({ length: n }, (_, i) => `d${(i * 31) % n}`)
    const full = [...Metrics.rankTop(scores, ids, n)]
    expect([...Metrics.rankTop(scores, ids, 10)]).toEqual(full.slice(0, 10))
  })
  it("rejects NaN scores", () => {
    expect(() => Metrics.ndcgAtK({ a: 1 }, { a: Number.NaN }, 10)).toThrow(/NaN/)
    expect(() => Metrics.averagePrecision([0, 1], [0.1, Number.NaN])).toThrow(/NaN/)
  })
})

describe("trec_eval cutoff metrics", () => {
  const qrels = { a: 2, b: 0, c: 1, d: 3 }
  const run = { a: 0.9, b: 0.8, c: 0.7, x: 0.6 }
  it("MRR@k, Recall@k, MAP@k", () => {
    expect(Metrics.mrrAtK(qrels, run, 10)).toBe(1)
    expect(Metrics.mrrAtK({ b: 1 }, run, 10)).toBe(0.5)
    expect(Metrics.mrrAtK({ b: 1 }, run, 1)).toBe(0)
    expect(Metrics.recallAtK(qrels, run, 10)).toBeCloseTo(2 / 3, 15)
    expect(Metrics.mapAtK(qrels, run, 10)).toBeCloseTo((1 + 2 / 3) / 3, 15)
    expect(Metrics.recallAtK({ a: 0 }, run, 10)).toBe(0)
  })
})

describe("classifier metrics (scikit-learn)", () => {
  const truth = [0, 1, 2, 2, 1, 0, 3, 3]
  const pred = [0, 2, 2, 1, 1, 0, 3, 2]
  it("accuracy, macro-F1, quadratic kappa, confusion", () => {
    expect(Metrics.accuracy(truth, pred)).toBe(5 / 8)
    // per-class F1: 0 → 1, 1 → 0.5, 2 → 0.4, 3 → 2/3
    expect(Metrics.macroF1(truth, pred)).toBeCloseTo((1 + 0.5 + 0.4 + 2 / 3) / 4, 15)
    // sklearn.metrics.cohen_kappa_score(truth, pred, weights="quadratic") = 0.8333333333333334 (computed with numpy, same formula)
    expect(Metrics.quadraticWeightedKappa(truth, pred)).toBeCloseTo(0.8333333333333334, 14)
    expect(Metrics.confusionMatrix(truth, pred).matrix).toEqual([
      [2, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 1, 1, 0],
      [0, 0, 1, 1]
    ])
    expect(Metrics.accuracy([], [])).toBeNull()
    expect(Metrics.quadraticWeightedKappa([1, 1], [1, 1])).toBeNull()
  })
})
