/**
 * Stage "eval:<system>": a system on the run's test files with the SSRA protocol, through `@ssra/evaluation`'s
 * evaluators — retrieval (rerank each query's graded candidates; queries with fewer than `minCandidates` are
 * dropped and counted; nDCG@k as trec_eval) and pair classification (cosine; AP@≥t as scikit-learn; a
 * threshold above the set's scale is "n/a", never 0). Results are MTEB-layout task results (without timings, so
 * a result is a pure function of model and data; timings are in the run manifest) with per-query
 * values and scored pairs, so any two systems can be compared with paired bootstrap intervals.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Failure, Hash, type Models, type Pair } from "@ssra/core"
import { PairClassificationEvaluator, PairScorer, ResultFile, RetrievalEvaluator, Statistics } from "@ssra/evaluation"
import { Effect, Schema } from "effect"
import * as Artifact from "./Artifact.js"
import { type RunContext, record } from "./internal/context.js"
import { PipelineError } from "./PipelineError.js"

/**
 * The test data of a run.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestData {
  readonly dataset: string
  readonly retrievalTest: ReadonlyArray<Pair.LabeledPair>
  readonly pairTest: ReadonlyArray<Pair.LabeledPair>
  readonly scale: { readonly max: 1 | 2 | 3 }
}

/**
 * What a system is evaluated as: an embedder (cosine), or a plain pair scorer (the lexical references).
 *
 * @since 0.1.0
 * @category models
 */
export type Subject =
  | { readonly _tag: "embedder"; readonly embedder: Models.TextEmbedder }
  | { readonly _tag: "scorer"; readonly scorer: PairScorer.PairScorer }

/**
 * A system's two task results (retrieval, pair classification).
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemResults {
  readonly system: string
  readonly retrieval: ResultFile.TaskResult | undefined
  readonly pairs: ResultFile.TaskResult | undefined
}

const Results = Schema.Array(ResultFile.TaskResult)

/**
 * Evaluates a subject now (no artifact).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (
  ctx: RunContext,
  system: string,
  subject: Subject,
  data: TestData
): Effect.Effect<SystemResults, PipelineError> =>
  Effect.gen(function* () {
    const e = ctx.config.evaluation
    const scorer = subject._tag === "embedder" ? PairScorer.fromEmbedder(subject.embedder) : subject.scorer
    // each metric's own 95% bootstrap interval (over queries or pairs), seeded by the run, for the report's whiskers
    const withIntervals = (result: Parameters<typeof Statistics.resultIntervals>[0]) =>
      ResultFile.fromEvaluation(result, {
        modelName: system,
        dataset: data.dataset,
        intervals: Statistics.resultIntervals(result, { resamples: e.bootstrapSamples, seed: ctx.config.seed })
      })
    const retrieval =
      data.retrievalTest.length === 0
        ? undefined
        : withIntervals(
            yield* RetrievalEvaluator.evaluate({
              name: "retrieval",
              rows: data.retrievalTest,
              scorer,
              scale: data.scale,
              minCandidates: e.minCandidates,
              cutoffs: RetrievalEvaluator.ssraPreset.cutoffs
            })
          )
    const pairs =
      data.pairTest.length === 0
        ? undefined
        : withIntervals(
            yield* PairClassificationEvaluator.evaluate({
              name: "pair-classification",
              rows: data.pairTest,
              ...(subject._tag === "embedder"
                ? {
                    scorer: PairScorer.fromEmbedder(subject.embedder, { dimensions: e.pairDimensions }),
                    dimensions: e.pairDimensions
                  }
                : { scorer: subject.scorer }),
              scale: data.scale,
              ...(e.balancedPerGrade !== undefined ? { balanced: { perGrade: e.balancedPerGrade, seed: 52 } } : {})
            })
          )
    return { system, retrieval, pairs }
  }).pipe(
    Effect.mapError((err) => {
      // the error's own classification: the model under evaluation unreachable, a failed write, or bad test data
      const failure = Failure.classify(err).class
      return new PipelineError({
        reason: failure === "backend-unreachable" || failure === "io" ? failure : "input",
        stage: `eval:${system}`,
        detail: err.message
      })
    })
  )

/**
 * Evaluates (or reuses the evaluation of) system `system`; `modelInput` names what is evaluated.
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  system: string,
  subject: Subject,
  modelInput: Artifact.Input,
  data: TestData
): Effect.Effect<SystemResults, PipelineError> =>
  Effect.gen(function* () {
    const e = ctx.config.evaluation
    const spec: Artifact.Spec = {
      stage: `eval:${system}`,
      config: {
        minCandidates: e.minCandidates,
        pairDimensions: e.pairDimensions ?? null,
        balancedPerGrade: e.balancedPerGrade ?? null,
        protocol: "ssra/v1",
        dataset: data.dataset
      },
      inputs: [modelInput, { name: "tests", sha256: Hash.hashValue([data.retrievalTest, data.pairTest]) }]
    }
    const artifact = yield* Artifact.cached(ctx.runDir, spec, (dir) =>
      Effect.gen(function* () {
        const results = yield* evaluate(ctx, system, subject, data)
        const list = [results.retrieval, results.pairs].filter((r): r is ResultFile.TaskResult => r !== undefined)
        yield* AtomicFile.writeJson(path.join(dir, "results.json"), list).pipe(
          Effect.mapError((err) => new PipelineError({ reason: "io", stage: spec.stage, detail: err.message }))
        )
        const metric = (r: ResultFile.TaskResult | undefined, k: string) => r?.ssra.metrics[k] ?? null
        const counts: Record<string, number> = {}
        for (const [k, r] of [
          ["ndcg_at_10", results.retrieval],
          ["ap_ge_1", results.pairs],
          ["ap_ge_2", results.pairs],
          ["ap_ge_3", results.pairs],
          ["ap_mean", results.pairs]
        ] as const) {
          const v = metric(r, k)
          if (v !== null) counts[`${k}_x1e4`] = Math.round(v * 10000)
        }
        return { counts }
      })
    )
    yield* record(ctx, artifact)
    const list = yield* Effect.try({
      try: () =>
        Schema.decodeUnknownSync(Results)(JSON.parse(fs.readFileSync(path.join(artifact.dir, "results.json"), "utf8"))),
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          stage: spec.stage,
          detail: String((cause as Error).message),
          hint: `delete ${artifact.dir} and rerun`
        })
    })
    return {
      system,
      retrieval: list.find((r) => r.ssra.evaluator === "retrieval"),
      pairs: list.find((r) => r.ssra.evaluator === "pair-classification")
    }
  })
