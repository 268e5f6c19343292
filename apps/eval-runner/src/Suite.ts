/**
 * The suite file: which datasets, which systems (reference scorers, checkpoints, remote endpoints), which
 * evaluators and presets. JSON or YAML, validated by Schema; relative paths resolve against the suite file.
 *
 * @since 0.1.0
 */

import { readFileSync } from "node:fs"
import { dirname, isAbsolute, resolve } from "node:path"
import { EvaluationError } from "@ssra/evaluation"
import { Presets } from "@ssra/llm"
import { Effect, Schema } from "effect"
import YAML from "yaml"

const Name = Schema.String.check(
  Schema.isPattern(/^[\w.-]+$/, { message: "Expected a name of letters, digits, '.', '_' or '-'" })
)

/**
 * A dataset: a retrieval test (rows `{qid,did,query,doc,label}`), a pair test (same rows), optional TREC qrels
 * to cross-check the retrieval labels, and the grade scale (default: inferred from the labels).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Dataset = Schema.Struct({
  name: Name,
  retrieval: Schema.optionalKey(Schema.String),
  pairs: Schema.optionalKey(Schema.String),
  qrels: Schema.optionalKey(Schema.String),
  grades: Schema.optionalKey(Schema.Literals([1, 2, 3]))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const System = Schema.Union([
  Schema.Struct({
    name: Name,
    kind: Schema.Literal("bm25"),
    k1: Schema.optionalKey(Schema.Number),
    b: Schema.optionalKey(Schema.Number),
    tokenizer: Schema.optionalKey(Schema.Literals(["char-1-2", "char", "char-2", "jieba"]))
  }),
  Schema.Struct({
    name: Name,
    kind: Schema.Literal("char-ngram"),
    grams: Schema.optionalKey(Schema.Union([Schema.Literal("1-2"), Schema.Int]))
  }),
  Schema.Struct({
    name: Name,
    kind: Schema.Literal("checkpoint"),
    path: Schema.String
  }),
  Schema.Struct({
    name: Name,
    kind: Schema.Literal("remote"),
    model: Schema.String,
    preset: Schema.optionalKey(Presets.PresetName),
    baseUrl: Schema.optionalKey(Schema.String),
    apiKeyEnv: Schema.optionalKey(Schema.String),
    dimensions: Schema.optionalKey(Schema.Int),
    queryInstruction: Schema.optionalKey(Schema.NullOr(Schema.String)),
    documentPrefix: Schema.optionalKey(Schema.String),
    batchSize: Schema.optionalKey(Schema.Int)
  })
])

/**
 * @since 0.1.0
 * @category models
 */
export type System = typeof System.Type

const Instructions = Schema.Struct({
  query: Schema.optionalKey(Schema.String),
  document: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const Suite = Schema.Struct({
  name: Name,
  title: Schema.optionalKey(Schema.String),
  output: Schema.optionalKey(Schema.String),
  seed: Schema.optionalKey(Schema.Int),
  /** `ssra` (default): retrieval drops queries with < 10 candidates; pair classification at 128 dims. */
  preset: Schema.optionalKey(Schema.Literals(["ssra", "none"])),
  datasets: Schema.Array(Dataset).check(Schema.isMinLength(1)),
  systems: Schema.Array(System).check(Schema.isMinLength(1)),
  evaluators: Schema.optionalKey(Schema.Array(Schema.Literals(["retrieval", "pair-classification"]))),
  retrieval: Schema.optionalKey(
    Schema.Struct({
      minCandidates: Schema.optionalKey(Schema.Int),
      cutoffs: Schema.optionalKey(Schema.Array(Schema.Int)),
      primaryMetric: Schema.optionalKey(Schema.String),
      instructions: Schema.optionalKey(Instructions)
    })
  ),
  pairClassification: Schema.optionalKey(
    Schema.Struct({
      dimensions: Schema.optionalKey(Schema.NullOr(Schema.Int)),
      balanced: Schema.optionalKey(Schema.Struct({ perGrade: Schema.Int, seed: Schema.Int })),
      instructions: Schema.optionalKey(Instructions)
    })
  ),
  bootstrap: Schema.optionalKey(
    Schema.Struct({ resamples: Schema.optionalKey(Schema.Int), permutations: Schema.optionalKey(Schema.Int) })
  )
})

/**
 * @since 0.1.0
 * @category models
 */
export type Suite = typeof Suite.Type

/**
 * A decoded suite with its paths resolved.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadedSuite {
  readonly file: string
  readonly suite: Suite
  readonly resolve: (path: string) => string
}

/**
 * Parses suite text (YAML is a superset of JSON, so one parser reads both) and validates it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (text: string, file: string): Effect.Effect<LoadedSuite, EvaluationError.EvaluationError> =>
  Effect.gen(function* () {
    const raw = yield* Effect.try({
      try: () => YAML.parse(text) as unknown,
      catch: (cause) =>
        new EvaluationError.EvaluationError({
          reason: "malformed",
          file,
          detail: `not valid YAML/JSON: ${(cause as Error).message}`
        })
    })
    const suite = yield* Effect.mapError(
      Schema.decodeUnknownEffect(Suite)(raw, { errors: "all" }),
      (e) =>
        new EvaluationError.EvaluationError({
          reason: "malformed",
          file,
          detail: `invalid suite: ${e.message}`,
          hint: "see apps/eval-runner/README.md for the suite format"
        })
    )
    const names = new Set<string>()
    for (const s of suite.systems) {
      if (names.has(s.name)) {
        return yield* new EvaluationError.EvaluationError({
          reason: "malformed",
          file,
          id: s.name,
          detail: "two systems share this name"
        })
      }
      names.add(s.name)
    }
    for (const d of suite.datasets) {
      if (d.retrieval === undefined && d.pairs === undefined) {
        return yield* new EvaluationError.EvaluationError({
          reason: "malformed",
          file,
          id: d.name,
          detail: "dataset names neither a retrieval nor a pairs file"
        })
      }
    }
    const base = dirname(resolve(file))
    return { file, suite, resolve: (path: string) => (isAbsolute(path) ? path : resolve(base, path)) }
  })

/**
 * Reads and validates a suite file.
 *
 * @since 0.1.0
 * @category decoding
 */
export const load = (file: string): Effect.Effect<LoadedSuite, EvaluationError.EvaluationError> =>
  Effect.flatMap(
    Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (cause) =>
        new EvaluationError.EvaluationError({
          reason: "io",
          file,
          detail: `cannot read suite: ${(cause as Error).message}`
        })
    }),
    (text) => parse(text, file)
  )
