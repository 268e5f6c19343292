import { assert, describe, it } from "@effect/vitest"
import { Sampling } from "@ssra/core"
import { Loss } from "@ssra/embedding"

const rand = (n: number, rng: Sampling.SeededRandom) => Float64Array.from({ length: n }, () => rng.normal())

interface Case {
  readonly batch: Loss.LossBatch
  readonly options: Loss.LossOptions
}

const makeCase = (
  options: Partial<Loss.LossOptions>,
  extra: { negatives?: number; seed?: number; weights?: Array<number>; D?: number } = {}
): Case => {
  const rng = new Sampling.SeededRandom(extra.seed ?? 7)
  const B = 4
  const D = extra.D ?? 6
  const M = extra.negatives ?? 0
  return {
    batch: {
      size: B,
      width: D,
      queries: rand(B * D, rng),
      positives: rand(B * D, rng),
      negatives: rand(M * D, rng),
      negativeCount: M,
      weights: extra.weights ?? [1, 2, 3, 0.5],
      logTemperature: Math.log(0.3)
    },
    options: { dimensions: [D], queryQuery: false, documentDocument: false, falseNegativeMargin: null, ...options }
  }
}

/** Central differences on every input value and the log-temperature against the analytic gradient. */
const gradientCheck = (c: Case) => {
  const base = Loss.compute(c.batch, c.options)
  const h = 1e-6
  const check = (key: "queries" | "positives" | "negatives", grad: Float64Array) => {
    const values = c.batch[key] as Float64Array
    for (let i = 0; i < values.length; i++) {
      const keep = values[i]!
      values[i] = keep + h
      const up = Loss.compute(c.batch, c.options).loss
      values[i] = keep - h
      const down = Loss.compute(c.batch, c.options).loss
      values[i] = keep
      const numeric = (up - down) / (2 * h)
      assert.approximately(grad[i]!, numeric, 1e-6 + 1e-5 * Math.abs(numeric), `${key}[${i}]`)
    }
  }
  check("queries", base.gradQueries)
  check("positives", base.gradPositives)
  check("negatives", base.gradNegatives)
  const up = Loss.compute({ ...c.batch, logTemperature: c.batch.logTemperature + h }, c.options).loss
  const down = Loss.compute({ ...c.batch, logTemperature: c.batch.logTemperature - h }, c.options).loss
  assert.approximately(base.gradLogTemperature, (up - down) / (2 * h), 1e-6)
  return base
}

describe("Loss", () => {
  it("in-batch InfoNCE matches a direct computation", () => {
    const c = makeCase({}, { weights: [1, 1, 1, 1] })
    const { batch } = c
    const B = batch.size
    const D = batch.width
    const unit = (v: ArrayLike<number>, r: number) => {
      const row = Array.from({ length: D }, (_, j) => v[r * D + j]!)
      const n = Math.hypot(...row)
      return row.map((x) => x / n)
    }
    let expected = 0
    for (let i = 0; i < B; i++) {
      const q = unit(batch.queries, i)
      const logits = Array.from(
        { length: B },
        (_, j) => unit(batch.positives, j).reduce((s, x, t) => s + x * q[t]!, 0) / Math.exp(batch.logTemperature)
      )
      const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0))
      expected += (lse - logits[i]!) / B
    }
    assert.approximately(Loss.compute(batch, c.options).loss, expected, 1e-12)
  })

  it("gradient check: in-batch negatives, per-row weights, temperature", () => {
    gradientCheck(makeCase({}))
  })

  it("gradient check: shared hard negatives with exclusions", () => {
    const c = makeCase({}, { negatives: 3 })
    const excludeNegative = new Uint8Array(4 * 3)
    excludeNegative[1] = 1
    const excludePositive = new Uint8Array(16)
    excludePositive[2] = 1
    gradientCheck({ ...c, batch: { ...c.batch, excludeNegative, excludePositive } })
  })

  it("gradient check: query–query self-contrast", () => {
    gradientCheck(makeCase({ queryQuery: true }, { negatives: 2 }))
  })

  it("gradient check: document–document self-contrast", () => {
    gradientCheck(makeCase({ documentDocument: true }, { negatives: 2 }))
  })

  it("gradient check: Matryoshka prefixes averaged", () => {
    gradientCheck(makeCase({ dimensions: [2, 4, 6], queryQuery: true, documentDocument: true }, { negatives: 2 }))
  })

  it("gradient check: false-negative masking (masked candidates carry no gradient)", () => {
    const c = makeCase({ falseNegativeMargin: 0.1 }, { negatives: 2, D: 6 })
    // make negative 0 a near copy of query 0, so its cosine beats the positive's by more than the margin
    const q = c.batch.queries as Float64Array
    const n = c.batch.negatives as Float64Array
    for (let j = 0; j < 6; j++) n[j] = q[j]! * 1.3 + 0.01 * j
    const result = gradientCheck(c)
    assert.isAbove(result.masked, 0)
    const unmasked = Loss.compute(c.batch, { ...c.options, falseNegativeMargin: null })
    assert.isAbove(unmasked.loss, result.loss)
  })

  it("gradient check: fixed lexical residual offsets (logit = (cos + o)/τ), with Matryoshka, self-contrast and masking", () => {
    const rng = new Sampling.SeededRandom(11)
    const base = makeCase(
      { dimensions: [3, 6], queryQuery: true, documentDocument: true, falseNegativeMargin: 0.5 },
      { negatives: 3 }
    )
    const c: Case = {
      ...base,
      batch: {
        ...base.batch,
        positiveOffsets: Float64Array.from({ length: 16 }, () => rng.next()),
        negativeOffsets: Float64Array.from({ length: 12 }, () => rng.next())
      }
    }
    const withOffsets = gradientCheck(c)
    const without = Loss.compute(base.batch, base.options)
    assert.notStrictEqual(withOffsets.loss, without.loss)
    // an offset equal for every candidate of a row cancels in the softmax (without masking)
    const flat = {
      ...base.batch,
      positiveOffsets: new Float64Array(16).fill(0.7),
      negativeOffsets: new Float64Array(12).fill(0.7)
    }
    const opts = { ...base.options, queryQuery: false, documentDocument: false, falseNegativeMargin: null }
    assert.approximately(Loss.compute(flat, opts).loss, Loss.compute(base.batch, opts).loss, 1e-12)
  })

  it("weight 0 rows add nothing; the loss scales with the weights", () => {
    const a = makeCase({}, { weights: [1, 1, 1, 1] })
    const b = makeCase({}, { weights: [2, 2, 2, 2] })
    const z = makeCase({}, { weights: [0, 0, 0, 0] })
    assert.approximately(Loss.compute(b.batch, b.options).loss, 2 * Loss.compute(a.batch, a.options).loss, 1e-12)
    assert.strictEqual(Loss.compute(z.batch, z.options).loss, 0)
  })
})
