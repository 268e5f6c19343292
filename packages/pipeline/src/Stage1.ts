/**
 * Stage 1 — diversity by score-based re-annotation: the score model grades every unlabeled (query, document)
 * pair (checkpointed chunks), the pool is grouped by document into a D2Q set, merged with the de-duplicated
 * labeled pairs, and query model v1 is trained on it. Also builds the labeled-only D2Q set of the vanilla SFT
 * baseline.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { Hash, Jsonl, type Models, Pair, Text } from "@ssra/core"
import { Effect, Schema, Stream } from "effect"
import * as Artifact from "./Artifact.js"
import { type RunContext, record, stageError } from "./internal/context.js"
import * as Strings from "./internal/strings.js"
import { PipelineError } from "./PipelineError.js"
import * as WorkUnits from "./WorkUnits.js"

/**
 * An unlabeled pair with the score model's grade.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AnnotatedPair = Schema.Struct({
  qid: Schema.String,
  did: Schema.String,
  query: Schema.String,
  doc: Schema.String,
  grade: Schema.Int,
  probabilities: Schema.Array(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type AnnotatedPair = typeof AnnotatedPair.Type

/**
 * Groups graded queries by document, in first-seen document order, dropping repeated (query, grade) per document.
 *
 * @since 0.1.0
 * @category constructors
 */
export const group = (rows: Iterable<D2QRow>): Array<Pair.D2QGroup> => {
  const g = grouper()
  for (const r of rows) g.add(r)
  return g.result()
}

/**
 * One row for `group`: a (document, query, grade) with where it came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface D2QRow {
  readonly did: string
  readonly doc: string
  readonly query: string
  readonly grade: number
  readonly origin: Pair.D2QGroup["queries"][number]["origin"]
  readonly probabilities?: ReadonlyArray<number> | undefined
}

/**
 * `group` one row at a time (for rows streamed from disk): `add` each, then `result()` once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const grouper = () => {
  const groups = new Map<
    string,
    { did: string; doc: string; queries: Array<Pair.D2QGroup["queries"][number]>; keys: Set<string> }
  >()
  return {
    add: (r: D2QRow): void => {
      let g = groups.get(r.did)
      if (g === undefined) {
        g = { did: r.did, doc: r.doc, queries: [], keys: new Set() }
        groups.set(r.did, g)
      }
      const key = `${Text.dedupKey(r.query)}\u0000${r.grade}`
      if (g.keys.has(key)) return
      g.keys.add(key)
      g.queries.push({
        query: r.query,
        grade: r.grade as 0,
        origin: r.origin,
        ...(r.probabilities !== undefined ? { probabilities: [...r.probabilities] } : {})
      })
    },
    result: (): Array<Pair.D2QGroup> => [...groups.values()].map(({ did, doc, queries }) => ({ did, doc, queries }))
  }
}

/**
 * The labeled pairs de-duplicated as the paper's Stage 1 asks: one row per (normalized query, document), and a
 * frequent query kept for at most `maxPerQuery` documents (the labeled data maps many documents to the same
 * frequent query, which is what makes a query model trained on it repeat itself).
 *
 * @since 0.1.0
 * @category constructors
 */
export const dedupLabeled = (labeled: ReadonlyArray<Pair.LabeledPair>, maxPerQuery = 3): Array<Pair.LabeledPair> => {
  const seen = new Set<string>()
  const perQuery = new Map<string, number>()
  const out: Array<Pair.LabeledPair> = []
  for (const p of labeled) {
    const q = Text.dedupKey(p.query)
    const key = `${q}\u0000${p.did}`
    if (seen.has(key)) continue
    const n = perQuery.get(q) ?? 0
    if (n >= maxPerQuery) continue
    seen.add(key)
    perQuery.set(q, n + 1)
    out.push(p)
  }
  return out
}

/**
 * The vanilla-SFT D2Q set: the labeled pairs as they are, grouped by document.
 *
 * @since 0.1.0
 * @category constructors
 */
export const labeledD2Q = (labeled: ReadonlyArray<Pair.LabeledPair>): Array<Pair.D2QGroup> =>
  group(labeled.map((p) => ({ did: p.did, doc: p.doc, query: p.query, grade: p.label, origin: "human" as const })))

/**
 * The real query pool the embedded query model draws from: every labeled and unlabeled query, normalized,
 * de-duplicated, sorted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const queryPool = (
  labeled: ReadonlyArray<Pair.LabeledPair>,
  unlabeled: ReadonlyArray<Pair.UnlabeledPair>
): Array<string> => {
  const byKey = new Map<string, string>()
  for (const p of [...labeled, ...unlabeled]) {
    const k = Text.dedupKey(p.query)
    if (k !== "" && !byKey.has(k)) byKey.set(k, p.query)
  }
  return [...byKey.values()].sort()
}

/**
 * Stage 1's outputs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stage1Result {
  readonly artifact: Artifact.Artifact
  /** The D2Q set; the pool's annotations stay on disk in the artifact's `annotated.jsonl` (not loaded: at
   * millions of pairs nothing downstream needs them in memory). */
  readonly d2q: ReadonlyArray<Pair.D2QGroup>
}

/**
 * Grades the unlabeled pool and builds Stage 1's D2Q set (labeled de-duplicated + re-annotated click pairs).
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  labeled: ReadonlyArray<Pair.LabeledPair>,
  unlabeled: ReadonlyArray<Pair.UnlabeledPair>,
  grader: Models.Grader,
  graderInput: Artifact.Input
): Effect.Effect<Stage1Result, PipelineError | WorkUnits.ShardPending> =>
  Effect.gen(function* () {
    const stage = "stage1"
    if (unlabeled.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage,
        detail: "the unlabeled pool is empty: Stage 1 has nothing to re-annotate",
        hint: "give an unlabeled file with click-log pairs, or disable stage1 (stage1.enabled: false) to run the vanilla pipeline"
      })
    }
    const spec: Artifact.Spec = {
      stage,
      config: { chunkSize: ctx.config.generation.chunkSize, maxPerQuery: 3 },
      inputs: [
        graderInput,
        { name: "labeled", sha256: Hash.hashValue(labeled) },
        { name: "unlabeled", sha256: Hash.hashValue(unlabeled) }
      ]
    }
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        // the annotations stream from the committed chunks into annotated.jsonl and the D2Q grouping: the pool's
        // rows are never held a second time
        const files = yield* WorkUnits.runFiles({
          stage,
          name: "annotation",
          dir,
          items: unlabeled,
          chunkSize: Math.max(ctx.config.generation.chunkSize, 200),
          schema: AnnotatedPair,
          shard: ctx.shard,
          identity: (p) => `${p.qid}\u0000${p.did}`,
          process: (pairs) =>
            Effect.map(grader.grade(pairs), (judgments) =>
              pairs.map((p, i) => ({
                qid: p.qid,
                did: p.did,
                query: p.query,
                doc: p.doc,
                grade: judgments[i]!.grade,
                probabilities: [...judgments[i]!.probabilities]
              }))
            )
        })
        const dedup = dedupLabeled(labeled)
        const groups = grouper()
        for (const p of dedup) {
          groups.add({ did: p.did, doc: p.doc, query: p.query, grade: p.label, origin: "human" })
        }
        const grades: Record<string, number> = {}
        const annotated = yield* Jsonl.write(
          path.join(dir, "annotated.jsonl"),
          Stream.tap(WorkUnits.readChunks(files, AnnotatedPair), (a) =>
            Effect.sync(() => {
              groups.add({
                did: a.did,
                doc: a.doc,
                query: a.query,
                grade: a.grade,
                origin: "score-model",
                probabilities: a.probabilities
              })
              grades[`annotatedGrade${a.grade}`] = (grades[`annotatedGrade${a.grade}`] ?? 0) + 1
            })
          ),
          { schema: AnnotatedPair }
        )
        const d2q = groups.result()
        yield* Jsonl.writeAll(path.join(dir, "d2q.jsonl"), d2q, { schema: Pair.D2QGroup })
        return {
          counts: {
            unlabeled: unlabeled.length,
            annotated: annotated.rows,
            labeledDedup: dedup.length,
            labeled: labeled.length,
            d2qDocuments: d2q.length,
            ...grades
          }
        }
      }).pipe(Effect.mapError(stageError(stage)))
    )
    yield* record(ctx, artifact)
    const s = ctx.strings ?? Strings.pool()
    const d2q = yield* Jsonl.read(Artifact.file(artifact, "d2q.jsonl"), Pair.D2QGroup, { allowEmpty: true }).pipe(
      Stream.map((g) => Strings.group(s, g)),
      Stream.runCollect,
      Effect.mapError((e) => new PipelineError({ reason: "io", stage, detail: e.message }))
    )
    return { artifact, d2q }
  })
