/**
 * The embedded dual encoder: hashed features (see `Featurizer`) looked up in Float32 embedding tables, pooled
 * (mean or sqrt-n), L2-normalized. Towers are shared or separate for queries and documents; dimensions nest
 * (Matryoshka), so any prefix such as 64 of 128 is re-normalized and usable alone. Checkpoints are a directory
 * with `model.safetensors` and `config.json`, written atomically; loading gives bit-identical embeddings.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Hash, Models, Sampling } from "@ssra/core"
import { Idf } from "@ssra/text"
import { Cause, Effect, Exit, Schema } from "effect"
import { AiError, EmbeddingModel } from "effect/ai"
import { CheckpointError } from "./CheckpointError.js"
import { EmbeddingOptionError } from "./EmbeddingOptionError.js"
import * as Featurizer from "./Featurizer.js"
import * as Lexical from "./Lexical.js"
import * as Safetensors from "./Safetensors.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DualEncoderConfig {
  readonly featurizer: Featurizer.FeaturizerConfig
  /** Full embedding width. */
  readonly dimensions: number
  /** Nested prefix sizes trained to work alone, ascending, the last equal to `dimensions`. */
  readonly matryoshkaDimensions: ReadonlyArray<number>
  readonly towers: "shared" | "separate"
  readonly pooling: "mean" | "sqrt"
  /**
   * `idf`: each feature's row is scaled by a fixed weight (BM25-style IDF fitted on a corpus with
   * `fitFeatureWeights`) before pooling, so rare, informative n-grams count more than common ones.
   */
  readonly featureWeighting: "none" | "idf"
  /** Standard deviation of the initial weights. */
  readonly initScale: number
  readonly seed: number
  /**
   * A fixed lexical channel (BM25 over hashed char n-grams, see `Lexical`) appended after the learned
   * dimensions, so `cos = α·lexical + (1 − α)·learned`; null/absent: none (the learned part alone).
   */
  readonly lexical?: Lexical.LexicalConfig | null | undefined
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const DualEncoderConfig = Schema.Struct({
  featurizer: Featurizer.FeaturizerConfig,
  dimensions: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 })),
  matryoshkaDimensions: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 }))),
  towers: Schema.Literals(["shared", "separate"]),
  pooling: Schema.Literals(["mean", "sqrt"]),
  featureWeighting: Schema.Literals(["none", "idf"]),
  initScale: Schema.Number.check(Schema.isGreaterThan(0)),
  seed: Schema.Int,
  lexical: Schema.optional(Schema.NullOr(Lexical.LexicalConfig))
})

/**
 * The checkpoint format version this code writes for a model with a lexical channel; a model without one is
 * written as version 1 (unchanged from before the channel existed). `load` reads both.
 *
 * @since 0.1.0
 * @category constants
 */
export const formatVersion = 2

const readableVersions: ReadonlyArray<number> = [1, 2]

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultConfig: DualEncoderConfig = {
  featurizer: Featurizer.defaultConfig,
  dimensions: 128,
  matryoshkaDimensions: [32, 64, 128],
  towers: "shared",
  pooling: "mean",
  featureWeighting: "none",
  initScale: 0.1,
  seed: 42
}

/**
 * A dual encoder: a core `TextEmbedder` whose weights the trainer updates in place.
 *
 * @since 0.1.0
 * @category models
 */
export interface DualEncoderModel extends Models.TextEmbedder {
  readonly config: DualEncoderConfig
  readonly featurizer: Featurizer.Featurizer
  /** buckets × dimensions, row-major. */
  readonly queryTable: Float32Array
  /** The same array as `queryTable` when towers are shared. */
  readonly documentTable: Float32Array
  /** Per-bucket pooling weights (`featureWeighting: "idf"`), else null. */
  readonly featureWeights: Float32Array | null
  /** The fixed lexical channel (`config.lexical`), fitted with `fitLexical`; null without one. */
  readonly lexical: Lexical.LexicalChannel | null
  /** log of the softmax temperature (learned or fixed in training; kept so a resumed run continues it). */
  logTemperature: number
  /** What produced the weights (training args, data manifest hashes); written to `config.json`. */
  provenance: Readonly<Record<string, unknown>>
}

const validConfig = Schema.decodeUnknownExit(DualEncoderConfig, { errors: "all" })

const checkConfig = (config: DualEncoderConfig): void => {
  // the schema first: an unknown pooling or tower layout, a NaN init scale must not build a model
  const checked = validConfig(config)
  if (Exit.isFailure(checked))
    throw new EmbeddingOptionError({
      option: "config",
      detail: `invalid DualEncoder config: ${Cause.squash(checked.cause)}`
    })
  const m = config.matryoshkaDimensions
  if (m.length === 0 || m[m.length - 1] !== config.dimensions || m.some((d, i) => d < 1 || (i > 0 && d <= m[i - 1]!))) {
    throw new EmbeddingOptionError({
      option: "matryoshkaDimensions",
      detail: `matryoshkaDimensions must ascend and end at dimensions (${config.dimensions}), got [${m}]`
    })
  }
}

const build = (
  config: DualEncoderConfig,
  queryTable: Float32Array,
  documentTable: Float32Array,
  featureWeights: Float32Array | null,
  logTemperature: number,
  provenance: Readonly<Record<string, unknown>>,
  lexicalStats?: Lexical.LexicalStats
): DualEncoderModel => {
  const featurizer = Featurizer.make(config.featurizer)
  const lexical = config.lexical ? Lexical.make(config.lexical, lexicalStats) : null
  const model: DualEncoderModel = {
    id:
      `ssra-dual-encoder/${config.towers}-${config.dimensions}d-${config.featurizer.buckets}b` +
      (config.lexical ? `+lexical-${config.lexical.dimensions}d-a${config.lexical.weight}` : ""),
    dimensions: outputDimensions(config),
    lexical,
    config,
    featurizer,
    queryTable,
    documentTable,
    featureWeights,
    logTemperature,
    provenance,
    embed: (texts, options) =>
      Effect.try({
        try: () => encodeTexts(model, texts, options.kind, options.dimensions ?? model.dimensions),
        catch: (cause) =>
          new Models.ModelError({
            backend: model.id,
            reason: "invalid-input",
            message: (cause as Error)?.message ?? String(cause),
            cause
          })
      })
  }
  return model
}

/**
 * The width of a full embedding: the learned `dimensions`, plus with a lexical channel its hashed dimensions and
 * one padding slot (which tops document vectors up to unit norm so the cosine keeps BM25's length handling).
 *
 * @since 0.1.0
 * @category encoding
 */
export const outputDimensions = (config: DualEncoderConfig): number =>
  config.dimensions + (config.lexical ? config.lexical.dimensions + 1 : 0)

/**
 * A fresh model with seeded random weights (normal, `initScale`). Separate towers start equal, so an untrained
 * model is symmetric.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Partial<DualEncoderConfig> = {}, seed?: number): DualEncoderModel => {
  const dimensions = config.dimensions ?? defaultConfig.dimensions
  const full: DualEncoderConfig = {
    ...defaultConfig,
    ...config,
    // a width without explicit nesting nests at the powers of two from 32 below it
    matryoshkaDimensions:
      config.matryoshkaDimensions ?? [32, 64, 128, 256, 512, 1024].filter((d) => d < dimensions).concat([dimensions]),
    featurizer: { ...defaultConfig.featurizer, ...config.featurizer },
    ...(seed === undefined ? {} : { seed })
  }
  checkConfig(full)
  const size = full.featurizer.buckets * full.dimensions
  const table = new Float32Array(size)
  const rng = new Sampling.SeededRandom(full.seed)
  for (let i = 0; i < size; i++) table[i] = rng.normal() * full.initScale
  const weights = full.featureWeighting === "idf" ? new Float32Array(full.featurizer.buckets).fill(1) : null
  return build(full, table, full.towers === "shared" ? table : table.slice(), weights, Math.log(0.05), {})
}

/**
 * Sums the rows of `ids` from `table` (each times its feature weight when given) into `out[offset..offset+dim)`
 * and scales by the pooling factor.
 *
 * @since 0.1.0
 * @category encoding
 */
export const poolInto = (
  table: Float32Array,
  dim: number,
  ids: Int32Array,
  pooling: "mean" | "sqrt",
  out: Float32Array,
  offset: number,
  weights: Float32Array | null = null
): void => {
  for (let j = 0; j < dim; j++) out[offset + j] = 0
  for (let k = 0; k < ids.length; k++) {
    const row = ids[k]! * dim
    if (weights === null) for (let j = 0; j < dim; j++) out[offset + j] += table[row + j]!
    else {
      const w = weights[ids[k]!]!
      for (let j = 0; j < dim; j++) out[offset + j] += w * table[row + j]!
    }
  }
  const scale = poolingScale(ids.length, pooling)
  for (let j = 0; j < dim; j++) out[offset + j] *= scale
}

/**
 * The factor applied to the summed rows: 1/n (mean) or 1/√n.
 *
 * @since 0.1.0
 * @category encoding
 */
export const poolingScale = (n: number, pooling: "mean" | "sqrt"): number =>
  pooling === "mean" ? 1 / n : 1 / Math.sqrt(n)

/**
 * Plain (throwing) batch encoding for hot loops: featurize, pool, keep the first `dimensions` values and
 * L2-normalize them. Throws `FeaturizeError` for an empty text and `EmbeddingOptionError` for a bad `dimensions`.
 *
 * With a lexical channel, `dimensions` is either a learned prefix (≤ `config.dimensions`, the Matryoshka
 * nesting; learned part only) or the full `model.dimensions`: `[√(1−α)·learned (unit), √α·lexical, pad]`, where a
 * query's lexical part is a unit IDF vector with pad 0 and a document's is its BM25 weights (norm ≤ 1) with the
 * pad making the whole vector unit-norm, so `q·d = (1−α)·cos_learned + α·BM25(q, d)/(‖idf_q‖·cap)`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeTexts = (
  model: DualEncoderModel,
  texts: ReadonlyArray<string>,
  kind: Models.TextKind,
  dimensions: number = model.dimensions
): Array<Float32Array> => {
  const dim = model.config.dimensions
  if (model.lexical !== null && dimensions === model.dimensions)
    return encodeWithLexical(model, model.lexical, texts, kind)
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > dim) {
    throw new EmbeddingOptionError({
      option: "dimensions",
      detail: `dimensions must be an integer in 1..${dim}${model.lexical !== null ? ` (a learned prefix) or ${model.dimensions} (learned + lexical)` : ""}, got ${dimensions}`
    })
  }
  const table = kind === "query" ? model.queryTable : model.documentTable
  const pooled = new Float32Array(dim)
  const out: Array<Float32Array> = []
  for (const text of texts) {
    poolInto(table, dim, model.featurizer.featurize(text), model.config.pooling, pooled, 0, model.featureWeights)
    const v = pooled.slice(0, dimensions)
    let norm = 0
    for (let j = 0; j < dimensions; j++) norm += v[j]! * v[j]!
    norm = Math.sqrt(norm)
    if (norm > 0) for (let j = 0; j < dimensions; j++) v[j]! /= norm
    out.push(v)
  }
  return out
}

const encodeWithLexical = (
  model: DualEncoderModel,
  lexical: Lexical.LexicalChannel,
  texts: ReadonlyArray<string>,
  kind: Models.TextKind
): Array<Float32Array> => {
  const D = model.config.dimensions
  const L = lexical.config.dimensions
  const alpha = lexical.config.weight
  const learned = encodeTexts(model, texts, kind, D)
  const a = Math.sqrt(alpha)
  const c = Math.sqrt(1 - alpha)
  return texts.map((text, t) => {
    const out = new Float32Array(D + L + 1)
    const e = learned[t]!
    for (let j = 0; j < D; j++) out[j] = c * e[j]!
    const { vector, squaredNorm } = Lexical.encode(lexical, text, kind)
    for (let j = 0; j < L; j++) out[D + j] = a * vector[j]!
    // documents: top up to unit norm (the query's pad is 0, so the pad never enters q·d)
    out[D + L] = kind === "document" ? Math.sqrt(Math.max(0, alpha * (1 - squaredNorm))) : 0
    return out
  })
}

/**
 * Fits the lexical channel's IDF, average length and norm cap on a document corpus (in place).
 *
 * @since 0.1.0
 * @category training
 */
export const fitLexical = (model: DualEncoderModel, corpus: ReadonlyArray<string>): void => {
  if (model.lexical === null)
    throw new EmbeddingOptionError({ option: "lexical", detail: "fitLexical needs a model made with a lexical config" })
  Lexical.fit(model.lexical, corpus)
}

/**
 * The same model (sharing its tables and lexical statistics) with another lexical weight α, e.g. to pick α on
 * held-out data after training.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withLexicalWeight = (model: DualEncoderModel, weight: number): DualEncoderModel => {
  if (model.config.lexical == null || model.lexical === null)
    throw new EmbeddingOptionError({
      option: "lexical",
      detail: "withLexicalWeight needs a model with a lexical channel"
    })
  return build(
    { ...model.config, lexical: { ...model.config.lexical, weight } },
    model.queryTable,
    model.documentTable,
    model.featureWeights,
    model.logTemperature,
    model.provenance,
    model.lexical.stats
  )
}

/**
 * A deep copy (weights, temperature and provenance).
 *
 * @since 0.1.0
 * @category constructors
 */
export const clone = (model: DualEncoderModel): DualEncoderModel => {
  const q = model.queryTable.slice()
  return build(
    model.config,
    q,
    model.config.towers === "shared" ? q : model.documentTable.slice(),
    model.featureWeights?.slice() ?? null,
    model.logTemperature,
    model.provenance,
    model.lexical === null ? undefined : { ...model.lexical.stats, idf: model.lexical.stats.idf.slice() }
  )
}

/**
 * Fits the `idf` feature weights on a corpus (in place): `w_f = Idf.bm25(N, df_f) = ln(1 + (N − df_f + 0.5) /
 * (df_f + 0.5))`, the BM25 IDF of bucket f over the N texts; buckets never seen get the IDF of df = 0.
 *
 * @since 0.1.0
 * @category training
 */
export const fitFeatureWeights = (model: DualEncoderModel, corpus: ReadonlyArray<string>): void => {
  const weights = model.featureWeights
  if (weights === null)
    throw new EmbeddingOptionError({
      option: "featureWeighting",
      detail: 'fitFeatureWeights needs a model made with featureWeighting: "idf"'
    })
  const df = new Int32Array(weights.length)
  const seen = new Int32Array(weights.length).fill(-1)
  corpus.forEach((text, t) => {
    for (const id of model.featurizer.featurize(text)) {
      if (seen[id] !== t) {
        seen[id] = t
        df[id]!++
      }
    }
  })
  const N = corpus.length
  for (let f = 0; f < weights.length; f++) weights[f] = Idf.bm25(N, df[f]!)
}

/**
 * The `config.json` of a checkpoint.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CheckpointConfig = Schema.Struct({
  format: Schema.Literal("ssra-dual-encoder"),
  formatVersion: Schema.Int,
  id: Schema.String,
  model: DualEncoderConfig,
  temperature: Schema.Number,
  weights: Schema.Struct({ file: Schema.String, sha256: Schema.String }),
  provenance: Schema.Record(Schema.String, Schema.Unknown),
  /** The lexical channel's fitted scalars (its IDF is the `lexical.idf` tensor); version 2 only. */
  lexical: Schema.optional(Schema.Struct({ averageLength: Schema.Number, normCap: Schema.Number }))
})

const WEIGHTS = "model.safetensors"
const CONFIG = "config.json"

/**
 * Writes `model.safetensors` + `config.json` into an existing directory (no swap; `save` wraps it).
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeFilesSync = (model: DualEncoderModel, dir: string): void => {
  const { config } = model
  const shape = [config.featurizer.buckets, config.dimensions]
  const tensors: Record<string, Safetensors.Tensor> = {
    "query.embedding": { shape, data: model.queryTable },
    temperature: { shape: [1], data: Float32Array.of(Math.exp(model.logTemperature)) }
  }
  if (config.towers === "separate") tensors["document.embedding"] = { shape, data: model.documentTable }
  if (model.featureWeights !== null)
    tensors["feature.weight"] = { shape: [config.featurizer.buckets], data: model.featureWeights }
  const lexical = model.lexical
  if (lexical !== null) {
    tensors["lexical.idf"] = { shape: [lexical.config.featurizer.buckets], data: lexical.stats.idf }
    if (!Number.isFinite(lexical.stats.averageLength) || !Number.isFinite(lexical.stats.normCap)) {
      throw new CheckpointError({
        path: dir,
        reason: "non-finite",
        detail: "the lexical channel's average length or norm cap is not finite"
      })
    }
  }
  const version = lexical === null ? 1 : formatVersion
  if (!Number.isFinite(model.logTemperature)) {
    throw new CheckpointError({
      path: dir,
      reason: "non-finite",
      detail: `temperature is ${Math.exp(model.logTemperature)}`
    })
  }
  const chunks = Safetensors.encode(
    { tensors, metadata: { format: "ssra-dual-encoder", formatVersion: String(version), towers: config.towers } },
    path.join(dir, WEIGHTS)
  )
  const writer = AtomicFile.openSync(path.join(dir, WEIGHTS))
  const hash = Hash.sha256
  let digest: string
  try {
    for (const c of chunks) writer.write(c)
    writer.commit()
    digest = hash(fs.readFileSync(path.join(dir, WEIGHTS)))
  } catch (error) {
    writer.abort()
    throw error
  }
  const json: typeof CheckpointConfig.Type = {
    format: "ssra-dual-encoder",
    formatVersion: version,
    id: model.id,
    model: config,
    temperature: model.logTemperature,
    weights: { file: WEIGHTS, sha256: digest },
    provenance: model.provenance,
    ...(lexical === null
      ? {}
      : { lexical: { averageLength: lexical.stats.averageLength, normCap: lexical.stats.normCap } })
  }
  AtomicFile.writeFileSync(path.join(dir, CONFIG), JSON.stringify(json, null, 2) + "\n")
}

const toCheckpointError = (dir: string) => (cause: unknown) =>
  cause instanceof CheckpointError
    ? cause
    : // a config the model refuses (bad Matryoshka widths, unknown pooling): the checkpoint, not the disk; the
      // featurizer and the lexical channel throw the same for theirs
      cause instanceof EmbeddingOptionError
      ? new CheckpointError({
          path: dir,
          reason: "invalid",
          detail: cause.message,
          hint: "the checkpoint's config.json does not describe a valid model: was it edited, or written by other code?"
        })
      : new CheckpointError({
          path: dir,
          reason: "io",
          detail: String((cause as Error)?.message ?? cause),
          hint: "check the directory is writable and the disk has space"
        })

/**
 * Saves a checkpoint directory (`model.safetensors` + `config.json`), replacing any previous one atomically.
 * Fails without writing when a weight is NaN or infinite.
 *
 * @since 0.1.0
 * @category encoding
 */
export const save = (model: DualEncoderModel, dir: string): Effect.Effect<void, CheckpointError> =>
  Effect.try({
    try: () => AtomicFile.writeDirectorySync(dir, (temp) => writeFilesSync(model, temp)),
    catch: toCheckpointError(dir)
  })

/**
 * Plain (throwing) `load`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const loadSync = (dir: string): DualEncoderModel => {
  // a save killed between its two renames left the new copy beside `dir`: put it in place before reading
  AtomicFile.recoverDirectorySync(dir)
  const configFile = path.join(dir, CONFIG)
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(configFile, "utf8"))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new CheckpointError({
      path: configFile,
      reason: code === "ENOENT" ? "not-found" : "corrupt",
      detail: String((error as Error).message),
      hint: "a checkpoint directory holds model.safetensors and config.json written by DualEncoder.save"
    })
  }
  const version = (raw as { formatVersion?: unknown })?.formatVersion
  const format = (raw as { format?: unknown })?.format
  if (format !== "ssra-dual-encoder") {
    throw new CheckpointError({
      path: configFile,
      reason: "invalid",
      detail: `format is ${JSON.stringify(format)}, expected "ssra-dual-encoder"`
    })
  }
  if (typeof version !== "number" || !readableVersions.includes(version)) {
    throw new CheckpointError({
      path: configFile,
      reason: "version",
      detail: `checkpoint format version ${JSON.stringify(version)} is not supported; this build reads versions ${readableVersions.join(" and ")}`,
      hint: "retrain, or load it with the ssra version that wrote it"
    })
  }
  let json: typeof CheckpointConfig.Type
  try {
    json = Schema.decodeUnknownSync(CheckpointConfig)(raw)
  } catch (error) {
    throw new CheckpointError({
      path: configFile,
      reason: "invalid",
      detail: `config.json does not match the checkpoint schema: ${(error as Error).message}`
    })
  }
  checkConfig(json.model)
  // the weights live inside the checkpoint directory: a name with a path in it is refused, never followed
  if (path.basename(json.weights.file) !== json.weights.file || json.weights.file.startsWith(".")) {
    throw new CheckpointError({
      path: configFile,
      reason: "invalid",
      detail: `weights.file ${JSON.stringify(json.weights.file)} is not a file name inside the checkpoint directory`,
      hint: "a checkpoint written by DualEncoder.save names model.safetensors"
    })
  }
  const weightsFile = path.join(dir, json.weights.file)
  const bytes = (() => {
    try {
      return fs.readFileSync(weightsFile)
    } catch (error) {
      throw new CheckpointError({ path: weightsFile, reason: "not-found", detail: String((error as Error).message) })
    }
  })()
  const digest = Hash.sha256(bytes)
  if (digest !== json.weights.sha256) {
    throw new CheckpointError({
      path: weightsFile,
      reason: "mismatch",
      detail: `sha256 ${digest} differs from config.json's ${json.weights.sha256}`,
      hint: "the weights and config come from different saves"
    })
  }
  const file = Safetensors.decode(bytes, weightsFile)
  const expected = json.model.featurizer.buckets * json.model.dimensions
  const table = (name: string) => {
    const t = file.tensors[name]
    if (t === undefined || t.data.length !== expected) {
      throw new CheckpointError({
        path: weightsFile,
        reason: "corrupt",
        detail: `tensor ${name} missing or not ${json.model.featurizer.buckets}×${json.model.dimensions}`
      })
    }
    return t.data
  }
  const q = table("query.embedding")
  const d = json.model.towers === "separate" ? table("document.embedding") : q
  let weights: Float32Array | null = null
  if (json.model.featureWeighting === "idf") {
    weights = file.tensors["feature.weight"]?.data ?? null
    if (weights === null || weights.length !== json.model.featurizer.buckets) {
      throw new CheckpointError({
        path: weightsFile,
        reason: "corrupt",
        detail: `tensor feature.weight missing or not ${json.model.featurizer.buckets} long`
      })
    }
  }
  let lexicalStats: Lexical.LexicalStats | undefined
  if (json.model.lexical) {
    const idf = file.tensors["lexical.idf"]?.data
    if (
      version < 2 ||
      json.lexical === undefined ||
      idf === undefined ||
      idf.length !== json.model.lexical.featurizer.buckets
    ) {
      throw new CheckpointError({
        path: weightsFile,
        reason: "corrupt",
        detail: "a lexical channel needs format version 2, config.json's lexical stats and the lexical.idf tensor"
      })
    }
    lexicalStats = { idf, averageLength: json.lexical.averageLength, normCap: json.lexical.normCap }
  }
  return build(json.model, q, d, weights, json.temperature, json.provenance, lexicalStats)
}

/**
 * Loads a checkpoint directory; a checkpoint of another format version, a corrupt file or weights that do not
 * match the config fail with a `CheckpointError` that says so.
 *
 * @since 0.1.0
 * @category decoding
 */
export const load = (dir: string): Effect.Effect<DualEncoderModel, CheckpointError> =>
  Effect.try({ try: () => loadSync(dir), catch: toCheckpointError(dir) })

/**
 * The model as an `effect/ai` `EmbeddingModel` for one side (queries or documents) and width, so code written
 * against `EmbeddingModel` (batched `embed`, `embedMany`) can use it; an empty text fails with `AiError`
 * (`InvalidRequestError`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const embeddingModel = (
  model: DualEncoderModel,
  options: { readonly kind: Models.TextKind; readonly dimensions?: number | undefined }
): Effect.Effect<EmbeddingModel.EmbeddingModel> =>
  EmbeddingModel.make({
    embedMany: ({ inputs }) =>
      Effect.try({
        try: () => ({
          results: encodeTexts(model, inputs, options.kind, options.dimensions ?? model.dimensions).map((v) =>
            Array.from(v)
          ),
          usage: { inputTokens: undefined }
        }),
        catch: (cause) =>
          new AiError.AiError({
            module: "DualEncoder",
            method: "embedMany",
            reason: new AiError.InvalidRequestError({ description: (cause as Error)?.message ?? String(cause) })
          })
      })
  })
