/**
 * The default query model, no LLM: it writes a query for a document at a target grade by (1) drawing candidates
 * from the domain's real query distribution — the pool of real (labeled + unlabeled) queries, retrieved near the
 * document through a character-bigram BM25 index — plus edits of the document's key phrases that reach the
 * intermediate grades (the key entity alone or with its next words, secondary words dropped or swapped for words
 * real queries pair with the entity), and (2) picking among them with a learned selector: a per-grade logistic
 * model P(grade | candidate features), trained on the same D2Q data as the fine-tuned query model (real queries
 * with human and score-model grades) plus candidates labeled by a score model. A diversity penalty keeps a
 * document from getting the same query twice and discounts queries already handed to many documents.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Grade, Hash, Models, type Pair, Sampling, Text } from "@ssra/core"
import { Features as ScoreFeatures } from "@ssra/score-model"
import { Effect, Schema } from "effect"
import * as KeyPhrases from "./internal/KeyPhrases.js"
import * as QueryPool from "./internal/QueryPool.js"
import { validate } from "./internal/requests.js"
import * as Selector from "./internal/Selector.js"
import { QueryCheckpointError, QueryTrainingError } from "./QueryModelError.js"

/**
 * The generator version recorded in provenance.
 *
 * @since 0.1.0
 * @category constants
 */
export const promptVersion = "embedded-selector/v1"

/**
 * Where a candidate came from.
 *
 * @since 0.1.0
 * @category models
 */
export type CandidateSource = "pool" | KeyPhrases.EditSource

const SOURCES: ReadonlyArray<CandidateSource> = ["pool", "key", "key2", "key3", "drop", "swap", "title"]

/**
 * Names of the selector's own features, appended after the score model's lexical features.
 *
 * @since 0.1.0
 * @category constants
 */
export const extraFeatureNames = [
  ...SOURCES.map((s) => `source_${s}`),
  "in_pool",
  "log_pool_frequency",
  "has_key_word",
  "key_word_coverage"
] as const

/**
 * Generation options.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerationOptions {
  /** Pool queries retrieved per document (default 48). */
  readonly retrieve?: number | undefined
  /** Weight of `log(1 + times already chosen in this call)` subtracted from a candidate's score (default 1). */
  readonly usagePenalty?: number | undefined
  /** Scale of the seeded Gumbel noise added to log-probabilities (default 0.3; 0 = deterministic argmax). */
  readonly temperature?: number | undefined
  /** Swap edits per document (default 2). */
  readonly maxSwaps?: number | undefined
  /** Added to the log-probability of candidates that are real pool queries (default 0.5: a mild preference). */
  readonly realQueryBonus?: number | undefined
}

/**
 * Training options.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrainOptions {
  /** Documents with real queries and their grades (human or score-model): Stage 1's D2Q data. */
  readonly d2q: ReadonlyArray<Pair.D2QGroup>
  /** The domain's real queries (labeled + unlabeled, repeats allowed: they count as popularity). */
  readonly queryPool: ReadonlyArray<string>
  /** Labels the retrieved and edited candidates of training documents. */
  readonly grader: Models.Grader
  readonly scale: Grade.GradeScale
  readonly seed: number
  /** Documents used to train the selector (seeded sample; default 2000). */
  readonly maxTrainingDocs?: number | undefined
  /** Pool candidates retrieved per training document (default 24). */
  readonly candidatesPerDoc?: number | undefined
  /** Share of training documents held out for the report (default 0.1). */
  readonly heldOutFraction?: number | undefined
  /** Documents kept for BM25 / word IDF (default 5000). */
  readonly corpusSize?: number | undefined
  /** Selector optimizer iterations (default 300). */
  readonly iterations?: number | undefined
  readonly generation?: GenerationOptions | undefined
  /**
   * Called as training goes (candidates per document, grading, features, fit iterations). Training yields to the
   * runtime between these steps, so an interruption (Ctrl-C) stops it within a step.
   */
  readonly onProgress?: ((event: TrainProgress) => void) | undefined
}

/**
 * The training report: rows by source and label, the selector's held-out accuracy, and for each target grade
 * how often the top-ranked candidate of a held-out document carries that grade (the selection agreement the
 * generator can reach against its training labels).
 *
 * @since 0.1.0
 * @category models
 */
export const Report = Schema.Struct({
  documents: Schema.Struct({ train: Schema.Int, heldOut: Schema.Int }),
  rows: Schema.Struct({ train: Schema.Int, heldOut: Schema.Int }),
  labelsBySource: Schema.Record(Schema.String, Schema.Array(Schema.Int)),
  graderCalls: Schema.Int,
  loss: Schema.Finite,
  heldOutAccuracy: Schema.NullOr(Schema.Finite),
  selectionAgreement: Schema.Record(Schema.String, Schema.NullOr(Schema.Finite))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Report = typeof Report.Type

/**
 * The saved checkpoint (`query-model.json`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Checkpoint = Schema.Struct({
  format: Schema.Literal("ssra/embedded-query-model"),
  version: Schema.Literal(1),
  id: Schema.String,
  scale: Grade.GradeScale,
  seed: Schema.Int,
  grader: Schema.String,
  featureNames: Schema.Array(Schema.String),
  standardizer: Schema.Struct({ mean: Schema.Array(Schema.Finite), std: Schema.Array(Schema.Finite) }),
  weights: Schema.Array(Schema.Finite),
  generation: Schema.Struct({
    retrieve: Schema.Int,
    usagePenalty: Schema.Finite,
    temperature: Schema.Finite,
    maxSwaps: Schema.Int,
    realQueryBonus: Schema.Finite
  }),
  pool: Schema.Struct({ queries: Schema.Array(Schema.String), frequency: Schema.Array(Schema.Int) }),
  corpus: Schema.Array(Schema.String),
  report: Report
})

/**
 * @since 0.1.0
 * @category models
 */
export type Checkpoint = typeof Checkpoint.Type

/**
 * A scored candidate for one document.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScoredCandidate {
  readonly query: string
  readonly source: CandidateSource
  /** Whether the candidate is a real query of the pool (an edit can coincide with one). */
  readonly real: boolean
  /** P(grade | features) for each grade of the scale. */
  readonly probabilities: ReadonlyArray<number>
}

/**
 * A trained embedded query model: a core `QueryWriter` plus its checkpoint and a way to inspect candidates.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbeddedQueryModel extends Models.QueryWriter {
  readonly kind: "embedded"
  readonly scale: Grade.GradeScale
  readonly checkpoint: Checkpoint
  readonly report: Report
  /** The candidates the model would choose from for a document, with their grade probabilities. */
  readonly candidates: (documentText: string, seed?: number) => ReadonlyArray<ScoredCandidate>
}

interface Candidate {
  readonly query: string
  readonly source: CandidateSource
  readonly poolIndex: number
}

interface Runtime {
  readonly pool: QueryPool.QueryPool
  readonly stats: KeyPhrases.WordStats
  readonly resources: ScoreFeatures.LexicalResources
}

const runtimeOf = (pool: QueryPool.QueryPool, corpus: ReadonlyArray<string>): Runtime => ({
  pool,
  stats: KeyPhrases.wordStats(pool.queries),
  resources: ScoreFeatures.resources(corpus)
})

const candidatesOf = (
  rt: Pick<Runtime, "pool" | "stats">,
  doc: string,
  retrieve: number,
  maxSwaps: number,
  rng: Sampling.SeededRandom
): Array<Candidate> => {
  const retrieved = rt.pool.retrieve(doc, retrieve)
  const out: Array<Candidate> = []
  const seen = new Set<string>()
  for (const r of retrieved) {
    seen.add(rt.pool.keys[r.index]!)
    out.push({ query: rt.pool.queries[r.index]!, source: "pool", poolIndex: r.index })
  }
  const neighbors = retrieved.map((r) => rt.pool.queries[r.index]!)
  for (const e of KeyPhrases.edits(doc, rt.stats, neighbors, rng, maxSwaps)) {
    const k = Text.dedupKey(e.query)
    if (seen.has(k)) continue
    seen.add(k)
    out.push({ query: e.query, source: e.source, poolIndex: rt.pool.indexOf(e.query) })
  }
  return out
}

/** Raw features: the score model's lexical columns, then the selector's own. */
const featuresOf = (
  rt: Runtime,
  rows: ReadonlyArray<{ readonly doc: string; readonly candidate: Candidate }>
): { values: Float64Array; width: number } => {
  const lex = ScoreFeatures.lexical(
    rt.resources,
    rows.map((r) => ({ query: r.candidate.query, doc: r.doc }))
  )
  const L = lex.names.length
  const width = L + extraFeatureNames.length
  const values = new Float64Array(rows.length * width)
  const keyCache = new Map<string, ReadonlyArray<string>>()
  for (let i = 0; i < rows.length; i++) {
    const { doc, candidate } = rows[i]!
    values.set(lex.values.subarray(i * L, (i + 1) * L), i * width)
    let keys = keyCache.get(doc)
    if (keys === undefined) {
      keys = KeyPhrases.keywords(doc, rt.stats)
        .slice(0, 3)
        .map((k) => k.word)
      keyCache.set(doc, keys)
    }
    const o = i * width + L
    const s = SOURCES.indexOf(candidate.source)
    values[o + s] = 1
    const inPool = candidate.poolIndex >= 0
    values[o + SOURCES.length] = inPool ? 1 : 0
    values[o + SOURCES.length + 1] = inPool ? Math.log1p(rt.pool.frequency[candidate.poolIndex]!) : 0
    const q = Text.dedupKey(candidate.query)
    values[o + SOURCES.length + 2] = keys.length > 0 && q.includes(Text.dedupKey(keys[0]!)) ? 1 : 0
    let hit = 0
    for (const k of keys) if (q.includes(Text.dedupKey(k))) hit++
    values[o + SOURCES.length + 3] = keys.length === 0 ? 0 : hit / keys.length
  }
  return { values, width }
}

const standardizeInPlace = (values: Float64Array, width: number, s: ScoreFeatures.Standardizer): void => {
  for (let i = 0; i < values.length; i++) {
    const c = i % width
    values[i] = (values[i]! - s.mean[c]!) / s.std[c]!
  }
}

const build = (checkpoint: Checkpoint, rt: Runtime): EmbeddedQueryModel => {
  const scale = checkpoint.scale
  const K = scale.max + 1
  const width = checkpoint.featureNames.length
  const shape: Selector.SelectorShape = { inputs: width, classes: K }
  const weights = Float64Array.from(checkpoint.weights)
  const gen = checkpoint.generation
  const generator = { id: checkpoint.id, promptVersion }
  const score = (doc: string, seed: number): Array<ScoredCandidate> => {
    const candidates = candidatesOf(
      rt,
      doc,
      gen.retrieve,
      gen.maxSwaps,
      new Sampling.SeededRandom(Sampling.hashSeed(`${seed}/${doc}`))
    )
    if (candidates.length === 0) return []
    const f = featuresOf(
      rt,
      candidates.map((candidate) => ({ doc, candidate }))
    )
    standardizeInPlace(f.values, f.width, checkpoint.standardizer)
    const p = Selector.probabilities(shape, weights, f.values, candidates.length)
    return candidates.map((c, i) => ({
      query: c.query,
      source: c.source,
      real: c.poolIndex >= 0,
      probabilities: Array.from(p.subarray(i * K, (i + 1) * K))
    }))
  }
  const generate = (requests: ReadonlyArray<Models.QueryRequest>) =>
    Effect.flatMap(validate(checkpoint.id, scale, requests), () =>
      Effect.sync(() => {
        const usage = new Map<string, number>()
        const perDoc = new Map<string, { scored: Array<ScoredCandidate>; used: Set<string> }>()
        return requests.map((request): ReadonlyArray<Models.GeneratedQuery> => {
          const doc = request.document.text
          let entry = perDoc.get(request.document.id)
          if (entry === undefined) {
            entry = { scored: score(doc, request.seed), used: new Set() }
            perDoc.set(request.document.id, entry)
          }
          const rng = new Sampling.SeededRandom(
            Sampling.hashSeed(`${request.seed}/${request.document.id}/${request.targetGrade}`)
          )
          const ranked = entry.scored
            .map((c) => {
              const key = Text.dedupKey(c.query)
              const u = -Math.log(-Math.log(Math.min(Math.max(rng.next(), 1e-12), 1 - 1e-12)))
              const s =
                Math.log(Math.max(c.probabilities[request.targetGrade]!, 1e-12)) +
                (c.real ? gen.realQueryBonus : 0) -
                gen.usagePenalty * Math.log1p(usage.get(key) ?? 0) +
                gen.temperature * u
              return { c, key, s }
            })
            .sort((a, b) => b.s - a.s)
          const out: Array<Models.GeneratedQuery> = []
          for (const r of ranked) {
            if (out.length >= request.n) break
            if (entry.used.has(r.key)) continue
            entry.used.add(r.key)
            usage.set(r.key, (usage.get(r.key) ?? 0) + 1)
            out.push({ query: r.c.query, targetGrade: request.targetGrade, generator })
          }
          return out
        })
      })
    )
  const model: EmbeddedQueryModel = {
    id: checkpoint.id,
    kind: "embedded",
    scale,
    checkpoint,
    report: checkpoint.report,
    candidates: (documentText, seed = 0) => score(documentText, seed),
    generate
  }
  runtimes.set(model, rt)
  return model
}

const runtimes = new WeakMap<EmbeddedQueryModel, Runtime>()

/**
 * The same trained model with other generation options (retrieval depth, diversity penalty, noise, swaps,
 * real-query bonus); nothing is retrained.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withGeneration = (model: EmbeddedQueryModel, options: GenerationOptions): EmbeddedQueryModel => {
  const current = model.checkpoint.generation
  const next = generationDefaults({
    ...current,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  })
  const rt = runtimes.get(model)
  if (rt === undefined) throw new TypeError("withGeneration needs a model built by EmbeddedQueryModel.train or load")
  return build({ ...model.checkpoint, generation: next }, rt)
}

const generationDefaults = (g: GenerationOptions | undefined): Checkpoint["generation"] => ({
  retrieve: g?.retrieve ?? 48,
  usagePenalty: g?.usagePenalty ?? 1,
  temperature: g?.temperature ?? 0.3,
  maxSwaps: g?.maxSwaps ?? 2,
  realQueryBonus: g?.realQueryBonus ?? 0.5
})

const classWeights = (labels: Uint8Array, rows: number, K: number): Array<number> => {
  const counts = new Array<number>(K).fill(0)
  for (let r = 0; r < rows; r++) counts[labels[r]!]!++
  // square root of the balanced weight: rare grades count more without letting a handful of rows dominate
  const raw = counts.map((c) => (c === 0 ? 1 : Math.sqrt(rows / (K * c))))
  let mean = 0
  for (let k = 0; k < K; k++) mean += (raw[k]! * counts[k]!) / Math.max(1, rows)
  return raw.map((w) => w / (mean > 0 ? mean : 1))
}

type TrainingRow = { doc: string; did: string; candidate: Candidate; label: number }

const usableGroups = (d2q: ReadonlyArray<Pair.D2QGroup>) =>
  d2q.filter((g) => g.doc.trim() !== "" && g.queries.length > 0)

/**
 * The training rows of the chosen documents: their real queries with their grades, then the retrieved and edited
 * candidates that are none of them, still to be graded (`label: -1`).
 */
function* trainingRows(
  rt: Pick<Runtime, "pool" | "stats">,
  groups: ReadonlyArray<Pair.D2QGroup>,
  options: Pick<TrainOptions, "maxTrainingDocs" | "candidatesPerDoc" | "generation">,
  rng: Sampling.SeededRandom
): Generator<
  { readonly done: number; readonly total: number },
  { chosen: Array<Pair.D2QGroup>; rows: Array<TrainingRow>; pending: Array<TrainingRow> }
> {
  const maxSwaps = generationDefaults(options.generation).maxSwaps
  const chosen = Sampling.sample(groups, options.maxTrainingDocs ?? 2000, rng.fork("documents"))
  const rows: Array<TrainingRow> = []
  const pending: Array<TrainingRow> = []
  for (const [d, g] of chosen.entries()) {
    // retrieval and edits per document take a while: the caller can let an interruption in and report progress
    if (d % 25 === 0) yield { done: d, total: chosen.length }
    const taken = new Set<string>()
    for (const q of g.queries) {
      const k = Text.dedupKey(q.query)
      if (k === "" || taken.has(k)) continue
      taken.add(k)
      rows.push({
        doc: g.doc,
        did: g.did,
        candidate: { query: Text.normalize(q.query), source: "pool", poolIndex: rt.pool.indexOf(q.query) },
        label: q.grade
      })
    }
    for (const c of candidatesOf(rt, g.doc, options.candidatesPerDoc ?? 24, maxSwaps, rng.fork(g.did))) {
      const k = Text.dedupKey(c.query)
      if (taken.has(k)) continue
      taken.add(k)
      pending.push({ doc: g.doc, did: g.did, candidate: c, label: -1 })
    }
  }
  return { chosen, rows, pending }
}

/**
 * How many (query, document) pairs `train` will send to its grader with these options: each training document's
 * retrieved pool queries and key-phrase edits that are none of its real queries — more than `candidatesPerDoc`
 * per document. Sends nothing; the run's plan (`ssra estimate`) counts an LLM judge's calls with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const trainingGradings = (options: Omit<TrainOptions, "grader" | "scale">): number => {
  const groups = usableGroups(options.d2q)
  const pool = QueryPool.make([...options.queryPool, ...groups.flatMap((g) => g.queries.map((q) => q.query))])
  if (groups.length === 0 || pool.queries.length === 0) return 0
  const rt = { pool, stats: KeyPhrases.wordStats(pool.queries) }
  const steps = trainingRows(rt, groups, options, new Sampling.SeededRandom(options.seed))
  let step = steps.next()
  while (step.done !== true) step = steps.next()
  return step.value.pending.length
}

/**
 * Checks `train`'s options and data before any work: positive counts, the held-out share, the grader's scale, at
 * least one usable D2Q group, every real query's grade on the scale. Returns the usable groups and the settings.
 */
const checkTraining = (options: TrainOptions) =>
  Effect.gen(function* () {
    const { scale, grader } = options
    const heldOutFraction = options.heldOutFraction ?? 0.1
    const iterations = options.iterations ?? 300
    const generation = generationDefaults(options.generation)
    const positiveInt = {
      maxTrainingDocs: options.maxTrainingDocs ?? 2000,
      candidatesPerDoc: options.candidatesPerDoc ?? 24,
      iterations,
      retrieve: generation.retrieve
    }
    for (const [name, v] of Object.entries(positiveInt)) {
      if (!(Number.isInteger(v) && v >= 1))
        return yield* new QueryTrainingError({
          reason: "invalid-option",
          detail: `${name} must be a positive integer, got ${v}`
        })
    }
    if (!(heldOutFraction >= 0 && heldOutFraction < 1)) {
      return yield* new QueryTrainingError({
        reason: "invalid-option",
        detail: `heldOutFraction must be in [0, 1), got ${heldOutFraction}`
      })
    }
    if (grader.scale.max !== scale.max) {
      return yield* new QueryTrainingError({
        reason: "invalid-option",
        detail: `the grader ${grader.id} grades 0..${grader.scale.max} but the scale is 0..${scale.max}`,
        hint: "train the score model on the same data set"
      })
    }
    const groups = usableGroups(options.d2q)
    if (groups.length === 0) {
      return yield* new QueryTrainingError({
        reason: "no-groups",
        detail: "no D2Q group with a document and at least one query",
        hint: "build D2Q groups from the labeled and re-annotated unlabeled pairs"
      })
    }
    for (const g of groups) {
      for (const q of g.queries) {
        if (!Grade.isOnScale(scale, q.grade)) {
          return yield* new QueryTrainingError({
            reason: "grade-off-scale",
            detail: `document ${g.did}: query ${JSON.stringify(q.query)} has grade ${q.grade}, outside 0..${scale.max}`
          })
        }
      }
    }
    return { groups, generation, heldOutFraction, iterations }
  })

/**
 * Grades the pending candidates in batches of 512, writing each grade into its row's `label`; checks the grader
 * answers every pair on the scale. Returns the number of grader calls.
 */
const gradePending = (
  grader: Models.Grader,
  scale: Grade.GradeScale,
  pending: ReadonlyArray<TrainingRow>,
  progress: (event: TrainProgress) => void
) =>
  Effect.gen(function* () {
    const batch = 512
    let graderCalls = 0
    for (let start = 0; start < pending.length; start += batch) {
      const slice = pending.slice(start, start + batch)
      const judged = yield* grader.grade(slice.map((r) => ({ query: r.candidate.query, doc: r.doc })))
      graderCalls++
      if (judged.length !== slice.length) {
        return yield* new Models.ModelError({
          backend: grader.id,
          reason: "invalid-output",
          message: `grader returned ${judged.length} judgments for ${slice.length} pairs`
        })
      }
      for (let i = 0; i < slice.length; i++) {
        const g = judged[i]!.grade
        if (!Grade.isOnScale(scale, g)) {
          return yield* new Models.ModelError({
            backend: grader.id,
            reason: "invalid-output",
            message: `grader gave grade ${g}, outside 0..${scale.max}`
          })
        }
        slice[i]!.label = g
      }
      progress({ task: "grading", done: start + slice.length, total: pending.length, unit: "pairs" })
      yield* Effect.yieldNow
    }
    return graderCalls
  })

/**
 * Fits the selector on the training rows: their standardized features, class-weighted by grade, `iterations`
 * optimizer steps (yielding every 10).
 */
const fitSelector = (
  rt: Runtime,
  trainRows: ReadonlyArray<TrainingRow>,
  K: number,
  iterations: number,
  progress: (event: TrainProgress) => void
) =>
  Effect.gen(function* () {
    const f = yield* featuresYielding(rt, trainRows, (done) =>
      progress({ task: "features", done, total: trainRows.length, unit: "rows" })
    )
    const featureNames = [...ScoreFeatures.lexicalNames, ...extraFeatureNames]
    const standardizer = ScoreFeatures.fitStandardizer({
      names: featureNames,
      rows: trainRows.length,
      values: f.values
    })
    standardizeInPlace(f.values, f.width, standardizer)
    const labels = Uint8Array.from(trainRows.map((r) => r.label))
    const cw = classWeights(labels, trainRows.length, K)
    const sampleWeights = Float64Array.from(trainRows.map((r) => cw[r.label]!))
    const shape: Selector.SelectorShape = { inputs: f.width, classes: K }
    const fitter = Selector.fitter(shape, f.values, labels, sampleWeights, trainRows.length, {
      learningRate: 0.05,
      l2: 1e-4
    })
    for (let it = 1; it <= iterations; it++) {
      fitter.step()
      if (it % 10 === 0 || it === iterations) {
        progress({ task: "fit", done: it, total: iterations, unit: "iterations" })
        yield* Effect.yieldNow
      }
    }
    return { featureNames, standardizer, shape, fitted: fitter.result() }
  })

/**
 * The held-out report: the selector's accuracy on the held-out rows, and per target grade whether each held-out
 * document's top candidate has that grade (both null / empty without held-out rows).
 */
const heldOutReport = (
  rt: Runtime,
  heldRows: ReadonlyArray<TrainingRow>,
  standardizer: ScoreFeatures.Standardizer,
  shape: Selector.SelectorShape,
  weights: Float64Array,
  K: number
) =>
  Effect.gen(function* () {
    let heldOutAccuracy: number | null = null
    const selectionAgreement: Record<string, number | null> = {}
    if (heldRows.length > 0) {
      const h = yield* featuresYielding(rt, heldRows, () => {})
      standardizeInPlace(h.values, h.width, standardizer)
      const p = Selector.probabilities(shape, weights, h.values, heldRows.length)
      let correct = 0
      for (let r = 0; r < heldRows.length; r++)
        if (Models.argmaxGrade(Array.from(p.subarray(r * K, (r + 1) * K))) === heldRows[r]!.label) correct++
      heldOutAccuracy = correct / heldRows.length
      const byDoc = new Map<string, Array<number>>()
      heldRows.forEach((r, i) => {
        const list = byDoc.get(r.did)
        if (list) list.push(i)
        else byDoc.set(r.did, [i])
      })
      for (let g = 1; g < K; g++) {
        let hit = 0
        for (const list of byDoc.values()) {
          let best = list[0]!
          for (const i of list) if (p[i * K + g]! > p[best * K + g]!) best = i
          if (heldRows[best]!.label === g) hit++
        }
        selectionAgreement[String(g)] = byDoc.size === 0 ? null : hit / byDoc.size
      }
    }
    return { heldOutAccuracy, selectionAgreement }
  })

/**
 * Trains the embedded query model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const train = (
  options: TrainOptions
): Effect.Effect<EmbeddedQueryModel, QueryTrainingError | Models.ModelError> =>
  Effect.gen(function* () {
    const { scale, grader, seed } = options
    const K = scale.max + 1
    const { groups, generation, heldOutFraction, iterations } = yield* checkTraining(options)
    const pool = QueryPool.make([...options.queryPool, ...groups.flatMap((g) => g.queries.map((q) => q.query))])
    if (pool.queries.length === 0)
      return yield* new QueryTrainingError({ reason: "empty-pool", detail: "the query pool has no non-blank query" })
    const rng = new Sampling.SeededRandom(seed)
    const docs = [...new Set(groups.map((g) => g.doc))]
    const corpus = Sampling.sample(docs, options.corpusSize ?? 5000, rng.fork("corpus")).sort()
    const rt = runtimeOf(pool, corpus)
    const progress = options.onProgress ?? (() => {})
    const steps = trainingRows(rt, groups, options, rng)
    let step = steps.next()
    while (step.done !== true) {
      progress({ task: "candidates", ...step.value, unit: "documents" })
      yield* Effect.yieldNow
      step = steps.next()
    }
    const { chosen, rows, pending } = step.value
    progress({ task: "candidates", done: chosen.length, total: chosen.length, unit: "documents" })
    const split = Sampling.splitByGroup(chosen, (g) => g.did, heldOutFraction, seed)
    const heldOutIds = new Set(split.second.map((g) => g.did))

    const graderCalls = yield* gradePending(grader, scale, pending, progress)
    rows.push(...pending)
    if (rows.length === 0)
      return yield* new QueryTrainingError({ reason: "no-candidates", detail: "no training rows were built" })

    const labelsBySource: Record<string, Array<number>> = {}
    for (const s of SOURCES) labelsBySource[s] = new Array<number>(K).fill(0)
    for (const r of rows) labelsBySource[r.candidate.source]![r.label]!++

    const trainRows = rows.filter((r) => !heldOutIds.has(r.did))
    const heldRows = rows.filter((r) => heldOutIds.has(r.did))
    const { featureNames, standardizer, shape, fitted } = yield* fitSelector(rt, trainRows, K, iterations, progress)
    const { heldOutAccuracy, selectionAgreement } = yield* heldOutReport(
      rt,
      heldRows,
      standardizer,
      shape,
      fitted.weights,
      K
    )
    const weights = Array.from(fitted.weights)
    const checkpoint: Checkpoint = {
      format: "ssra/embedded-query-model",
      version: 1,
      id: `embedded-query-model:${Hash.sha256(JSON.stringify(weights)).slice(0, 12)}`,
      scale,
      seed,
      grader: grader.id,
      featureNames,
      standardizer: { mean: [...standardizer.mean], std: [...standardizer.std] },
      weights,
      generation,
      pool: { queries: [...pool.queries], frequency: Array.from(pool.frequency) },
      corpus,
      report: {
        documents: { train: split.first.length, heldOut: split.second.length },
        rows: { train: trainRows.length, heldOut: heldRows.length },
        labelsBySource,
        graderCalls,
        loss: Number.isFinite(fitted.loss) ? fitted.loss : 0,
        heldOutAccuracy,
        selectionAgreement
      }
    }
    return build(checkpoint, rt)
  })

/**
 * A training progress event: `done` of `total` `unit` in `task`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrainProgress {
  readonly task: "candidates" | "grading" | "features" | "fit"
  readonly done: number
  readonly total: number
  readonly unit: string
}

/** Features of `rows` in slices, yielding between slices (the same values as one `featuresOf` call). */
const featuresYielding = (
  rt: Runtime,
  rows: ReadonlyArray<{ readonly doc: string; readonly candidate: Candidate }>,
  report: (done: number) => void
): Effect.Effect<{ values: Float64Array; width: number }> =>
  Effect.gen(function* () {
    const slice = 2048
    let values = new Float64Array(0)
    let width = 0
    for (let start = 0; start < rows.length || start === 0; start += slice) {
      const part = featuresOf(rt, rows.slice(start, start + slice))
      if (start === 0) {
        width = part.width
        values = new Float64Array(rows.length * width)
      }
      values.set(part.values, start * width)
      report(Math.min(rows.length, start + slice))
      yield* Effect.yieldNow
    }
    return { values, width }
  })

/**
 * The checkpoint file inside a model directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const checkpointFile = "query-model.json"

/**
 * Saves the model to `dir/query-model.json` atomically.
 *
 * @since 0.1.0
 * @category persistence
 */
export const save = (model: EmbeddedQueryModel, dir: string): Effect.Effect<void, QueryCheckpointError> =>
  Effect.try({
    try: () => {
      fs.mkdirSync(dir, { recursive: true })
      AtomicFile.writeFileSync(path.join(dir, checkpointFile), JSON.stringify(model.checkpoint) + "\n")
    },
    catch: (cause) =>
      new QueryCheckpointError({
        dir,
        file: checkpointFile,
        reason: "io",
        detail: String((cause as Error)?.message ?? cause),
        hint: "check the directory is writable and the disk has space"
      })
  })

/**
 * Loads a model saved by `save`. A missing file, malformed JSON or a checkpoint of another format fails with a
 * `QueryCheckpointError` naming the file.
 *
 * @since 0.1.0
 * @category persistence
 */
export const load = (dir: string): Effect.Effect<EmbeddedQueryModel, QueryCheckpointError> =>
  Effect.gen(function* () {
    const file = path.join(dir, checkpointFile)
    const text = yield* Effect.try({
      try: () => fs.readFileSync(file, "utf8"),
      catch: (cause) =>
        new QueryCheckpointError({
          dir,
          file: checkpointFile,
          reason: (cause as NodeJS.ErrnoException).code === "ENOENT" ? "not-found" : "io",
          detail: String((cause as Error).message),
          hint: "pass the directory EmbeddedQueryModel.save wrote"
        })
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) =>
        new QueryCheckpointError({
          dir,
          file: checkpointFile,
          reason: "malformed",
          detail: `malformed JSON: ${(cause as Error).message}`
        })
    })
    const checkpoint = yield* Schema.decodeUnknownEffect(Checkpoint)(json).pipe(
      Effect.mapError(
        (e) =>
          new QueryCheckpointError({
            dir,
            file: checkpointFile,
            reason: "incompatible",
            detail: `not an embedded query model checkpoint: ${e.message}`,
            hint: "was it written by EmbeddedQueryModel.save (format ssra/embedded-query-model, version 1)?"
          })
      )
    )
    const K = checkpoint.scale.max + 1
    const expected = [...ScoreFeatures.lexicalNames, ...extraFeatureNames]
    if (checkpoint.featureNames.join(",") !== expected.join(",")) {
      return yield* new QueryCheckpointError({
        dir,
        file: checkpointFile,
        reason: "incompatible",
        detail: `the checkpoint's features (${checkpoint.featureNames.length}) differ from this version's (${expected.length})`,
        hint: "retrain the query model with this version"
      })
    }
    if (
      checkpoint.weights.length !== K * (checkpoint.featureNames.length + 1) ||
      checkpoint.pool.queries.length !== checkpoint.pool.frequency.length
    ) {
      return yield* new QueryCheckpointError({
        dir,
        file: checkpointFile,
        reason: "incompatible",
        detail: "weights or pool sizes do not match the feature names and scale"
      })
    }
    const pool = QueryPool.make(checkpoint.pool.queries, checkpoint.pool.frequency)
    return build(checkpoint, runtimeOf(pool, checkpoint.corpus))
  })
