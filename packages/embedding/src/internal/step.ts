/**
 * One training step (the "modeling" part of the trainer): pool a batch into vectors, compute the loss with its
 * modifiers (Matryoshka prefixes, graded masking, the lexical residual offsets), scatter the gradients back to the
 * embedding-table rows (pooling's chain rule), and apply sparse row-wise Adagrad (plus the learned temperature).
 */
import { Sampling } from "@ssra/core"
import * as DualEncoder from "../DualEncoder.js"
import * as Loss from "../Loss.js"
import type { TrainingArgs } from "../TrainingArgs.js"
import { TrainingError } from "../TrainingError.js"
import { adagradRows, SparseRows } from "./sparse.js"

/** Everything one step needs, precomputed (text ids, features, weights, negatives). */
export interface StepContext {
  readonly model: DualEncoder.DualEncoderModel
  readonly args: TrainingArgs
  readonly lossOptions: Loss.LossOptions
  readonly features: ReadonlyArray<Int32Array>
  readonly queryOf: Int32Array
  readonly positiveOf: Int32Array
  readonly weightOf: Float64Array
  negativesOf: ReadonlyArray<Int32Array>
  /** Each row's grade. */
  readonly gradeOf: Int8Array
  /**
   * The best grade ≥ 1 a (query text, document text) pair has among the rows, keyed `query * textCount + doc`: a
   * document is no negative of a row whose grade it reaches (a lower-graded document of the same query is).
   */
  readonly knownGrade: Map<number, number>
  readonly textCount: number
  /** The residual offset of query text q and document text d (`lexicalResidual`), or undefined for none. */
  readonly lexicalOffset?: ((queryText: number, documentText: number) => number) | undefined
}

/** The negatives of a batch: each row's explicit + mined ones, at most `maxNegativesPerRow` drawn per row. */
const drawNegatives = (ctx: StepContext, rows: ReadonlyArray<number>, rng: Sampling.SeededRandom) => {
  const negIds: Array<number> = []
  for (const r of rows) {
    const negs = ctx.negativesOf[r]!
    if (negs.length <= ctx.args.maxNegativesPerRow) for (const n of negs) negIds.push(n)
    else for (const n of Sampling.sample(Array.from(negs), ctx.args.maxNegativesPerRow, rng)) negIds.push(n)
  }
  return negIds
}

/** Pools the batch's queries, positives and negatives (un-normalized, row-major). */
const pool = (ctx: StepContext, rows: ReadonlyArray<number>, negIds: ReadonlyArray<number>) => {
  const { model } = ctx
  const D = model.config.dimensions
  const pooling = model.config.pooling
  const B = rows.length
  const queries = new Float32Array(B * D)
  const positives = new Float32Array(B * D)
  const negatives = new Float32Array(negIds.length * D)
  const weights = new Float64Array(B)
  const into = (table: Float32Array, text: number, out: Float32Array, at: number) =>
    DualEncoder.poolInto(table, D, ctx.features[text]!, pooling, out, at * D, model.featureWeights)
  rows.forEach((r, i) => {
    into(model.queryTable, ctx.queryOf[r]!, queries, i)
    into(model.documentTable, ctx.positiveOf[r]!, positives, i)
    weights[i] = ctx.weightOf[r]!
  })
  negIds.forEach((n, l) => {
    into(model.documentTable, n, negatives, l)
  })
  return { queries, positives, negatives, weights }
}

/**
 * Graded contrast: a document of a row's query graded below the row's grade stays a negative (the explicit
 * lower-grade negatives are exactly those); one graded as high or higher is masked, as is the positive itself.
 */
const exclusions = (ctx: StepContext, rows: ReadonlyArray<number>, negIds: ReadonlyArray<number>) => {
  const B = rows.length
  const M = negIds.length
  const excludePositive = new Uint8Array(B * B)
  const excludeNegative = new Uint8Array(B * M)
  const T = ctx.textCount
  rows.forEach((ri, i) => {
    const q = ctx.queryOf[ri]!
    const p = ctx.positiveOf[ri]!
    const floor = Math.max(1, ctx.gradeOf[ri]!)
    const masked = (d: number) => d === p || (ctx.knownGrade.get(q * T + d) ?? -1) >= floor
    rows.forEach((rj, j) => {
      if (j !== i && masked(ctx.positiveOf[rj]!)) excludePositive[i * B + j] = 1
    })
    negIds.forEach((n, l) => {
      if (masked(n)) excludeNegative[i * M + l] = 1
    })
  })
  return { excludePositive, excludeNegative }
}

/** The lexical residual offsets of every (query, candidate) pair of the batch, or undefined without them. */
const offsets = (ctx: StepContext, rows: ReadonlyArray<number>, negIds: ReadonlyArray<number>) => {
  const offset = ctx.lexicalOffset
  if (offset === undefined) return { positiveOffsets: undefined, negativeOffsets: undefined }
  const B = rows.length
  const M = negIds.length
  const positiveOffsets = new Float64Array(B * B)
  const negativeOffsets = new Float64Array(B * M)
  for (let i = 0; i < B; i++) {
    const q = ctx.queryOf[rows[i]!]!
    for (let j = 0; j < B; j++) positiveOffsets[i * B + j] = offset(q, ctx.positiveOf[rows[j]!]!)
    for (let l = 0; l < M; l++) negativeOffsets[i * M + l] = offset(q, negIds[l]!)
  }
  return { positiveOffsets, negativeOffsets }
}

/** Pools a batch, then computes the loss and its gradients (no update). Exposed to the tests for gradient checks. */
export const batchLoss = (ctx: StepContext, rows: ReadonlyArray<number>, rng: Sampling.SeededRandom) => {
  const negIds = drawNegatives(ctx, rows, rng)
  const result = Loss.compute(
    {
      size: rows.length,
      width: ctx.model.config.dimensions,
      ...pool(ctx, rows, negIds),
      negativeCount: negIds.length,
      ...exclusions(ctx, rows, negIds),
      ...offsets(ctx, rows, negIds),
      logTemperature: ctx.model.logTemperature
    },
    ctx.lossOptions
  )
  return { result, negIds }
}

/** Scatters pooled-vector gradients to the table rows of each text's features (pooling's chain rule). */
export const scatter = (
  ctx: StepContext,
  rows: ReadonlyArray<number>,
  negIds: ReadonlyArray<number>,
  result: Loss.LossResult,
  queryGrads: SparseRows,
  documentGrads: SparseRows
): void => {
  const D = ctx.model.config.dimensions
  const pooling = ctx.model.config.pooling
  const weights = ctx.model.featureWeights
  rows.forEach((r, i) => {
    const qf = ctx.features[ctx.queryOf[r]!]!
    queryGrads.add(qf, result.gradQueries, i * D, DualEncoder.poolingScale(qf.length, pooling), weights)
    const pf = ctx.features[ctx.positiveOf[r]!]!
    documentGrads.add(pf, result.gradPositives, i * D, DualEncoder.poolingScale(pf.length, pooling), weights)
  })
  negIds.forEach((n, l) => {
    const nf = ctx.features[n]!
    documentGrads.add(nf, result.gradNegatives, l * D, DualEncoder.poolingScale(nf.length, pooling), weights)
  })
}

/** The optimizer's state: row-wise Adagrad sums per table (one array when towers are shared), and τ's. */
export interface Optimizer {
  readonly query: Float32Array
  readonly document: Float32Array
  temperature: number
}

/** A fresh optimizer for `model`. */
export const freshOptimizer = (model: DualEncoder.DualEncoderModel): Optimizer => {
  const query = new Float32Array(model.config.featurizer.buckets)
  const document = model.config.towers === "shared" ? query : new Float32Array(model.config.featurizer.buckets)
  return { query, document, temperature: 0 }
}

/** The gradient buffers reused by every step (one when towers are shared). */
export interface Gradients {
  readonly query: SparseRows
  readonly document: SparseRows
}

/** Gradient buffers for `model`. */
export const makeGradients = (model: DualEncoder.DualEncoderModel): Gradients => {
  const { buckets } = model.config.featurizer
  const D = model.config.dimensions
  const query = new SparseRows(buckets, D)
  return { query, document: model.config.towers === "shared" ? query : new SparseRows(buckets, D) }
}

const MIN_LOG_TAU = Math.log(0.005)

/**
 * One optimizer step on `batch` at global step `globalStep` (its seed): the loss, or a `TrainingError` (reason
 * `non-finite`, weights left unchanged) when the loss or a gradient is NaN or infinite.
 */
export const trainStep = (
  ctx: StepContext,
  optimizer: Optimizer,
  grads: Gradients,
  batch: ReadonlyArray<number>,
  globalStep: number
): Loss.LossResult | TrainingError => {
  const { model, args } = ctx
  const rng = new Sampling.SeededRandom(Sampling.hashSeed(`${args.seed}/step/${globalStep}`))
  const { result, negIds } = batchLoss(ctx, batch, rng)
  if (!Number.isFinite(result.loss)) {
    return new TrainingError({
      reason: "non-finite",
      step: globalStep,
      detail: `loss is ${result.loss}`,
      hint: "lower the learning rate or raise the temperature"
    })
  }
  grads.query.clear()
  grads.document.clear()
  scatter(ctx, batch, negIds, result, grads.query, grads.document)
  if (
    grads.query.firstNonFinite() >= 0 ||
    grads.document.firstNonFinite() >= 0 ||
    !Number.isFinite(result.gradLogTemperature)
  ) {
    return new TrainingError({
      reason: "non-finite",
      step: globalStep,
      detail: "a gradient is NaN or infinite; weights left unchanged"
    })
  }
  adagradRows(model.queryTable, optimizer.query, grads.query, args.learningRate)
  if (grads.document !== grads.query)
    adagradRows(model.documentTable, optimizer.document, grads.document, args.learningRate)
  if (args.learnTemperature) {
    const g = result.gradLogTemperature
    optimizer.temperature += g * g
    model.logTemperature -= (args.temperatureLearningRate * g) / (Math.sqrt(optimizer.temperature) + 1e-10)
    model.logTemperature = Math.min(0, Math.max(MIN_LOG_TAU, model.logTemperature))
  }
  return result
}
