/**
 * The configuration of a run: data files, backends, and the knobs of every stage. A config file holds any subset
 * (`ConfigFile`, Schema-validated); `resolve` fills the rest from `defaults`, so a run's full config is always
 * explicit and recorded in its manifest.
 *
 * @since 0.1.0
 */
import { Lexical, LexicalWeight, TrainingArgs } from "@ssra/embedding"
import { Effect, Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Share = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const OpenShare = Schema.Number.check(Schema.isGreaterThan(0), Schema.isLessThan(1))
const GradeValue = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 }))

/**
 * The defaults of `training.lexical`'s fields: 2048 hashed dimensions, α `"auto"` (selected on held-out labeled
 * queries, `@ssra/embedding`'s `LexicalWeight`: half of the labeled queries with ≥ 5 judged candidates and ≥ 2
 * grades, split with the run's seed), BM25's k1 1.2 and b 0.75.
 *
 * @since 0.1.0
 * @category constants
 */
export const lexicalDefaults = {
  dimensions: 2048,
  weight: "auto",
  k1: Lexical.defaultConfig.k1,
  b: Lexical.defaultConfig.b,
  heldOutFraction: LexicalWeight.defaults.fraction,
  heldOutMinCandidates: LexicalWeight.defaults.minCandidates
} as const

/**
 * `training.lexical`: the dual encoder's fixed lexical channel (`@ssra/embedding`'s `Lexical`: BM25 over hashed
 * char 1+2-grams and jieba words, appended to the learned embedding so `cos = α·lexical + (1 − α)·learned`). On by
 * default (`defaults.training.lexical`, every field at `lexicalDefaults`); every field is optional; the whole
 * section `null` turns the channel off (the learned embedding alone).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LexicalSection = Schema.Struct({
  /** Hashed width of the lexical part, 1..65536. */
  dimensions: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1 << 16 })).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(lexicalDefaults.dimensions))
  ),
  /**
   * α, the lexical part's share of the cosine: a number in [0, 1] (fixed), or `"auto"`: selected per trained
   * model on held-out labeled queries (`heldOutFraction`, `heldOutMinCandidates`, the run's seed).
   */
  weight: Schema.Union([Share, Schema.Literal("auto")]).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed<number | "auto">(lexicalDefaults.weight))
  ),
  /** BM25 term-frequency saturation, ≥ 0. */
  k1: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(lexicalDefaults.k1))
  ),
  /** BM25 length normalization, in [0, 1]. */
  b: Share.pipe(Schema.withDecodingDefaultKey(Effect.succeed(lexicalDefaults.b))),
  /** `weight: "auto"`: share of the eligible labeled queries held out to select α on, 0 < f < 1. */
  heldOutFraction: OpenShare.pipe(Schema.withDecodingDefaultKey(Effect.succeed(lexicalDefaults.heldOutFraction))),
  /** `weight: "auto"`: judged candidates (≥ 2 grades among them) a labeled query needs to be held out, ≥ 2. */
  heldOutMinCandidates: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(lexicalDefaults.heldOutMinCandidates))
  )
})

/**
 * @since 0.1.0
 * @category models
 */
export type LexicalSection = typeof LexicalSection.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const LlmBackend = Schema.Struct({
  /** A preset name of @ssra/llm (vllm, ollama, llamacpp-server, sglang, openai, ark, dashscope, deepseek). */
  preset: Schema.optionalKey(Schema.String),
  baseUrl: Schema.optionalKey(Schema.String),
  /**
   * A local GGUF model file run in-process by node-llama-cpp (an optional dependency) instead of an endpoint;
   * excludes `preset` and `baseUrl`.
   */
  gguf: Schema.optionalKey(Schema.String),
  /** The model's name at the endpoint; with `gguf`, default the file's name. */
  model: Schema.optionalKey(Schema.String),
  /** `gguf` only: CPU threads (default node-llama-cpp's choice) and context size in tokens (default 4096). */
  threads: Schema.optionalKey(PositiveInt),
  contextSize: Schema.optionalKey(PositiveInt),
  /** Name of the environment variable holding the API key (the key itself never goes in a config file). */
  apiKeyEnv: Schema.optionalKey(Schema.String),
  maxInFlight: Schema.optionalKey(PositiveInt),
  /** Attempts per request including the first (retries back off exponentially). */
  maxAttempts: Schema.optionalKey(PositiveInt),
  /** Price per million tokens, for cost accounting and the budget cap. */
  pricePerMillionInput: Schema.optionalKey(Schema.Number),
  pricePerMillionOutput: Schema.optionalKey(Schema.Number),
  maxCostUsd: Schema.optionalKey(Schema.Number),
  /** Throughput assumed by `ssra estimate` (requests per second). */
  requestsPerSecond: Schema.optionalKey(Schema.Number),
  /** Per-request timeout (whole response), milliseconds. Default 120000. */
  timeoutMs: Schema.optionalKey(PositiveInt),
  /**
   * Share of a stage's items that may stay set aside (their calls failed for good after a second round) and be
   * left out of this run; retried on the next run. Above it the run stops. Default 0.01.
   */
  maxFailedFraction: Schema.optionalKey(Share),
  /** Cool-down before a set-aside call or chunk gets its second round, milliseconds. Default 30000. */
  coolDownMs: Schema.optionalKey(NonNegativeInt),
  /**
   * Whether the endpoint returns logprobs (the plan's call count, the judge's strategy); unset: the preset says,
   * else the endpoint is asked once (`Backends.logprobsOf`).
   */
  logprobs: Schema.optionalKey(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export type LlmBackend = typeof LlmBackend.Type

/**
 * The model name of an LLM backend: `model`, else a GGUF's file name.
 *
 * @since 0.1.0
 * @category accessors
 */
export const llmModel = (llm: LlmBackend): string =>
  llm.model ?? (llm.gguf !== undefined ? llm.gguf.replace(/^.*[\\/]/, "") : "")

/**
 * A served fine-tuned model: an OpenAI-compatible endpoint (vLLM, SGLang, `transformers serve`, llama.cpp
 * server…) and the model id to ask for. Without `model` the endpoint's `/models` list must name exactly one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Endpoint = Schema.Struct({
  baseUrl: Schema.String,
  model: Schema.optionalKey(Schema.String),
  /** Name of the environment variable holding the endpoint's API key. */
  apiKeyEnv: Schema.optionalKey(Schema.String),
  maxInFlight: Schema.optionalKey(PositiveInt),
  /** Score model only: sampled answers per pair when the server returns no logprobs (default 5). */
  samples: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(2))),
  /** Query model only: sampling temperature (default 1). */
  temperature: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 2 })))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Endpoint = typeof Endpoint.Type

/**
 * `backends.external`: models fine-tuned outside ssra (GPU SFT with the kits `ssra run` writes when it hands
 * off) and served behind OpenAI-compatible endpoints. A `fine-tuned` stage whose endpoint is absent stops the run
 * with the SFT kit and the commands to train and serve it; the rerun with the endpoint goes on from there.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExternalSection = Schema.Struct({
  /** The base model the SFT kits fine-tune (a Hugging Face id or a local directory). */
  baseModel: Schema.optionalKey(Schema.NonEmptyString),
  scoreModel: Schema.optionalKey(Endpoint),
  vanilla: Schema.optionalKey(Endpoint),
  queryModelV1: Schema.optionalKey(Endpoint),
  queryModelV2: Schema.optionalKey(Endpoint)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ExternalSection = typeof ExternalSection.Type

/**
 * Every field of a run's configuration.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Config = Schema.Struct({
  runDir: Schema.String,
  seed: NonNegativeInt,
  data: Schema.Struct({
    dir: Schema.optionalKey(Schema.String),
    labeled: Schema.optionalKey(Schema.String),
    unlabeled: Schema.optionalKey(Schema.String),
    documents: Schema.optionalKey(Schema.String),
    retrievalTest: Schema.optionalKey(Schema.String),
    pairTest: Schema.optionalKey(Schema.String),
    scale: Schema.optionalKey(Schema.Literals([1, 2, 3])),
    skipInvalid: Schema.Boolean,
    /** Read input files that start with a UTF-8 byte-order mark (an error by default). */
    allowBom: Schema.optionalKey(Schema.Boolean),
    sample: Schema.optionalKey(
      Schema.Struct({
        labeledQueries: Schema.optionalKey(PositiveInt),
        unlabeledRows: Schema.optionalKey(PositiveInt),
        retrievalQueries: Schema.optionalKey(PositiveInt),
        pairRows: Schema.optionalKey(PositiveInt)
      })
    ),
    /**
     * Hold out a seeded share of the labeled queries as the test set (see `Inputs.splitTest`). Wins over test
     * files found in `dir`; naming `retrievalTest`/`pairTest` explicitly as well is a config error.
     */
    split: Schema.optionalKey(
      Schema.Struct({
        /** Share of labeled queries held out, 0 < f < 1. */
        testFraction: OpenShare,
        /** Default: the run's seed. */
        seed: Schema.optionalKey(NonNegativeInt),
        /** Judged candidates a held-out query needs to join the retrieval test (default evaluation.minCandidates). */
        minCandidates: Schema.optionalKey(PositiveInt),
        /** Pair test = held-out rows not in the retrieval test (`rest`, default) or every held-out row (`all`). */
        pairs: Schema.optionalKey(Schema.Literals(["rest", "all"]))
      })
    )
  }),
  backends: Schema.Struct({
    /** `fine-tuned`: an LLM fine-tuned on the labeled pairs outside ssra, served at `external.scoreModel`. */
    scoreModel: Schema.Literals(["embedded", "llm", "fine-tuned"]),
    /** `fine-tuned`: LLM query models (vanilla, v1, v2) fine-tuned outside ssra, served at `external.*`. */
    queryModel: Schema.Literals(["embedded", "llm", "fine-tuned"]),
    embedding: Schema.Literals(["embedded", "remote"]),
    llm: Schema.optionalKey(LlmBackend),
    external: Schema.optionalKey(ExternalSection)
  }),
  documents: Schema.Struct({
    /**
     * `llm`: the paper's step for short-video documents — the LLM (`backends.llm`) rewrites each document's OCR +
     * ASR into one description and the title is appended (`DocumentRewrite`); `none`: title + OCR + ASR as the
     * template renders them. Needs a documents file with `ocr`/`asr` fields.
     */
    rewrite: Schema.Literals(["none", "llm"])
  }),
  scoreModel: Schema.Struct({
    /** Share of labeled queries held out to evaluate the score model. */
    devFraction: Share
  }),
  queryModel: Schema.Struct({
    /** Documents the embedded query model's selector trains on (seeded sample). */
    maxTrainingDocs: PositiveInt,
    /** Pool candidates per training document. */
    candidatesPerDoc: PositiveInt
  }),
  stage1: Schema.Struct({ enabled: Schema.Boolean }),
  stage2: Schema.Struct({
    enabled: Schema.Boolean,
    /** Unlabeled documents the query model v1 writes for. */
    documents: PositiveInt,
    grades: Schema.Array(GradeValue),
    perGrade: PositiveInt,
    minProbability: Share,
    /**
     * Who judges the pairwise order: the score model's expected grade (embedded) or the LLM (the paper):
     * `backends.llm`, else a served fine-tuned score model (`backends.external.scoreModel`).
     */
    judge: Schema.Literals(["score-model", "llm"])
  }),
  synthesis: Schema.Struct({
    /** Documents to synthesize queries for. */
    documents: NonNegativeInt,
    /** Target share of each grade among the synthetic queries (the grade plan). */
    gradePlan: Schema.Record(Schema.String, Share),
    perDocument: PositiveInt,
    minProbability: Share,
    /** Run even when no training document is eligible for synthesis (all are test documents): SSRA = base. */
    allowEmpty: Schema.optionalKey(Schema.Boolean)
  }),
  training: Schema.Struct({
    dimensions: PositiveInt,
    /** Hash buckets of the embedded dual encoder's feature table (memory: buckets × dimensions × 4 bytes). */
    buckets: PositiveInt,
    /** The trainer's own field schemas (`@ssra/embedding`'s `TrainingArgs`): a positive integer. */
    epochs: TrainingArgs.TrainingArgs.fields.epochs,
    /** An integer ≥ 2 (in-batch negatives need another row); capped at the training set's size. */
    batchSize: TrainingArgs.TrainingArgs.fields.batchSize,
    /** Adagrad learning rate, a number > 0 (absent: the trainer's default). */
    learningRate: Schema.optionalKey(TrainingArgs.TrainingArgs.fields.learningRate),
    weightScheme: Schema.Literals(["raw", "normalized", "negatives-kept"]),
    hardNegatives: NonNegativeInt,
    maxRows: Schema.optionalKey(PositiveInt),
    /** The fixed lexical channel (`LexicalSection`, on by default); null or absent: none (the learned embedding alone). */
    lexical: Schema.optionalKey(Schema.NullOr(LexicalSection))
  }),
  evaluation: Schema.Struct({
    /** `false`: run without any test set (no evaluation; every table n/a). Default: a test set is required. */
    required: Schema.optionalKey(Schema.Boolean),
    minCandidates: PositiveInt,
    pairDimensions: Schema.optionalKey(PositiveInt),
    balancedPerGrade: Schema.optionalKey(PositiveInt),
    bootstrapSamples: PositiveInt
  }),
  generation: Schema.Struct({ chunkSize: PositiveInt })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Config = typeof Config.Type

/**
 * The defaults: embedded backends everywhere, the paper's stages on, sizes that fit a 2-core machine.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Config = {
  runDir: "runs/default",
  seed: 42,
  data: { skipInvalid: false },
  backends: { scoreModel: "embedded", queryModel: "embedded", embedding: "embedded" },
  documents: { rewrite: "none" },
  scoreModel: { devFraction: 0.1 },
  queryModel: { maxTrainingDocs: 2000, candidatesPerDoc: 24 },
  stage1: { enabled: true },
  stage2: { enabled: true, documents: 400, grades: [1, 2, 3], perGrade: 1, minProbability: 0, judge: "score-model" },
  synthesis: { documents: 1000, gradePlan: { "1": 0.34, "2": 0.33, "3": 0.33 }, perDocument: 1, minProbability: 0 },
  training: {
    dimensions: 64,
    buckets: 1 << 18,
    epochs: 2,
    batchSize: 64,
    weightScheme: "raw",
    hardNegatives: 0,
    lexical: { ...lexicalDefaults }
  },
  evaluation: { minCandidates: 10, bootstrapSamples: 1000 },
  generation: { chunkSize: 50 }
}

type DeepPartial<T> =
  T extends ReadonlyArray<any> ? T : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> | undefined } : T

/**
 * A config with any subset of fields (what a config file or a set of flags holds).
 *
 * @since 0.1.0
 * @category models
 */
export type Partial = DeepPartial<Config>

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * Deep merge: later layers win; `undefined` leaves the earlier value.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (base: unknown, ...layers: ReadonlyArray<unknown>): unknown => {
  let out = base
  for (const layer of layers) {
    if (layer === undefined) continue
    if (isPlainObject(layer)) {
      const from: Record<string, unknown> = isPlainObject(out) ? out : {}
      const next: Record<string, unknown> = { ...from }
      for (const [k, v] of Object.entries(layer)) if (v !== undefined) next[k] = merge(from[k], v)
      out = next
    } else out = layer
  }
  return out
}

/**
 * The schema of a config file: the same fields, every one optional; unknown keys are errors (a typo must not
 * silently fall back to a default).
 *
 * @since 0.1.0
 * @category schemas
 */
export const decodeResolved = Schema.decodeUnknownEffect(Config, { errors: "all", onExcessProperty: "error" })

/**
 * The demo's configuration: a seeded sample of a bundled set, sized so the whole loop and every baseline finish
 * in a few minutes on 2 cores (`ssra demo`, the pipeline benchmark).
 *
 * @since 0.1.0
 * @category constants
 */
export const demo = (dataDir: string, runDir: string): Partial => ({
  runDir,
  seed: 42,
  data: { dir: dataDir, skipInvalid: true, sample: { labeledQueries: 4000, unlabeledRows: 4000, pairRows: 1200 } },
  queryModel: { maxTrainingDocs: 1000, candidatesPerDoc: 16 },
  stage2: { documents: 600 },
  synthesis: { documents: 2000 },
  training: { dimensions: 64, buckets: 1 << 16, epochs: 2, batchSize: 64 },
  evaluation: { bootstrapSamples: 1000 },
  generation: { chunkSize: 50 }
})
