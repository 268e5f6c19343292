/**
 * Choosing the lexical weight α of a dual encoder with a lexical channel (`cos = α·lexical + (1 − α)·learned`) on
 * held-out labeled queries, never on the test: the protocol of this package's quality script (`pnpm --filter
 * @ssra/embedding quality`, BENCHMARKS.md), which the pipeline uses too.
 *
 * 1. `split`: of the labeled queries with at least `minCandidates` judged candidates and at least two different
 *    grades — ranked lists like a rerank test's — a seeded `fraction` is held out (`Sampling.splitByGroup` by
 *    qid); every other labeled pair stays for training.
 * 2. A model is trained on the training side at `trainingWeight` (the learned part as a residual of the channel,
 *    offset scale α/(1−α) = 1).
 * 3. `select`: that model is scored at each α of the grid (`DualEncoder.withLexicalWeight`, the full served
 *    embedding) on the held-out queries — each query's judged candidates reranked by cosine, nDCG@k as trec_eval's
 *    `ndcg_cut.k` (linear gain, ideal from the judgments, ties by document id descending, `Trec.compareRanked`) —
 *    and the best α wins (the smallest of equal ones).
 * 4. The caller trains the served model on all its data at `trainingWeight` and applies the selected α.
 *
 * @since 0.1.0
 */
import { Models, type Pair, Sampling, Trec } from "@ssra/core"
import { Effect } from "effect"
import type * as DualEncoder from "./DualEncoder.js"
import * as Lexical from "./Lexical.js"
import { TrainingError } from "./TrainingError.js"

/**
 * The α values `select` tries by default: coarse below 0.8, fine near 1, where the held-out optimum of the
 * bundled sets lies.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultGrid: ReadonlyArray<number> = [
  0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99, 1
]

/**
 * The α a model whose α is selected afterwards trains at: 0.5, so `lexicalResidual`'s offset α/(1−α) is 1.
 *
 * @since 0.1.0
 * @category constants
 */
export const trainingWeight = 0.5

/**
 * The split's defaults: half of the eligible queries held out; a query is eligible with ≥ 5 judged candidates
 * (and ≥ 2 grades); nDCG cut at 10.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = { fraction: 0.5, minCandidates: 5, k: 10 } as const

/**
 * One held-out query with its judged candidates (in input order, one per document id).
 *
 * @since 0.1.0
 * @category models
 */
export interface HeldOutQuery {
  readonly qid: string
  readonly query: string
  readonly candidates: ReadonlyArray<{ readonly did: string; readonly doc: string; readonly label: number }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SplitOptions {
  /** Seed of the split. */
  readonly seed: number
  /** Share of the eligible queries held out, 0 < f < 1 (default 0.5). */
  readonly fraction?: number | undefined
  /** Judged candidates (pairs) a query needs to be eligible, ≥ 2 (default 5). */
  readonly minCandidates?: number | undefined
}

/**
 * What `split` returns: the pairs left for training (every pair of a query that is not held out, in input
 * order), the held-out queries, and how many queries were eligible.
 *
 * @since 0.1.0
 * @category models
 */
export interface Split<A extends Pair.LabeledPair> {
  readonly train: Array<A>
  readonly heldOut: Array<HeldOutQuery>
  readonly eligibleQueries: number
}

const invalid = (detail: string, hint: string) => new TrainingError({ reason: "invalid-args", detail, hint })

/**
 * Holds out a seeded share of the labeled queries that look like a rerank test's lists (≥ `minCandidates`
 * judged candidates, ≥ 2 grades). Deterministic: the same pairs and options give the same split, whatever the
 * order of the queries. No eligible query: `heldOut` is empty and `train` is every pair.
 *
 * @since 0.1.0
 * @category constructors
 */
export const split = <A extends Pair.LabeledPair>(
  pairs: ReadonlyArray<A>,
  options: SplitOptions
): Effect.Effect<Split<A>, TrainingError> =>
  Effect.suspend(() => {
    const fraction = options.fraction ?? defaults.fraction
    const minCandidates = options.minCandidates ?? defaults.minCandidates
    if (!(fraction > 0 && fraction < 1))
      return Effect.fail(invalid(`fraction must be in (0, 1), got ${fraction}`, "hold out e.g. 0.5 of the queries"))
    if (!Number.isInteger(minCandidates) || minCandidates < 2)
      return Effect.fail(invalid(`minCandidates must be an integer ≥ 2, got ${minCandidates}`, "e.g. 5"))
    if (!Number.isInteger(options.seed) || options.seed < 0)
      return Effect.fail(invalid(`seed must be a non-negative integer, got ${options.seed}`, "e.g. the run's seed"))
    const count = new Map<string, number>()
    const grades = new Map<string, Set<number>>()
    for (const p of pairs) {
      count.set(p.qid, (count.get(p.qid) ?? 0) + 1)
      let g = grades.get(p.qid)
      if (g === undefined) grades.set(p.qid, (g = new Set()))
      g.add(p.label)
    }
    const eligible = (qid: string) => count.get(qid)! >= minCandidates && grades.get(qid)!.size > 1
    const pool = pairs.filter((p) => eligible(p.qid))
    const chosen = Sampling.splitByGroup(pool, (p) => p.qid, fraction, options.seed).second
    const heldOutIds = new Set(chosen.map((p) => p.qid))
    const byQid = new Map<
      string,
      { qid: string; query: string; candidates: Map<string, HeldOutQuery["candidates"][0]> }
    >()
    for (const p of chosen) {
      let q = byQid.get(p.qid)
      if (q === undefined) byQid.set(p.qid, (q = { qid: p.qid, query: p.query, candidates: new Map() }))
      // one judgment per document, the last one winning (as a qrels file read into a map)
      q.candidates.set(p.did, { did: p.did, doc: p.doc, label: p.label })
    }
    return Effect.succeed({
      train: pairs.filter((p) => !heldOutIds.has(p.qid)),
      heldOut: [...byQid.values()].map((q) => ({ qid: q.qid, query: q.query, candidates: [...q.candidates.values()] })),
      eligibleQueries: new Set(pool.map((p) => p.qid)).size
    })
  })

/**
 * nDCG@k of one reranked candidate list as trec_eval's `ndcg_cut.k`.
 */
const ndcgAtK = (
  labels: ReadonlyArray<number>,
  scores: ReadonlyArray<number>,
  ids: ReadonlyArray<string>,
  k: number
) => {
  const order = labels.map((_, i) => i).sort((a, b) => Trec.compareRanked(scores[a]!, ids[a]!, scores[b]!, ids[b]!))
  let dcg = 0
  for (let r = 0; r < Math.min(k, order.length); r++) {
    const g = labels[order[r]!]!
    if (g > 0) dcg += g / Math.log2(r + 2)
  }
  const ideal = labels.filter((g) => g > 0).sort((a, b) => b - a)
  let idcg = 0
  for (let r = 0; r < Math.min(k, ideal.length); r++) idcg += ideal[r]! / Math.log2(r + 2)
  return idcg > 0 ? dcg / idcg : 0
}

/** Each query's nDCG@k with its candidates reranked by the dot product of the vectors, in query order. */
const rerank = (
  queries: ReadonlyArray<HeldOutQuery>,
  queryVectors: ReadonlyArray<Float32Array>,
  documentVector: ReadonlyMap<string, Float32Array>,
  k: number
): Array<number> =>
  queries.map((q, i) => {
    const v = queryVectors[i]!
    const scores = q.candidates.map((c) => {
      const d = documentVector.get(c.doc)!
      let s = 0
      for (let j = 0; j < v.length; j++) s += v[j]! * d[j]!
      return s
    })
    return ndcgAtK(
      q.candidates.map((c) => c.label),
      scores,
      q.candidates.map((c) => c.did),
      k
    )
  })

/**
 * The outcome of `select`: the chosen α, its held-out nDCG@k, the score of every α tried (grid order), the
 * number of held-out queries and the cutoff.
 *
 * @since 0.1.0
 * @category models
 */
export interface Selection {
  readonly weight: number
  readonly ndcg: number
  readonly byWeight: ReadonlyArray<{ readonly weight: number; readonly ndcg: number }>
  readonly queries: number
  readonly k: number
}

/**
 * Scores `model` (a dual encoder with a lexical channel, trained without the held-out queries) at each α of
 * `grid` on the held-out queries and returns the best α — the first in grid order when several tie (within
 * 1e-9). The model itself is not changed: apply the α with `DualEncoder.withLexicalWeight`.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const select = (
  model: DualEncoder.DualEncoderModel,
  heldOut: ReadonlyArray<HeldOutQuery>,
  options: { readonly grid?: ReadonlyArray<number> | undefined; readonly k?: number | undefined } = {}
): Effect.Effect<Selection, TrainingError | Models.ModelError> =>
  Effect.gen(function* () {
    const grid = options.grid ?? defaultGrid
    const k = options.k ?? defaults.k
    if (model.lexical === null || model.config.lexical == null)
      return yield* invalid("the model has no lexical channel", "make the model with a `lexical` config")
    const lexical = model.lexical
    if (grid.length === 0 || grid.some((a) => !(a >= 0 && a <= 1)))
      return yield* invalid(`every α of the grid must be in [0, 1], got [${grid.join(", ")}]`, "e.g. defaultGrid")
    if (!Number.isInteger(k) || k < 1) return yield* invalid(`k must be a positive integer, got ${k}`, "e.g. 10")
    if (heldOut.length === 0) {
      return yield* new TrainingError({
        reason: "empty",
        detail: "no held-out query to select the lexical weight on",
        hint: "hold out queries with several judged candidates of different grades, or fix the weight"
      })
    }
    // Each text is encoded once: its learned part (`model.embed` of the learned dimensions) and its lexical part;
    // the served embedding at each α is then composed from them as `DualEncoder.withLexicalWeight`'s model writes
    // it — [√(1−α)·learned, √α·lexical, pad] in float32 — so every score equals the served model's bit for bit
    // (the tests check it against `withLexicalWeight(model, α).embed`).
    const D = model.config.dimensions
    const L = lexical.config.dimensions
    const queries = heldOut.map((q) => q.query)
    const docs = [...new Set(heldOut.flatMap((q) => q.candidates.map((c) => c.doc)))]
    const learnedQueries = yield* model.embed(queries, { kind: "query", dimensions: D })
    const learnedDocs = yield* model.embed(docs, { kind: "document", dimensions: D })
    const lexicalOf = (texts: ReadonlyArray<string>, kind: Models.TextKind) =>
      Effect.try({
        try: () => texts.map((t) => Lexical.encode(lexical, t, kind)),
        catch: (cause) =>
          new Models.ModelError({
            backend: model.id,
            reason: "invalid-input",
            message: (cause as Error)?.message ?? String(cause),
            cause
          })
      })
    const lexicalQueries = yield* lexicalOf(queries, "query")
    const lexicalDocs = yield* lexicalOf(docs, "document")
    const compose = (
      weight: number,
      learned: ReadonlyArray<Float32Array>,
      parts: ReadonlyArray<{ readonly vector: Float64Array; readonly squaredNorm: number }>,
      kind: Models.TextKind
    ) => {
      const a = Math.sqrt(weight)
      const c = Math.sqrt(1 - weight)
      return learned.map((e, t) => {
        const out = new Float32Array(D + L + 1)
        for (let j = 0; j < D; j++) out[j] = c * e[j]!
        const { vector, squaredNorm } = parts[t]!
        for (let j = 0; j < L; j++) out[D + j] = a * vector[j]!
        out[D + L] = kind === "document" ? Math.sqrt(Math.max(0, weight * (1 - squaredNorm))) : 0
        return out
      })
    }
    const byWeight: Array<{ weight: number; ndcg: number }> = []
    let best = { weight: grid[0]!, ndcg: Number.NEGATIVE_INFINITY }
    for (const weight of grid) {
      const queryVectors = compose(weight, learnedQueries, lexicalQueries, "query")
      const docVectors = compose(weight, learnedDocs, lexicalDocs, "document")
      const scores = rerank(heldOut, queryVectors, new Map(docs.map((d, i) => [d, docVectors[i]!])), k)
      const ndcg = scores.reduce((a, b) => a + b, 0) / scores.length
      byWeight.push({ weight, ndcg })
      if (ndcg > best.ndcg + 1e-9) best = { weight, ndcg }
    }
    return { weight: best.weight, ndcg: best.ndcg, byWeight, queries: heldOut.length, k }
  })
