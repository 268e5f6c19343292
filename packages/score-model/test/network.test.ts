import { assert, describe, it } from "@effect/vitest"
import { Sampling } from "@ssra/core"
import * as network from "../src/internal/network.js"

const check = (shape: network.NetworkShape) => {
  const rng = new Sampling.SeededRandom(123)
  const rows = 7
  const x = Float64Array.from({ length: rows * shape.inputs }, () => rng.normal())
  const y = Int32Array.from({ length: rows }, (_, i) => i % shape.classes)
  const weights = Array.from({ length: shape.classes }, (_, k) => 1 + k * 0.5)
  const params = network.initialize(
    shape,
    Array.from({ length: shape.classes }, () => 1 / shape.classes),
    rng
  )
  for (let i = 0; i < params.length; i++) params[i] = params[i]! + rng.normal() * 0.3
  const { loss, gradient } = network.lossAndGradient(shape, params, x, y, weights)
  assert.isTrue(Math.abs(loss - network.weightedLoss(shape, params, x, y, weights)) < 1e-9)
  const eps = 1e-6
  let worst = 0
  for (let i = 0; i < params.length; i++) {
    const plus = Float64Array.from(params)
    const minus = Float64Array.from(params)
    plus[i] = plus[i]! + eps
    minus[i] = minus[i]! - eps
    const numeric =
      (network.weightedLoss(shape, plus, x, y, weights) - network.weightedLoss(shape, minus, x, y, weights)) / (2 * eps)
    worst = Math.max(
      worst,
      Math.abs(numeric - gradient[i]!) / Math.max(1e-4, Math.abs(numeric) + Math.abs(gradient[i]!))
    )
  }
  return worst
}

describe("network", () => {
  it("softmax head gradients match finite differences", () => {
    assert.isBelow(check({ inputs: 3, hidden: 4, classes: 4, head: "softmax" }), 1e-5)
    assert.isBelow(check({ inputs: 3, hidden: 0, classes: 3, head: "softmax" }), 1e-5)
  })

  it("cumulative-logit head gradients match finite differences", () => {
    assert.isBelow(check({ inputs: 3, hidden: 4, classes: 4, head: "cumulative" }), 1e-5)
    assert.isBelow(check({ inputs: 3, hidden: 0, classes: 3, head: "cumulative" }), 1e-5)
  })

  it("cumulative thresholds ascend and probabilities sum to 1 at any temperature", () => {
    const shape: network.NetworkShape = { inputs: 2, hidden: 0, classes: 4, head: "cumulative" }
    const params = network.initialize(shape, [0.1, 0.2, 0.3, 0.4], new Sampling.SeededRandom(1))
    const t = network.thresholds(shape, params)
    assert.isTrue(t[0]! < t[1]! && t[1]! < t[2]!)
    const x = Float64Array.from([0.5, -1, 2, 3])
    const raw = network.forwardRaw(shape, params, x, 2)
    for (const temperature of [0.2, 1, 5]) {
      const p = network.probabilities(shape, raw, 2, temperature)
      for (let r = 0; r < 2; r++)
        assert.isTrue(Math.abs(p[r * 4]! + p[r * 4 + 1]! + p[r * 4 + 2]! + p[r * 4 + 3]! - 1) < 1e-12)
    }
    // the prior-based initialization reproduces the class prior for a zero score
    const zero = network.probabilities(shape, network.forwardRaw(shape, params, new Float64Array(2), 1), 1, 1)
    assert.isTrue(Math.abs(zero[0]! - 0.1) < 1e-6 && Math.abs(zero[3]! - 0.4) < 1e-6)
  })

  it("temperature scaling lowers the NLL of over-confident scores", () => {
    const shape: network.NetworkShape = { inputs: 1, hidden: 0, classes: 2, head: "softmax" }
    // logits say 0.99 for class 1, but only 60% of rows are class 1
    const rows = 100
    const raw = new Float64Array(rows * 2)
    for (let r = 0; r < rows; r++) raw[r * 2 + 1] = Math.log(99)
    const y = Int32Array.from({ length: rows }, (_, r) => (r < 60 ? 1 : 0))
    const t = network.fitTemperature(shape, raw, y)
    const p = network.probabilities(shape, raw, 1, t)
    assert.isTrue(Math.abs(p[1]! - 0.6) < 1e-3)
  })
})
