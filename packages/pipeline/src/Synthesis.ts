/**
 * Stage "synthesis:<system>": a query model writes grade-controlled queries for a fixed, seeded set of
 * documents under the grade plan; per chunk the gates run (length, script, score agreement); then over the whole
 * set, duplicates are dropped (exact, normalized, near-duplicate), test queries can never leak in, and the grade
 * plan's shares are filled (GradeQuota). Every system of an experiment writes for the same documents with the
 * same gates, so the comparison is fair.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { type Document, Hash, Jsonl, type Models, type Pair, Sampling, SyntheticQuery, Text } from "@ssra/core"
import {
  DuplicateFilter,
  type Filter,
  GradeQuota,
  LengthFilter,
  ScoreAgreementFilter,
  ScriptFilter,
  TestLeakageFilter
} from "@ssra/filters"
import { Effect, Stream } from "effect"
import * as Artifact from "./Artifact.js"
import * as Generation from "./Generation.js"
import { type RunContext, record, stageError } from "./internal/context.js"
import * as Strings from "./internal/strings.js"
import { PipelineError } from "./PipelineError.js"
import type * as WorkUnits from "./WorkUnits.js"

/**
 * The ids of the documents synthesis may write for: the training documents (labeled and unlabeled) that no test
 * row names, sorted. A test document is never written for, so no synthetic query about it reaches training.
 *
 * @since 0.1.0
 * @category constructors
 */
export const eligibleDocumentIds = (data: {
  readonly labeled: ReadonlyArray<Pair.LabeledPair>
  readonly unlabeled: ReadonlyArray<Pair.UnlabeledPair>
  readonly retrievalTest: ReadonlyArray<Pair.LabeledPair>
  readonly pairTest: ReadonlyArray<Pair.LabeledPair>
}): Array<string> => {
  const test = new Set([...data.retrievalTest, ...data.pairTest].map((p) => p.did))
  return [...new Set([...data.unlabeled, ...data.labeled].map((p) => p.did))].filter((d) => !test.has(d)).sort()
}

/**
 * The documents synthesis writes for: a seeded sample of the training documents (labeled and unlabeled), never
 * a test document.
 *
 * @since 0.1.0
 * @category constructors
 */
export const documentsFor = (
  data: {
    readonly labeled: ReadonlyArray<Pair.LabeledPair>
    readonly unlabeled: ReadonlyArray<Pair.UnlabeledPair>
    readonly retrievalTest: ReadonlyArray<Pair.LabeledPair>
    readonly pairTest: ReadonlyArray<Pair.LabeledPair>
  },
  documents: ReadonlyMap<string, Document.Document>,
  count: number,
  seed: number
): Array<Document.Document> => {
  return Sampling.sample(eligibleDocumentIds(data), count, Sampling.hashSeed(`${seed}/synthesis`))
    .sort()
    .map((id) => documents.get(id))
    .filter((d): d is Document.Document => d !== undefined)
}

/**
 * The synthesis result of one system.
 *
 * @since 0.1.0
 * @category models
 */
export interface SynthesisResult {
  readonly artifact: Artifact.Artifact
  /** The surviving synthetic queries (`synthetic.jsonl`); every candidate with its verdicts stays on disk in the
   * artifact's `candidates.jsonl` (not loaded: at millions of documents it is the largest file of a run). */
  readonly kept: ReadonlyArray<SyntheticQuery.SyntheticQuery>
}

/**
 * Whether most labeled queries are Chinese (then the script gate asks for Han text).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isHanDomain = (labeled: ReadonlyArray<Pair.LabeledPair>): boolean => {
  let han = 0
  const sample = labeled.slice(0, 500)
  for (const p of sample) if (Text.hanRatio(p.query) >= 0.5) han++
  return sample.length > 0 && han / sample.length >= 0.5
}

/**
 * Runs synthesis for `system` with `writer`.
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  input: {
    readonly system: string
    readonly stage: SyntheticQuery.SyntheticQuery["stage"]
    readonly writer: Models.QueryWriter
    readonly writerInput: Artifact.Input
    readonly grader: Models.Grader
    readonly graderInput: Artifact.Input
    readonly documents: ReadonlyArray<Document.Document>
    readonly testQueries: ReadonlyArray<string>
    readonly han: boolean
  }
): Effect.Effect<SynthesisResult, PipelineError | WorkUnits.ShardPending> =>
  Effect.gen(function* () {
    const stage = `synthesis:${input.system}`
    const c = ctx.config.synthesis
    const plan = Object.entries(c.gradePlan)
      .map(([g, share]) => [Number(g), share] as const)
      .filter(([g, share]) => Number.isInteger(g) && g >= 0 && g <= input.grader.scale.max && share > 0)
    if (plan.length === 0) {
      return yield* new PipelineError({
        reason: "config",
        stage,
        detail: `synthesis.gradePlan ${JSON.stringify(c.gradePlan)} names no grade on the 0..${input.grader.scale.max} scale with a share above 0`,
        hint: 'use e.g. gradePlan: { "1": 0.34, "2": 0.33, "3": 0.33 }'
      })
    }
    const grades = Generation.gradesOn(
      input.grader.scale,
      plan.map(([g]) => g)
    )
    const shares: Partial<Record<0 | 1 | 2 | 3, number>> = {}
    for (const [g, share] of plan) shares[g as 0] = share
    const spec: Artifact.Spec = {
      stage,
      config: {
        grades,
        shares,
        perDocument: c.perDocument,
        minProbability: c.minProbability,
        han: input.han,
        chunkSize: ctx.config.generation.chunkSize,
        seed: ctx.config.seed,
        filters: "length/script/score-agreement|duplicate/test-leakage/grade-quota v1"
      },
      inputs: [
        input.writerInput,
        input.graderInput,
        { name: "documents", sha256: Hash.hashValue(input.documents.map((d) => [d.id, d.text])) },
        { name: "tests", sha256: Hash.hashValue(input.testQueries) }
      ]
    }
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        const gates: Array<Filter.Filter<Models.ModelError>> = [LengthFilter.make()]
        if (input.han) gates.push(ScriptFilter.make({ script: "Han" }))
        gates.push(ScoreAgreementFilter.make({ grader: input.grader, minProbability: c.minProbability }))
        const files = yield* Generation.generateFiles({
          stage: input.stage,
          stageName: stage,
          dir,
          writer: input.writer,
          documents: input.documents,
          grades,
          perGrade: c.perDocument,
          seed: ctx.config.seed,
          chunkSize: ctx.config.generation.chunkSize,
          shard: ctx.shard,
          gates
        })
        const setGates: Array<Filter.Filter<Models.ModelError>> = [
          DuplicateFilter.make({ scope: "global" }),
          TestLeakageFilter.make({ evaluationQueries: input.testQueries }),
          GradeQuota.make({ shares, others: "drop", seed: ctx.config.seed })
        ]
        const set = yield* Generation.finishSet({
          files,
          gates: setGates,
          candidatesFile: path.join(dir, "candidates.jsonl"),
          keptFile: path.join(dir, "synthetic.jsonl")
        })
        const counts: Record<string, number> = {
          documents: input.documents.length,
          candidates: set.candidates,
          kept: set.kept
        }
        for (const [g, a] of Object.entries(set.alignment)) {
          counts[`${g}Written`] = a.written
          counts[`${g}JudgedAtTarget`] = a.judgedAtTarget
          counts[`${g}Kept`] = a.kept
        }
        counts.duplicateRatePermille = set.duplicateRatePermille
        return {
          counts,
          info: {
            filters: set.filters,
            components: [
              { name: `query-model:${input.system}`, id: input.writer.id, config: { kind: input.writer.kind } }
            ]
          }
        }
      }).pipe(Effect.mapError(stageError(stage)))
    )
    yield* record(ctx, artifact)
    // every query of a document shares one copy of its text (each decoded row would otherwise own one)
    const s = ctx.strings ?? Strings.pool()
    const kept = yield* Jsonl.read(Artifact.file(artifact, "synthetic.jsonl"), SyntheticQuery.SyntheticQuery, {
      allowEmpty: true
    }).pipe(
      Stream.map((row) => ({ ...row, did: s(row.did), doc: s(row.doc) })),
      Stream.runCollect,
      Effect.mapError((e) => new PipelineError({ reason: "io", stage, detail: e.message }))
    )
    return { artifact, kept }
  })
