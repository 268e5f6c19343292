/**
 * The embedded score model's classifier: a one-hidden-layer network (or a linear model when `hidden` is 0) with
 * either a softmax head or a cumulative-logit (proportional odds) head, trained with class-weighted
 * cross-entropy by Adam. Plain typed-array code with hand-written gradients; callers wrap it in Effect.
 *
 * @internal
 */
import type { Sampling } from "@ssra/core"

export type Head = "softmax" | "cumulative"

export interface NetworkShape {
  readonly inputs: number
  readonly hidden: number
  readonly classes: number
  readonly head: Head
}

export interface Layout {
  readonly w1: number
  readonly b1: number
  readonly w2: number
  readonly b2: number
  readonly theta: number
  readonly total: number
  /** Width of the layer the head reads (hidden units, or the inputs for a linear model). */
  readonly width: number
  /** Rows of the output weight matrix: one per class (softmax) or one scalar score (cumulative). */
  readonly outRows: number
}

export const layout = (s: NetworkShape): Layout => {
  const width = s.hidden > 0 ? s.hidden : s.inputs
  const outRows = s.head === "softmax" ? s.classes : 1
  const w1 = 0
  const b1 = w1 + s.hidden * s.inputs
  const w2 = b1 + s.hidden
  const b2 = w2 + outRows * width
  const theta = b2 + (s.head === "softmax" ? outRows : 0)
  const total = theta + (s.head === "cumulative" ? s.classes - 1 : 0)
  return { w1, b1, w2, b2, theta, total, width, outRows }
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))
const softplus = (x: number): number => (x > 30 ? x : Math.log1p(Math.exp(x)))
const softplusInverse = (y: number): number => (y > 30 ? y : Math.log(Math.expm1(Math.max(y, 1e-6))))
const logit = (p: number): number => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p))
  return Math.log(q / (1 - q))
}

/** Initial parameters: Xavier-normal weights, biases/thresholds at the class prior. */
export const initialize = (s: NetworkShape, prior: ReadonlyArray<number>, rng: Sampling.SeededRandom): Float64Array => {
  const l = layout(s)
  const p = new Float64Array(l.total)
  const std1 = Math.sqrt(2 / (s.inputs + Math.max(1, s.hidden)))
  for (let i = 0; i < s.hidden * s.inputs; i++) p[l.w1 + i] = rng.normal() * std1
  const std2 = Math.sqrt(2 / (l.width + l.outRows)) * 0.5
  for (let i = 0; i < l.outRows * l.width; i++) p[l.w2 + i] = rng.normal() * std2
  if (s.head === "softmax") {
    for (let k = 0; k < s.classes; k++) p[l.b2 + k] = Math.log(Math.max(prior[k]!, 1e-6))
  } else {
    let cumulative = 0
    let previous = 0
    for (let k = 0; k < s.classes - 1; k++) {
      cumulative += prior[k]!
      const t = logit(cumulative)
      if (k === 0) p[l.theta] = t
      else p[l.theta + k] = softplusInverse(Math.max(t - previous, 1e-3))
      previous = k === 0 ? t : previous + softplus(p[l.theta + k]!)
    }
  }
  return p
}

/** Ascending thresholds of a cumulative head. */
export const thresholds = (s: NetworkShape, params: Float64Array): Float64Array => {
  const l = layout(s)
  const t = new Float64Array(s.classes - 1)
  let acc = params[l.theta]!
  t[0] = acc
  for (let k = 1; k < s.classes - 1; k++) {
    acc += softplus(params[l.theta + k]!)
    t[k] = acc
  }
  return t
}

/**
 * Raw scores per row before temperature: the class logits (softmax; `classes` per row) or the threshold minus
 * score differences `θ_k − η` (cumulative; `classes − 1` per row).
 */
export const rawWidth = (s: NetworkShape): number => (s.head === "softmax" ? s.classes : s.classes - 1)

export const forwardRaw = (s: NetworkShape, params: Float64Array, x: Float64Array, rows: number): Float64Array => {
  const l = layout(s)
  const rw = rawWidth(s)
  const out = new Float64Array(rows * rw)
  const h = new Float64Array(l.width)
  const th = s.head === "cumulative" ? thresholds(s, params) : undefined
  for (let r = 0; r < rows; r++) {
    const xo = r * s.inputs
    if (s.hidden > 0) {
      for (let j = 0; j < s.hidden; j++) {
        let a = params[l.b1 + j]!
        const wo = l.w1 + j * s.inputs
        for (let i = 0; i < s.inputs; i++) a += params[wo + i]! * x[xo + i]!
        h[j] = Math.tanh(a)
      }
    } else {
      for (let i = 0; i < s.inputs; i++) h[i] = x[xo + i]!
    }
    if (s.head === "softmax") {
      for (let k = 0; k < s.classes; k++) {
        let z = params[l.b2 + k]!
        const wo = l.w2 + k * l.width
        for (let j = 0; j < l.width; j++) z += params[wo + j]! * h[j]!
        out[r * rw + k] = z
      }
    } else {
      let eta = 0
      for (let j = 0; j < l.width; j++) eta += params[l.w2 + j]! * h[j]!
      for (let k = 0; k < s.classes - 1; k++) out[r * rw + k] = th![k]! - eta
    }
  }
  return out
}

/** Probabilities (rows × classes) from raw scores at temperature `t`. */
export const probabilities = (s: NetworkShape, raw: Float64Array, rows: number, t: number): Float64Array => {
  const rw = rawWidth(s)
  const K = s.classes
  const out = new Float64Array(rows * K)
  for (let r = 0; r < rows; r++) {
    if (s.head === "softmax") {
      let max = Number.NEGATIVE_INFINITY
      for (let k = 0; k < K; k++) max = Math.max(max, raw[r * rw + k]! / t)
      let sum = 0
      for (let k = 0; k < K; k++) {
        const e = Math.exp(raw[r * rw + k]! / t - max)
        out[r * K + k] = e
        sum += e
      }
      for (let k = 0; k < K; k++) out[r * K + k] = out[r * K + k]! / sum
    } else {
      let previous = 0
      let sum = 0
      for (let k = 0; k < K; k++) {
        const cumulative = k < K - 1 ? Math.max(previous, sigmoid(raw[r * rw + k]! / t)) : 1
        const p = Math.max(cumulative - previous, 1e-12)
        out[r * K + k] = p
        sum += p
        previous = cumulative
      }
      for (let k = 0; k < K; k++) out[r * K + k] = out[r * K + k]! / sum
    }
  }
  return out
}

/**
 * Adds the gradient of `weight · −log p(y | x)` for one row to `grad`; returns the unweighted loss.
 * `h` and `dh` are scratch buffers of `layout.width`.
 */
const accumulate = (
  s: NetworkShape,
  l: Layout,
  params: Float64Array,
  th: Float64Array | undefined,
  x: Float64Array,
  xo: number,
  y: number,
  weight: number,
  grad: Float64Array,
  h: Float64Array,
  dh: Float64Array,
  z: Float64Array
): number => {
  if (s.hidden > 0) {
    for (let j = 0; j < s.hidden; j++) {
      let a = params[l.b1 + j]!
      const wo = l.w1 + j * s.inputs
      for (let i = 0; i < s.inputs; i++) a += params[wo + i]! * x[xo + i]!
      h[j] = Math.tanh(a)
    }
  } else {
    for (let i = 0; i < s.inputs; i++) h[i] = x[xo + i]!
  }
  dh.fill(0)
  let loss: number
  const K = s.classes
  if (s.head === "softmax") {
    let max = Number.NEGATIVE_INFINITY
    for (let k = 0; k < K; k++) {
      let v = params[l.b2 + k]!
      const wo = l.w2 + k * l.width
      for (let j = 0; j < l.width; j++) v += params[wo + j]! * h[j]!
      z[k] = v
      if (v > max) max = v
    }
    let sum = 0
    for (let k = 0; k < K; k++) {
      z[k] = Math.exp(z[k]! - max)
      sum += z[k]!
    }
    loss = -Math.log(Math.max(z[y]! / sum, 1e-300))
    for (let k = 0; k < K; k++) {
      const dz = weight * (z[k]! / sum - (k === y ? 1 : 0))
      grad[l.b2 + k]! += dz
      const wo = l.w2 + k * l.width
      for (let j = 0; j < l.width; j++) {
        grad[wo + j]! += dz * h[j]!
        dh[j]! += dz * params[wo + j]!
      }
    }
  } else {
    let eta = 0
    for (let j = 0; j < l.width; j++) eta += params[l.w2 + j]! * h[j]!
    // S_k = σ(θ_k − η) for k < K−1; S_{−1} = 0, S_{K−1} = 1
    const upper = y < K - 1 ? sigmoid(th![y]! - eta) : 1
    const lower = y > 0 ? sigmoid(th![y - 1]! - eta) : 0
    const dUpper = y < K - 1 ? upper * (1 - upper) : 0
    const dLower = y > 0 ? lower * (1 - lower) : 0
    const py = Math.max(upper - lower, 1e-12)
    loss = -Math.log(py)
    // dL/dθ_y = −w·dUpper/p, dL/dθ_{y−1} = +w·dLower/p, dL/dη = w·(dUpper − dLower)/p
    const gUpper = (-weight * dUpper) / py
    const gLower = (weight * dLower) / py
    const dEta = (weight * (dUpper - dLower)) / py
    // θ_k = θ_0 + Σ_{1≤j≤k} softplus(g_j): dθ_k/dθ_0 = 1, dθ_k/dg_j = σ(g_j) for j ≤ k
    const addTheta = (k: number, g: number) => {
      grad[l.theta]! += g
      for (let j = 1; j <= k; j++) grad[l.theta + j]! += g * sigmoid(params[l.theta + j]!)
    }
    if (y < K - 1) addTheta(y, gUpper)
    if (y > 0) addTheta(y - 1, gLower)
    for (let j = 0; j < l.width; j++) {
      grad[l.w2 + j]! += dEta * h[j]!
      dh[j]! += dEta * params[l.w2 + j]!
    }
  }
  if (s.hidden > 0) {
    for (let j = 0; j < s.hidden; j++) {
      const da = dh[j]! * (1 - h[j]! * h[j]!)
      if (da === 0) continue
      grad[l.b1 + j]! += da
      const wo = l.w1 + j * s.inputs
      for (let i = 0; i < s.inputs; i++) grad[wo + i]! += da * x[xo + i]!
    }
  }
  return loss
}

/** Class-weighted mean loss and its gradient over all rows (used by the gradient check). */
export const lossAndGradient = (
  s: NetworkShape,
  params: Float64Array,
  x: Float64Array,
  y: Int32Array,
  classWeights: ReadonlyArray<number>
): { readonly loss: number; readonly gradient: Float64Array } => {
  const l = layout(s)
  const grad = new Float64Array(l.total)
  const h = new Float64Array(l.width)
  const dh = new Float64Array(l.width)
  const z = new Float64Array(s.classes)
  const th = s.head === "cumulative" ? thresholds(s, params) : undefined
  let loss = 0
  let total = 0
  for (let r = 0; r < y.length; r++) {
    const w = classWeights[y[r]!]!
    loss += w * accumulate(s, l, params, th, x, r * s.inputs, y[r]!, w, grad, h, dh, z)
    total += w
  }
  for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! / total
  return { loss: loss / total, gradient: grad }
}

export interface FitOptions {
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  readonly l2: number
  readonly patience: number
}

export interface FitResult {
  readonly params: Float64Array
  readonly epochs: number
  readonly bestEpoch: number
  /** The held-out loss of the starting weights (infinite without held-out rows). */
  readonly initialValidLoss: number
  readonly history: ReadonlyArray<{ readonly epoch: number; readonly trainLoss: number; readonly validLoss: number }>
}

/** Class-weighted mean loss (weights normalized by their sum) on a data set. */
export const weightedLoss = (
  s: NetworkShape,
  params: Float64Array,
  x: Float64Array,
  y: Int32Array,
  weights: ArrayLike<number>
): number => {
  const rows = y.length
  if (rows === 0) return 0
  const probs = probabilities(s, forwardRaw(s, params, x, rows), rows, 1)
  let loss = 0
  let total = 0
  for (let r = 0; r < rows; r++) {
    const w = weights[y[r]!]!
    loss -= w * Math.log(Math.max(probs[r * s.classes + y[r]!]!, 1e-12))
    total += w
  }
  return loss / total
}

/** Where a stepwise fit stands after a `step`: mid-epoch, at the end of an epoch, or finished. */
export type FitStep = "batch" | "epoch" | "done"

/**
 * A fit in progress: each `step` runs one minibatch (and, after an epoch's last one, the held-out check), so a
 * caller can yield between steps. The same arithmetic in the same order as one `fit` call.
 */
export interface Fitter {
  readonly step: () => FitStep
  /** Epochs finished so far. */
  readonly epoch: () => number
  readonly result: () => FitResult
}

/**
 * Minibatch Adam on class-weighted cross-entropy with L2 on the weight matrices; keeps the parameters of the
 * epoch with the lowest weighted validation loss (early stopping after `patience` epochs without improvement).
 * Stepwise: see `Fitter`.
 */
export const fitter = (
  s: NetworkShape,
  initial: Float64Array,
  train: { readonly x: Float64Array; readonly y: Int32Array },
  valid: { readonly x: Float64Array; readonly y: Int32Array },
  classWeights: ReadonlyArray<number>,
  options: FitOptions,
  rng: Sampling.SeededRandom
): Fitter => {
  const l = layout(s)
  const params = Float64Array.from(initial)
  const grad = new Float64Array(l.total)
  const m = new Float64Array(l.total)
  const v = new Float64Array(l.total)
  const h = new Float64Array(l.width)
  const dh = new Float64Array(l.width)
  const z = new Float64Array(s.classes)
  const decayed = new Uint8Array(l.total)
  for (let i = l.w1; i < l.b1; i++) decayed[i] = 1
  for (let i = l.w2; i < l.w2 + l.outRows * l.width; i++) decayed[i] = 1
  const rows = train.y.length
  const order = new Int32Array(rows)
  for (let i = 0; i < rows; i++) order[i] = i
  const beta1 = 0.9
  const beta2 = 0.999
  let step = 0
  let best = Float64Array.from(params)
  let bestLoss = valid.y.length > 0 ? weightedLoss(s, params, valid.x, valid.y, classWeights) : Number.POSITIVE_INFINITY
  let bestEpoch = 0
  const initialValidLoss = bestLoss
  const history: Array<{ epoch: number; trainLoss: number; validLoss: number }> = []
  let epoch = 1
  let start = 0
  let done = false
  let epochLoss = 0
  let epochWeight = 0
  const shuffle = () => {
    for (let i = rows - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      const t = order[i]!
      order[i] = order[j]!
      order[j] = t
    }
    epochLoss = 0
    epochWeight = 0
  }
  const batch = () => {
    const end = Math.min(rows, start + options.batchSize)
    grad.fill(0)
    const th = s.head === "cumulative" ? thresholds(s, params) : undefined
    let batchWeight = 0
    for (let b = start; b < end; b++) {
      const r = order[b]!
      const y = train.y[r]!
      const w = classWeights[y]!
      const loss = accumulate(s, l, params, th, train.x, r * s.inputs, y, w, grad, h, dh, z)
      epochLoss += w * loss
      epochWeight += w
      batchWeight += w
    }
    step++
    const lrT = (options.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step)
    for (let i = 0; i < l.total; i++) {
      let g = grad[i]! / batchWeight
      if (decayed[i] === 1) g += options.l2 * params[i]!
      m[i] = beta1 * m[i]! + (1 - beta1) * g
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g
      params[i]! -= (lrT * m[i]!) / (Math.sqrt(v[i]!) + 1e-8)
    }
    start = end
  }
  /** The held-out check after an epoch; true when training stops here. */
  const endEpoch = (): boolean => {
    const validLoss =
      valid.y.length > 0 ? weightedLoss(s, params, valid.x, valid.y, classWeights) : epochLoss / epochWeight
    history.push({ epoch, trainLoss: epochLoss / epochWeight, validLoss })
    if (validLoss < bestLoss - 1e-6) {
      bestLoss = validLoss
      best = Float64Array.from(params)
      bestEpoch = epoch
    } else if (epoch - bestEpoch >= options.patience) {
      return true
    }
    return false
  }
  if (options.epochs >= 1) shuffle()
  else done = true
  const next = (): FitStep => {
    if (done) return "done"
    if (start < rows) batch()
    if (start < rows) return "batch"
    const stop = endEpoch()
    if (stop || epoch >= options.epochs) {
      done = true
      return "done"
    }
    epoch++
    start = 0
    shuffle()
    return "epoch"
  }
  return {
    step: next,
    epoch: () => history.length,
    result: () => ({ params: best, epochs: history.length, bestEpoch, initialValidLoss, history })
  }
}

/** `fitter` run to the end in one call. */
export const fit = (
  s: NetworkShape,
  initial: Float64Array,
  train: { readonly x: Float64Array; readonly y: Int32Array },
  valid: { readonly x: Float64Array; readonly y: Int32Array },
  classWeights: ReadonlyArray<number>,
  options: FitOptions,
  rng: Sampling.SeededRandom
): FitResult => {
  const f = fitter(s, initial, train, valid, classWeights, options, rng)
  while (f.step() !== "done") {}
  return f.result()
}

/**
 * Temperature minimizing the (unweighted) negative log-likelihood of held-out rows: golden-section search over
 * log T in [log 0.05, log 20]. Returns 1 when there are no held-out rows.
 */
export const fitTemperature = (s: NetworkShape, raw: Float64Array, y: Int32Array): number => {
  const rows = y.length
  if (rows === 0) return 1
  const nll = (logT: number) => {
    const p = probabilities(s, raw, rows, Math.exp(logT))
    let loss = 0
    for (let r = 0; r < rows; r++) loss -= Math.log(Math.max(p[r * s.classes + y[r]!]!, 1e-12))
    return loss / rows
  }
  let a = Math.log(0.05)
  let b = Math.log(20)
  const phi = (Math.sqrt(5) - 1) / 2
  let c = b - phi * (b - a)
  let d = a + phi * (b - a)
  let fc = nll(c)
  let fd = nll(d)
  for (let i = 0; i < 60; i++) {
    if (fc < fd) {
      b = d
      d = c
      fd = fc
      c = b - phi * (b - a)
      fc = nll(c)
    } else {
      a = c
      c = d
      fc = fd
      d = a + phi * (b - a)
      fd = nll(d)
    }
  }
  return Math.exp((a + b) / 2)
}
