/**
 * Hand-off to GPU trainers: the training set with weights and negatives as sentence-transformers rows
 * (`anchor`, `positive`, `negative_1..k`, `score`) and FlagEmbedding rows (`query`, `pos`, `neg`, `pos_scores`,
 * `neg_scores`), each validated against its Schema while written; and a launch kit for a torchrun trainer of a
 * Qwen3-Embedding model with LoRA that applies the per-row weights (config, command line, script).
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { AtomicFile, type DatasetError, Jsonl, Sampling, type TrainingRow } from "@ssra/core"
import { Effect, Schema } from "effect"
import { launchReadme, launchScript, trainScript } from "./internal/launchKit.js"
import { TrainingError } from "./TrainingError.js"

const Text = Schema.String.check(Schema.isPattern(/\S/, { message: "Expected a non-empty text" }))
const Weight = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0), Schema.isFinite())

/**
 * A sentence-transformers row with exactly `k` negatives: `anchor`, `positive`, `negative_1` … `negative_k`,
 * and `score`, the row's loss weight `w(s)` (sentence-transformers treats a `score` column as the label; losses
 * that take no label ignore it, the launch kit's script multiplies it into the loss).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SentenceTransformersRow = (k: number) => {
  const fields: Record<string, typeof Text | typeof Weight> = { anchor: Text, positive: Text }
  for (let i = 1; i <= k; i++) fields[`negative_${i}`] = Text
  fields.score = Weight
  return Schema.Struct(
    fields as unknown as { anchor: typeof Text; positive: typeof Text; score: typeof Weight } & Record<
      `negative_${number}`,
      typeof Text
    >
  )
}

/**
 * A FlagEmbedding fine-tuning row (its documented `{"query", "pos", "neg", "pos_scores", "neg_scores",
 * "prompt", "type"}`): one line per training row; `pos_scores` holds the row's weight, `neg_scores` zeros (they
 * are read only for distillation). FlagEmbedding samples `train_group_size − 1` negatives from `neg`, so `neg`
 * is never empty.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagEmbeddingRow = Schema.Struct({
  query: Text,
  pos: Schema.Array(Text).check(Schema.isMinLength(1)),
  neg: Schema.Array(Text).check(Schema.isMinLength(1)),
  pos_scores: Schema.Array(Weight),
  neg_scores: Schema.Array(Schema.Number.check(Schema.isFinite())),
  prompt: Schema.optionalKey(Schema.String),
  type: Schema.optionalKey(Schema.String)
}).check(
  Schema.makeFilter((row) =>
    row.pos_scores.length !== row.pos.length
      ? "pos_scores must have one score per pos"
      : row.neg_scores.length !== row.neg.length
        ? "neg_scores must have one score per neg"
        : undefined
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type FlagEmbeddingRow = typeof FlagEmbeddingRow.Type

/**
 * What to do with a row that has fewer negatives than asked for: fill from the other rows' documents (seeded
 * random draws that are not known positives of the query — FlagEmbedding's own advice), or skip the row.
 *
 * @since 0.1.0
 * @category models
 */
export interface NegativeOptions {
  readonly negatives?: number | undefined
  readonly fill?: "sample" | "skip" | undefined
  readonly seed?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ExportSummary {
  readonly file: string
  readonly rows: number
  readonly skipped: number
  readonly filled: number
  readonly sha256: string
}

/** Rows with weight > 0 and exactly `k` negatives (filled or skipped). */
const withNegatives = (rows: ReadonlyArray<TrainingRow.TrainingRow>, options: NegativeOptions, defaultK: number) => {
  const k = options.negatives ?? defaultK
  if (!Number.isInteger(k) || k < 1)
    throw new TrainingError({ reason: "invalid-args", detail: `negatives must be a positive integer, got ${k}` })
  const fill = options.fill ?? "sample"
  const rng = new Sampling.SeededRandom(options.seed ?? 1)
  const pool = [...new Set(rows.map((r) => r.positive))]
  const known = new Map<string, Set<string>>()
  for (const r of rows) {
    if (r.grade < 1) continue
    let s = known.get(r.query)
    if (s === undefined) known.set(r.query, (s = new Set()))
    s.add(r.positive)
  }
  const out: Array<{ row: TrainingRow.TrainingRow; negatives: Array<string> }> = []
  let skipped = 0
  let filled = 0
  for (const row of rows) {
    if (row.weight <= 0) {
      skipped++
      continue
    }
    const negatives = [...new Set(row.negatives)].filter((n) => n !== row.positive && /\S/.test(n)).slice(0, k)
    if (negatives.length < k) {
      if (fill === "skip") {
        skipped++
        continue
      }
      const exclude = known.get(row.query) ?? new Set<string>()
      for (let tries = 0; negatives.length < k && tries < 50 * k; tries++) {
        const doc = pool[rng.int(pool.length)]!
        if (doc === row.positive || exclude.has(doc) || negatives.includes(doc)) continue
        negatives.push(doc)
        filled++
      }
      if (negatives.length < k) {
        skipped++
        continue
      }
    }
    out.push({ row, negatives })
  }
  if (out.length === 0) {
    throw new TrainingError({
      reason: "empty",
      detail: "no row left to export (every row has weight 0 or too few negatives)"
    })
  }
  return { k, out, skipped, filled }
}

const wrap = <A>(thunk: () => A) =>
  Effect.try({
    try: thunk,
    catch: (cause) =>
      cause instanceof TrainingError ? cause : new TrainingError({ reason: "invalid-args", detail: String(cause) })
  })

/**
 * Writes sentence-transformers rows (JSONL, atomically). Rows of weight 0 are left out (they add nothing to a
 * weighted loss). Default `negatives`: 3.
 *
 * @since 0.1.0
 * @category exports
 */
export const sentenceTransformers = (
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  file: string,
  options: NegativeOptions = {}
): Effect.Effect<ExportSummary, TrainingError | DatasetError.DatasetError> =>
  Effect.gen(function* () {
    const { k, out, skipped, filled } = yield* wrap(() => withNegatives(rows, options, 3))
    const schema = SentenceTransformersRow(k)
    const lines = out.map(({ row, negatives }) => {
      const line: Record<string, string | number> = { anchor: row.query, positive: row.positive }
      negatives.forEach((n, i) => {
        line[`negative_${i + 1}`] = n
      })
      line.score = row.weight
      return line as typeof schema.Type
    })
    const summary = yield* Jsonl.writeAll(file, lines, { schema })
    return { file, rows: summary.rows, skipped, filled, sha256: summary.sha256 } satisfies ExportSummary
  })

/**
 * Writes FlagEmbedding rows (JSONL, atomically), one per training row. Default `negatives`: 7 (FlagEmbedding's
 * usual `train_group_size` 8). `prompt` sets each row's query instruction.
 *
 * @since 0.1.0
 * @category exports
 */
export const flagEmbedding = (
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  file: string,
  options: NegativeOptions & { readonly prompt?: string | undefined } = {}
): Effect.Effect<ExportSummary, TrainingError | DatasetError.DatasetError> =>
  Effect.gen(function* () {
    const { out, skipped, filled } = yield* wrap(() => withNegatives(rows, options, 7))
    const lines: Array<FlagEmbeddingRow> = out.map(({ row, negatives }) => ({
      query: row.query,
      pos: [row.positive],
      neg: negatives,
      pos_scores: [row.weight],
      neg_scores: negatives.map(() => 0),
      ...(options.prompt === undefined ? {} : { prompt: options.prompt })
    }))
    const summary = yield* Jsonl.writeAll(file, lines, { schema: FlagEmbeddingRow })
    return { file, rows: summary.rows, skipped, filled, sha256: summary.sha256 } satisfies ExportSummary
  })

/**
 * The launch kit's `config.json`: the paper's settings as defaults (LoRA r = 32, lr 1e-5, global batch 512,
 * learnable temperature from 0.03, Matryoshka dimensions averaged, false-negative margin 0.1).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LaunchConfig = Schema.Struct({
  model: Schema.NonEmptyString,
  train_file: Schema.NonEmptyString,
  output_dir: Schema.NonEmptyString,
  lora: Schema.Struct({
    r: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    alpha: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    dropout: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
    target_modules: Schema.Array(Schema.NonEmptyString)
  }),
  learning_rate: Schema.Number.check(Schema.isGreaterThan(0)),
  global_batch_size: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  nproc_per_node: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  epochs: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  warmup_ratio: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  temperature_init: Schema.Number.check(Schema.isGreaterThan(0)),
  learn_temperature: Schema.Boolean,
  matryoshka_dims: Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  negatives_per_row: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  query_query_negatives: Schema.Boolean,
  document_document_negatives: Schema.Boolean,
  false_negative_margin: Schema.NullOr(Schema.Number),
  query_instruction: Schema.String,
  max_query_length: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  max_document_length: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  bf16: Schema.Boolean,
  gradient_checkpointing: Schema.Boolean,
  seed: Schema.Int
})

/**
 * @since 0.1.0
 * @category models
 */
export type LaunchConfig = typeof LaunchConfig.Type

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultLaunchConfig: LaunchConfig = {
  model: "Qwen/Qwen3-Embedding-0.6B",
  train_file: "train.jsonl",
  output_dir: "output",
  lora: {
    r: 32,
    alpha: 64,
    dropout: 0.05,
    target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
  },
  learning_rate: 1e-5,
  global_batch_size: 512,
  nproc_per_node: 8,
  epochs: 1,
  warmup_ratio: 0.05,
  temperature_init: 0.03,
  learn_temperature: true,
  matryoshka_dims: [128, 256, 512, 1024],
  negatives_per_row: 3,
  query_query_negatives: true,
  document_document_negatives: true,
  false_negative_margin: 0.1,
  query_instruction: "Instruct: Given a search query, retrieve relevant passages that answer the query\nQuery:",
  max_query_length: 64,
  max_document_length: 256,
  bf16: true,
  gradient_checkpointing: true,
  seed: 42
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LaunchKitOptions {
  readonly rows: ReadonlyArray<TrainingRow.TrainingRow>
  readonly config?: Partial<LaunchConfig> | undefined
  readonly seed?: number | undefined
}

/**
 * Writes a launch kit directory: `train.jsonl` (sentence-transformers rows with `score` = weight),
 * `config.json`, `train_weighted.py` (LoRA + grade-weighted InfoNCE, in-batch negatives gathered across GPUs,
 * self-contrast, margin masking, Matryoshka, learnable temperature), `launch.sh` (torchrun) and `README.md`.
 *
 * @since 0.1.0
 * @category exports
 */
export const launchKit = (
  dir: string,
  options: LaunchKitOptions
): Effect.Effect<
  { readonly dir: string; readonly files: ReadonlyArray<string>; readonly data: ExportSummary },
  TrainingError | DatasetError.DatasetError
> =>
  Effect.gen(function* () {
    const config: LaunchConfig = {
      ...defaultLaunchConfig,
      ...options.config,
      lora: { ...defaultLaunchConfig.lora, ...options.config?.lora }
    }
    const checked = yield* Schema.decodeUnknownEffect(LaunchConfig)(config, { errors: "all" }).pipe(
      Effect.mapError((e) => new TrainingError({ reason: "invalid-args", detail: `launch kit config: ${e.message}` }))
    )
    if (checked.global_batch_size % checked.nproc_per_node !== 0) {
      return yield* new TrainingError({
        reason: "invalid-args",
        detail: `global_batch_size ${checked.global_batch_size} is not a multiple of nproc_per_node ${checked.nproc_per_node}`
      })
    }
    const data = yield* sentenceTransformers(options.rows, path.join(dir, checked.train_file), {
      negatives: Math.max(1, checked.negatives_per_row),
      seed: options.seed ?? checked.seed
    })
    const io = (file: string, content: string) =>
      AtomicFile.writeFile(path.join(dir, file), content).pipe(
        Effect.mapError((e) => new TrainingError({ reason: "invalid-args", detail: e.message }))
      )
    yield* io("config.json", JSON.stringify(checked, null, 2) + "\n")
    yield* io("train_weighted.py", trainScript)
    yield* io("launch.sh", launchScript(checked))
    yield* io("README.md", launchReadme(checked, data.rows))
    return { dir, files: ["README.md", "config.json", "launch.sh", "train_weighted.py", checked.train_file], data }
  })
