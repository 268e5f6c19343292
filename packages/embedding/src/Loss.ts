/**
 * The grade-weighted InfoNCE loss of the SSRA paper's footnote, `L = (1/B) Σ_i w(s_i) · InfoNCE_i`, with
 * in-batch negatives, shared hard negatives, optional query–query and document–document in-batch negatives
 * ("self-contrast"), a fixed or learned (log-parameterized) temperature, Matryoshka prefixes averaged, and
 * in-loss masking of negatives whose cosine exceeds the positive's by a margin (suspected false negatives).
 * Gradients are written by hand (checked against finite differences in the tests).
 *
 * @since 0.1.0
 */
import { EmbeddingOptionError } from "./EmbeddingOptionError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface LossOptions {
  /** Prefix sizes whose losses are averaged (Matryoshka); each prefix is re-normalized. */
  readonly dimensions: ReadonlyArray<number>
  /** Other queries of the batch are negatives of each query. */
  readonly queryQuery: boolean
  /** Other positives of the batch are negatives of each row's positive (d–d), in the same softmax. */
  readonly documentDocument: boolean
  /** Drop a negative whose cosine exceeds the positive's by more than this (null: keep all). */
  readonly falseNegativeMargin: number | null
}

/**
 * One batch of pooled (un-normalized) vectors, row-major, all `width` wide.
 *
 * @since 0.1.0
 * @category models
 */
export interface LossBatch {
  readonly size: number
  readonly width: number
  readonly queries: Float32Array | Float64Array
  readonly positives: Float32Array | Float64Array
  /** Hard/explicit negatives, shared by every row of the batch (`negativeCount` rows). */
  readonly negatives: Float32Array | Float64Array
  readonly negativeCount: number
  /** `w(s_i)` per row. */
  readonly weights: ArrayLike<number>
  /** `size × size`: 1 where positive j must not be a negative of query i (same text, known relevant pair). */
  readonly excludePositive?: Uint8Array | undefined
  /** `size × negativeCount`: 1 where negative l must not be a negative of query i. */
  readonly excludeNegative?: Uint8Array | undefined
  /**
   * `size × size`: a fixed score added to the cosine of query i and positive j before the temperature (the
   * lexical channel's residual offset: logit = (cos + o)/τ); absent: 0.
   */
  readonly positiveOffsets?: ArrayLike<number> | undefined
  /** `size × negativeCount`: the same for query i and negative l. */
  readonly negativeOffsets?: ArrayLike<number> | undefined
  readonly logTemperature: number
}

/**
 * The loss, its gradients with respect to the pooled vectors and the log-temperature, and how many candidate
 * negatives the margin masked.
 *
 * @since 0.1.0
 * @category models
 */
export interface LossResult {
  readonly loss: number
  readonly gradQueries: Float64Array
  readonly gradPositives: Float64Array
  readonly gradNegatives: Float64Array
  readonly gradLogTemperature: number
  readonly masked: number
}

const KIND_POSITIVE = 0
const KIND_NEGATIVE = 1
const KIND_QUERY = 2
const KIND_DOCUMENT = 3

/** Normalizes the first m values of each row of `src` (width D) into `dst` (width m); returns 1/norm per row. */
const normalizePrefix = (
  src: ArrayLike<number>,
  rows: number,
  D: number,
  m: number,
  dst: Float64Array
): Float64Array => {
  const inv = new Float64Array(rows)
  for (let r = 0; r < rows; r++) {
    let s = 0
    for (let j = 0; j < m; j++) s += src[r * D + j]! * src[r * D + j]!
    const n = Math.sqrt(s)
    const iv = n > 0 ? 1 / n : 0
    inv[r] = iv
    for (let j = 0; j < m; j++) dst[r * m + j] = src[r * D + j]! * iv
  }
  return inv
}

const dot = (a: Float64Array, ai: number, b: Float64Array, bi: number, m: number): number => {
  let s = 0
  for (let j = 0; j < m; j++) s += a[ai + j]! * b[bi + j]!
  return s
}

/** Back through v = u/|u| on a prefix: du = (dv − v (v·dv)) / |u|, added into grad (width D). */
const backNormalize = (
  v: Float64Array,
  dv: Float64Array,
  inv: Float64Array,
  rows: number,
  m: number,
  D: number,
  grad: Float64Array
) => {
  for (let r = 0; r < rows; r++) {
    const proj = dot(v, r * m, dv, r * m, m)
    const iv = inv[r]!
    for (let j = 0; j < m; j++) grad[r * D + j] += (dv[r * m + j]! - v[r * m + j]! * proj) * iv
  }
}

/**
 * Computes the loss and its gradients.
 *
 * @since 0.1.0
 * @category loss
 */
export const compute = (batch: LossBatch, options: LossOptions): LossResult => {
  const B = batch.size
  const M = batch.negativeCount
  const D = batch.width
  const tau = Math.exp(batch.logTemperature)
  const gradQueries = new Float64Array(B * D)
  const gradPositives = new Float64Array(B * D)
  const gradNegatives = new Float64Array(M * D)
  const capacity = 1 + 3 * B + M
  const logits = new Float64Array(capacity)
  const kinds = new Uint8Array(capacity)
  const index = new Int32Array(capacity)
  const margin = options.falseNegativeMargin
  const nd = options.dimensions.length
  let loss = 0
  let gradLogTemperature = 0
  let masked = 0
  for (const m of options.dimensions) {
    if (m < 1 || m > D)
      throw new EmbeddingOptionError({
        option: "dimensions",
        detail: `Matryoshka dimension ${m} is outside 1..${D}`
      })
    const q = new Float64Array(B * m)
    const p = new Float64Array(B * m)
    const n = new Float64Array(M * m)
    const invQ = normalizePrefix(batch.queries, B, D, m, q)
    const invP = normalizePrefix(batch.positives, B, D, m, p)
    const invN = normalizePrefix(batch.negatives, M, D, m, n)
    const dq = new Float64Array(B * m)
    const dp = new Float64Array(B * m)
    const dn = new Float64Array(M * m)
    for (let i = 0; i < B; i++) {
      const w = batch.weights[i]!
      if (w === 0) continue
      const po = batch.positiveOffsets
      const no = batch.negativeOffsets
      const pos = dot(q, i * m, p, i * m, m) + (po === undefined ? 0 : po[i * B + i]!)
      const limit = margin === null ? Number.POSITIVE_INFINITY : pos + margin
      let c = 0
      logits[c] = pos / tau
      kinds[c] = KIND_POSITIVE
      index[c++] = i
      const add = (cos: number, kind: number, j: number) => {
        if (cos > limit) {
          masked++
          return
        }
        logits[c] = cos / tau
        kinds[c] = kind
        index[c++] = j
      }
      for (let j = 0; j < B; j++) {
        if (j === i || batch.excludePositive?.[i * B + j] === 1) continue
        add(dot(q, i * m, p, j * m, m) + (po === undefined ? 0 : po[i * B + j]!), KIND_DOCUMENT, j)
      }
      for (let l = 0; l < M; l++) {
        if (batch.excludeNegative?.[i * M + l] === 1) continue
        add(dot(q, i * m, n, l * m, m) + (no === undefined ? 0 : no[i * M + l]!), KIND_NEGATIVE, l)
      }
      if (options.queryQuery) for (let j = 0; j < B; j++) if (j !== i) add(dot(q, i * m, q, j * m, m), KIND_QUERY, j)
      if (options.documentDocument) {
        for (let j = 0; j < B; j++) {
          if (j === i || batch.excludePositive?.[i * B + j] === 1) continue
          // d–d: positive i against positive j, tagged so the gradient goes to both positives
          add(dot(p, i * m, p, j * m, m), KIND_DOCUMENT + 1, j)
        }
      }
      let max = Number.NEGATIVE_INFINITY
      for (let k = 0; k < c; k++) if (logits[k]! > max) max = logits[k]!
      let sum = 0
      for (let k = 0; k < c; k++) sum += Math.exp(logits[k]! - max)
      const lse = max + Math.log(sum)
      const scale = w / B / nd
      loss += scale * (lse - logits[0]!)
      for (let k = 0; k < c; k++) {
        const prob = Math.exp(logits[k]! - lse)
        const dLogit = scale * (prob - (k === 0 ? 1 : 0))
        gradLogTemperature -= dLogit * logits[k]!
        const g = dLogit / tau
        const j = index[k]!
        switch (kinds[k]) {
          case KIND_POSITIVE:
            for (let t = 0; t < m; t++) {
              dq[i * m + t] += g * p[i * m + t]!
              dp[i * m + t] += g * q[i * m + t]!
            }
            break
          case KIND_DOCUMENT:
            for (let t = 0; t < m; t++) {
              dq[i * m + t] += g * p[j * m + t]!
              dp[j * m + t] += g * q[i * m + t]!
            }
            break
          case KIND_NEGATIVE:
            for (let t = 0; t < m; t++) {
              dq[i * m + t] += g * n[j * m + t]!
              dn[j * m + t] += g * q[i * m + t]!
            }
            break
          case KIND_QUERY:
            for (let t = 0; t < m; t++) {
              dq[i * m + t] += g * q[j * m + t]!
              dq[j * m + t] += g * q[i * m + t]!
            }
            break
          default:
            for (let t = 0; t < m; t++) {
              dp[i * m + t] += g * p[j * m + t]!
              dp[j * m + t] += g * p[i * m + t]!
            }
        }
      }
    }
    backNormalize(q, dq, invQ, B, m, D, gradQueries)
    backNormalize(p, dp, invP, B, m, D, gradPositives)
    backNormalize(n, dn, invN, M, m, D, gradNegatives)
  }
  return { loss, gradQueries, gradPositives, gradNegatives, gradLogTemperature, masked }
}
