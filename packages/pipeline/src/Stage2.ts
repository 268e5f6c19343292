/**
 * Stage 2 — alignment by filtered self-training: query model v1 writes queries for unlabeled documents at the
 * target grades (checkpointed chunks); a query survives only if the score model judges it at its target grade
 * (ScoreAgreementFilter) and the per-document pairwise judge agrees with the target order (PairwiseConsistency
 * Filter, both presentation orders). Survivors join the Stage-1 D2Q set, on which query model v2 is trained.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { type Document, Hash, Jsonl, type Models, Pair, Sampling, SyntheticQuery } from "@ssra/core"
import { PairwiseConsistencyFilter, PairwiseJudge, ScoreAgreementFilter } from "@ssra/filters"
import { Effect, type Schema, Stream } from "effect"
import * as Artifact from "./Artifact.js"
import * as Generation from "./Generation.js"
import { type RunContext, record, stageError } from "./internal/context.js"
import * as Strings from "./internal/strings.js"
import { PipelineError } from "./PipelineError.js"
import { group } from "./Stage1.js"
import type * as WorkUnits from "./WorkUnits.js"

/**
 * Stage 2's outputs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stage2Result {
  readonly artifact: Artifact.Artifact
  readonly candidates: ReadonlyArray<SyntheticQuery.SyntheticQuery>
  readonly survivors: ReadonlyArray<SyntheticQuery.SyntheticQuery>
  /** Stage 1's D2Q set plus the survivors (origin `synthetic`): query model v2's training data. */
  readonly d2q: ReadonlyArray<Pair.D2QGroup>
}

/**
 * The documents Stage 2 writes for: a seeded sample of the unlabeled pool's documents.
 *
 * @since 0.1.0
 * @category constructors
 */
export const documentsFor = (
  unlabeled: ReadonlyArray<Pair.UnlabeledPair>,
  documents: ReadonlyMap<string, Document.Document>,
  count: number,
  seed: number
): Array<Document.Document> => {
  const ids = [...new Set(unlabeled.map((p) => p.did))].sort()
  return Sampling.sample(ids, count, Sampling.hashSeed(`${seed}/stage2`))
    .sort()
    .map((id) => documents.get(id))
    .filter((d): d is Document.Document => d !== undefined)
}

/** Stage 1's D2Q set plus the survivors of stage 2 (origin `synthetic`, graded at their target): v2's training data. */
const withSurvivors = (
  stage1D2Q: ReadonlyArray<Pair.D2QGroup>,
  survivors: ReadonlyArray<SyntheticQuery.SyntheticQuery>
): Array<Pair.D2QGroup> =>
  group([
    ...stage1D2Q.flatMap((g) =>
      g.queries.map((q) => ({
        did: g.did,
        doc: g.doc,
        query: q.query,
        grade: q.grade,
        origin: q.origin,
        probabilities: q.probabilities
      }))
    ),
    ...survivors.map((s) => ({
      did: s.did,
      doc: s.doc,
      query: s.query,
      grade: s.targetGrade,
      origin: "synthetic" as const,
      probabilities: s.judged?.probabilities
    }))
  ])

/** Stage 2's counts: documents, candidates and survivors, then per target grade the written, judged-at-target, kept. */
const countsOf = (
  docs: ReadonlyArray<Document.Document>,
  candidates: ReadonlyArray<SyntheticQuery.SyntheticQuery>,
  survivors: ReadonlyArray<SyntheticQuery.SyntheticQuery>
): Record<string, number> => {
  const counts: Record<string, number> = {
    documents: docs.length,
    candidates: candidates.length,
    survivors: survivors.length
  }
  for (const [g, a] of Object.entries(Generation.alignment(candidates))) {
    counts[`${g}Written`] = a.written
    counts[`${g}JudgedAtTarget`] = a.judgedAtTarget
    counts[`${g}Kept`] = a.kept
  }
  return counts
}

/** Reads stage 2's candidates and D2Q set back from its artifact (equal ids and texts sharing one string). */
const readResult = (ctx: RunContext, artifact: Artifact.Artifact): Effect.Effect<Stage2Result, PipelineError> =>
  Effect.gen(function* () {
    const s = ctx.strings ?? Strings.pool()
    const read = <A, I>(name: string, schema: Schema.Codec<A, I>, intern: (row: A) => A) =>
      Jsonl.read(Artifact.file(artifact, name), schema, { allowEmpty: true }).pipe(
        Stream.map(intern),
        Stream.runCollect,
        Effect.mapError((e) => new PipelineError({ reason: "io", stage: "stage2", detail: e.message }))
      )
    const candidates = yield* read("candidates.jsonl", SyntheticQuery.SyntheticQuery, (c) => ({
      ...c,
      did: s(c.did),
      doc: s(c.doc),
      query: s(c.query)
    }))
    return {
      artifact,
      candidates,
      survivors: candidates.filter(Generation.isKept),
      d2q: yield* read("d2q.jsonl", Pair.D2QGroup, (g) => Strings.group(s, g))
    }
  })

/**
 * Runs Stage 2 with query model v1.
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  input: {
    readonly writer: Models.QueryWriter
    readonly writerInput: Artifact.Input
    readonly grader: Models.Grader
    readonly graderInput: Artifact.Input
    readonly unlabeled: ReadonlyArray<Pair.UnlabeledPair>
    readonly documents: ReadonlyMap<string, Document.Document>
    readonly stage1D2Q: ReadonlyArray<Pair.D2QGroup>
    readonly judge?: PairwiseJudge.PairwiseJudge | undefined
  }
): Effect.Effect<Stage2Result, PipelineError | WorkUnits.ShardPending> =>
  Effect.gen(function* () {
    const stage = "stage2"
    const c = ctx.config.stage2
    const grades = Generation.gradesOn(
      input.grader.scale,
      c.grades.filter((g) => g > 0)
    )
    if (grades.length < 2) {
      return yield* new PipelineError({
        reason: "config",
        stage,
        detail: `stage2.grades ${JSON.stringify(c.grades)} leave fewer than two target grades on the 0..${input.grader.scale.max} scale: the pairwise filter needs two`,
        hint: "use stage2.grades: [1, 2, 3] (grades above the set's scale are dropped automatically)"
      })
    }
    const docs = documentsFor(input.unlabeled, input.documents, c.documents, ctx.config.seed)
    const judge = input.judge ?? PairwiseJudge.fromGrader(input.grader)
    const spec: Artifact.Spec = {
      stage,
      config: {
        grades,
        perGrade: c.perGrade,
        documents: c.documents,
        minProbability: c.minProbability,
        judge: judge.id,
        judgePrompt: judge.promptVersion,
        chunkSize: ctx.config.generation.chunkSize,
        seed: ctx.config.seed
      },
      inputs: [
        input.writerInput,
        input.graderInput,
        { name: "documents", sha256: Hash.hashValue(docs.map((d) => [d.id, d.text])) },
        { name: "stage1", sha256: Hash.hashValue(input.stage1D2Q) }
      ]
    }
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        const candidates = yield* Generation.generate({
          stage: "stage2",
          stageName: stage,
          dir,
          writer: input.writer,
          documents: docs,
          grades,
          perGrade: c.perGrade,
          seed: ctx.config.seed,
          chunkSize: ctx.config.generation.chunkSize,
          shard: ctx.shard,
          gates: [
            ScoreAgreementFilter.make({ grader: input.grader, minProbability: c.minProbability }),
            PairwiseConsistencyFilter.make({ judge, scaleMax: input.grader.scale.max })
          ]
        })
        const survivors = candidates.filter(Generation.isKept)
        const d2q = withSurvivors(input.stage1D2Q, survivors)
        yield* Jsonl.writeAll(path.join(dir, "candidates.jsonl"), candidates, { schema: SyntheticQuery.SyntheticQuery })
        yield* Jsonl.writeAll(path.join(dir, "d2q.jsonl"), d2q, { schema: Pair.D2QGroup })
        return {
          counts: countsOf(docs, candidates, survivors),
          info: {
            filters: Generation.countsFromVerdicts(candidates),
            components: [
              { name: "query-model:v1", id: input.writer.id, config: { kind: input.writer.kind } },
              { name: "pairwise-judge", id: judge.id, config: { promptVersion: judge.promptVersion, kind: judge.kind } }
            ]
          }
        }
      }).pipe(Effect.mapError(stageError(stage)))
    )
    yield* record(ctx, artifact)
    return yield* readResult(ctx, artifact)
  })
