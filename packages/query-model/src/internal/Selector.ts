// The learned selector: a multinomial logistic regression P(grade | candidate features) with class weights and L2,
// trained full-batch with Adam on standardized features. Plain typed-array code: callers wrap it in Effect.
export interface SelectorShape {
  readonly inputs: number
  readonly classes: number
}

/** Weights are `classes × (inputs + 1)`, the bias last in each row. */
export const parameterCount = (s: SelectorShape): number => s.classes * (s.inputs + 1)

export const probabilities = (s: SelectorShape, w: ArrayLike<number>, x: Float64Array, rows: number): Float64Array => {
  const { inputs: D, classes: K } = s
  const out = new Float64Array(rows * K)
  const z = new Float64Array(K)
  for (let r = 0; r < rows; r++) {
    const xo = r * D
    let max = Number.NEGATIVE_INFINITY
    for (let k = 0; k < K; k++) {
      const wo = k * (D + 1)
      let v = w[wo + D]!
      for (let d = 0; d < D; d++) v += w[wo + d]! * x[xo + d]!
      z[k] = v
      if (v > max) max = v
    }
    let sum = 0
    for (let k = 0; k < K; k++) {
      const e = Math.exp(z[k]! - max)
      z[k] = e
      sum += e
    }
    for (let k = 0; k < K; k++) out[r * K + k] = z[k]! / sum
  }
  return out
}

export interface FitOptions {
  readonly iterations: number
  readonly learningRate: number
  readonly l2: number
}

export interface FitResult {
  readonly weights: Float64Array
  readonly loss: number
}

/** A fit in progress: one Adam iteration per `step`, so a caller can yield between iterations. */
export interface Fitter {
  readonly step: () => void
  readonly result: () => FitResult
}

/** Weighted softmax regression, stepwise; `sampleWeights` already include the class weights. */
export const fitter = (
  s: SelectorShape,
  x: Float64Array,
  labels: Uint8Array,
  sampleWeights: Float64Array,
  rows: number,
  options: Omit<FitOptions, "iterations">
): Fitter => {
  const { inputs: D, classes: K } = s
  const P = parameterCount(s)
  const w = new Float64Array(P)
  const m = new Float64Array(P)
  const v = new Float64Array(P)
  const g = new Float64Array(P)
  let totalWeight = 0
  for (let r = 0; r < rows; r++) totalWeight += sampleWeights[r]!
  if (totalWeight <= 0) totalWeight = 1
  const beta1 = 0.9
  const beta2 = 0.999
  let loss = 0
  let it = 0
  const step = () => {
    it++
    g.fill(0)
    loss = 0
    const p = probabilities(s, w, x, rows)
    for (let r = 0; r < rows; r++) {
      const sw = sampleWeights[r]! / totalWeight
      const y = labels[r]!
      const xo = r * D
      loss -= sw * Math.log(Math.max(p[r * K + y]!, 1e-12))
      for (let k = 0; k < K; k++) {
        const diff = sw * (p[r * K + k]! - (k === y ? 1 : 0))
        if (diff === 0) continue
        const wo = k * (D + 1)
        for (let d = 0; d < D; d++) g[wo + d]! += diff * x[xo + d]!
        g[wo + D]! += diff
      }
    }
    for (let k = 0; k < K; k++) {
      for (let d = 0; d < D; d++) {
        const i = k * (D + 1) + d
        g[i]! += options.l2 * w[i]!
        loss += 0.5 * options.l2 * w[i]! * w[i]!
      }
    }
    const c1 = 1 - beta1 ** it
    const c2 = 1 - beta2 ** it
    for (let i = 0; i < P; i++) {
      m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!
      v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!
      w[i]! -= (options.learningRate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8)
    }
  }
  return { step, result: () => ({ weights: w, loss }) }
}
