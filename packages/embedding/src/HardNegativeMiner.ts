/**
 * Hard-negative mining with a dual encoder (the start model or the current one): for each query, the documents
 * of a corpus that score highest but are not known positives, minus those within a relative margin (5%) of the
 * positive's score (likely unlabeled positives), top k kept; optionally a score model guards against false
 * negatives by dropping mined documents it grades ≥ 2.
 *
 * @since 0.1.0
 */
import type { Models, TrainingRow } from "@ssra/core"
import { Effect } from "effect"
import * as DualEncoder from "./DualEncoder.js"
import { TrainingError } from "./TrainingError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface MineOptions {
  readonly model: DualEncoder.DualEncoderModel
  readonly rows: ReadonlyArray<TrainingRow.TrainingRow>
  /** Negatives kept per row (default 3). */
  readonly k?: number | undefined
  /** Relative margin: a candidate scoring above `pos − margin·|pos|` is dropped (default 0.05). */
  readonly margin?: number | undefined
  /** Embedding prefix used for scoring (default min(64, model width)). */
  readonly dimensions?: number | undefined
  /** Documents to mine from (default: every positive and negative text of `rows`). */
  readonly corpus?: ReadonlyArray<string> | undefined
  /** False-negative guard: mined documents this grader grades ≥ `guardMinGrade` are dropped. */
  readonly grader?: Models.Grader | undefined
  readonly guardMinGrade?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MineResult {
  /** The rows, index-aligned with the input, with mined negatives appended (rows of weight 0 unchanged). */
  readonly rows: ReadonlyArray<TrainingRow.TrainingRow>
  /** Just the mined negatives per row. */
  readonly mined: ReadonlyArray<ReadonlyArray<string>>
  readonly counts: { readonly mined: number; readonly droppedByMargin: number; readonly droppedByGrader: number }
}

const GRADE_BATCH = 256

/**
 * Mines hard negatives.
 *
 * @since 0.1.0
 * @category mining
 */
export const mine = (options: MineOptions): Effect.Effect<MineResult, TrainingError | Models.ModelError> =>
  Effect.gen(function* () {
    const { model, rows } = options
    const k = options.k ?? 3
    const margin = options.margin ?? 0.05
    const dims = options.dimensions ?? Math.min(64, model.config.dimensions)
    if (!Number.isInteger(k) || k < 1)
      return yield* new TrainingError({ reason: "invalid-args", detail: `k must be a positive integer, got ${k}` })
    if (!(margin >= 0 && margin < 1))
      return yield* new TrainingError({ reason: "invalid-args", detail: `margin must be in [0, 1), got ${margin}` })
    const corpus = [...new Set(options.corpus ?? rows.flatMap((r) => [r.positive, ...r.negatives]))]
    const known = knownPositives(rows)
    const byQuery = new Map<string, Array<number>>()
    rows.forEach((r, i) => {
      if (r.weight <= 0) return
      const list = byQuery.get(r.query)
      if (list === undefined) byQuery.set(r.query, [i])
      else list.push(i)
    })
    const encode = (texts: ReadonlyArray<string>, kind: "query" | "document") =>
      Effect.try({
        try: () => DualEncoder.encodeTexts(model, texts, kind, dims),
        catch: (cause) =>
          new TrainingError({ reason: "featurize", detail: (cause as Error)?.message ?? String(cause), cause })
      })
    const docVectors = yield* encode(corpus, "document")
    const N = corpus.length
    const matrix = new Float32Array(N * dims)
    docVectors.forEach((v, i) => {
      matrix.set(v, i * dims)
    })
    const docIndex = new Map(corpus.map((d, i) => [d, i]))
    const queries = [...byQuery.keys()]
    const queryVectors = yield* encode(queries, "query")
    const missingPositives = [...new Set(rows.map((r) => r.positive))].filter((p) => !docIndex.has(p))
    const extraVectors = yield* encode(missingPositives, "document")
    const extra = new Map(missingPositives.map((p, i) => [p, extraVectors[i]!]))
    const want = k * 2 + 8
    const mined: Array<Array<string>> = rows.map(() => [])
    let droppedByMargin = 0
    const scores = new Float32Array(N)
    const topIndex = new Int32Array(want + 64)
    const topScore = new Float32Array(want + 64)
    yield* Effect.sync(() => {
      queries.forEach((query, qi) => {
        const qv = queryVectors[qi]!
        const knownHere = known.get(query) ?? new Set<string>()
        const T = Math.min(N, want + knownHere.size)
        let filled = 0
        for (let d = 0; d < N; d++) {
          let s = 0
          const base = d * dims
          for (let j = 0; j < dims; j++) s += qv[j]! * matrix[base + j]!
          scores[d] = s
          if (filled < T) {
            let p = filled++
            while (p > 0 && topScore[p - 1]! < s) {
              topScore[p] = topScore[p - 1]!
              topIndex[p] = topIndex[p - 1]!
              p--
            }
            topScore[p] = s
            topIndex[p] = d
          } else if (s > topScore[T - 1]!) {
            let p = T - 1
            while (p > 0 && topScore[p - 1]! < s) {
              topScore[p] = topScore[p - 1]!
              topIndex[p] = topIndex[p - 1]!
              p--
            }
            topScore[p] = s
            topIndex[p] = d
          }
        }
        for (const ri of byQuery.get(query)!) {
          const row = rows[ri]!
          const pi = docIndex.get(row.positive)
          let pos = 0
          if (pi !== undefined) pos = scores[pi]!
          else {
            const pv = extra.get(row.positive)!
            for (let j = 0; j < dims; j++) pos += qv[j]! * pv[j]!
          }
          const threshold = pos - margin * Math.abs(pos)
          const existing = new Set(row.negatives)
          for (let t = 0; t < filled && mined[ri]!.length < k * 2; t++) {
            const doc = corpus[topIndex[t]!]!
            if (doc === row.positive || knownHere.has(doc) || existing.has(doc)) continue
            if (topScore[t]! > threshold) {
              droppedByMargin++
              continue
            }
            mined[ri]!.push(doc)
          }
        }
      })
    })
    let droppedByGrader = 0
    if (options.grader !== undefined) {
      const minGrade = options.guardMinGrade ?? 2
      const pairs: Array<{ row: number; query: string; doc: string }> = []
      mined.forEach((docs, ri) => {
        for (const doc of docs) pairs.push({ row: ri, query: rows[ri]!.query, doc })
      })
      const drop = new Set<number>()
      for (let start = 0; start < pairs.length; start += GRADE_BATCH) {
        const slice = pairs.slice(start, start + GRADE_BATCH)
        const judgments = yield* options.grader.grade(slice.map(({ query, doc }) => ({ query, doc })))
        judgments.forEach((j, i) => {
          if (j.grade >= minGrade) drop.add(start + i)
        })
      }
      droppedByGrader = drop.size
      const kept: Array<Array<string>> = rows.map(() => [])
      pairs.forEach((p, i) => {
        if (!drop.has(i)) kept[p.row]!.push(p.doc)
      })
      mined.splice(0, mined.length, ...kept)
    }
    for (const list of mined) list.splice(k)
    let total = 0
    const out = rows.map((r, i) => {
      total += mined[i]!.length
      return mined[i]!.length === 0 ? r : { ...r, negatives: [...r.negatives, ...mined[i]!] }
    })
    return { rows: out, mined, counts: { mined: total, droppedByMargin, droppedByGrader } }
  })

/**
 * Each query's known positives: the documents it is graded ≥ 1 with. Never a negative of that query, whether
 * mined or drawn at random.
 *
 * @since 0.1.0
 * @category combinators
 */
export const knownPositives = (
  rows: ReadonlyArray<{ readonly query: string; readonly positive: string; readonly grade: number }>
): Map<string, Set<string>> => {
  const known = new Map<string, Set<string>>()
  for (const r of rows) {
    if (r.grade < 1) continue
    let s = known.get(r.query)
    if (s === undefined) known.set(r.query, (s = new Set()))
    s.add(r.positive)
  }
  return known
}
