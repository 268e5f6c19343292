/**
 * Hand-off to GPU trainers: the training set as sentence-transformers rows (`anchor`, `positive`,
 * `negative_1..k`, `score` = the row's loss weight) and FlagEmbedding rows (`query`, `pos`, `neg`), each
 * validated against its Schema while written, and a launch kit for a torchrun LoRA trainer of a Qwen3-Embedding
 * model that applies the per-row weights (`python/ssra_kits/train_embedding.py`, shipped inside the kit).
 *
 * Negatives come from three sources, in this order: the query's own lower-graded documents (its grade-0 pairs
 * first), hard negatives mined with a dual encoder (`HardNegativeMiner`, the trainer's rules), and only then
 * seeded random documents; every summary counts each source.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { type DatasetError, Jsonl, type Models, Sampling, type TrainingRow } from "@ssra/core"
import { Effect, Schema } from "effect"
import type * as DualEncoder from "./DualEncoder.js"
import * as HardNegativeMiner from "./HardNegativeMiner.js"
import * as kit from "./internal/launchKit.js"
import { TrainingError } from "./TrainingError.js"

const Text = Schema.String.check(Schema.isPattern(/\S/, { message: "Expected a non-empty text" }))
const Weight = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0), Schema.isFinite())

/**
 * A sentence-transformers row with exactly `k` negatives: `anchor`, `positive`, `negative_1` … `negative_k`,
 * and `score`, the row's loss weight `w(s)`. sentence-transformers treats a `score` column as the label, and
 * its `MultipleNegativesRankingLoss` ignores labels: the weight reaches the loss only through
 * `python/ssra_kits/weighted_loss.py`'s `GradeWeightedMultipleNegativesRankingLoss` (or the launch kit's
 * `train_embedding.py`).
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
 * "prompt", "type"}`). ssra writes `query`, `pos`, `neg` and optionally `prompt`, and **no scores**:
 * FlagEmbedding reads `pos_scores` / `neg_scores` only with `--knowledge_distillation True`, and then as a
 * teacher's scores to distil (soft targets over the row's group), not as loss weights — a grade weight there
 * would be misread. To carry the weights, `flagEmbedding(…, { weights: "repeat" })` repeats rows instead.
 * FlagEmbedding samples `train_group_size − 1` negatives from `neg`, so `neg` is never empty. The schema still
 * accepts rows with scores (one per text) so files from elsewhere validate.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagEmbeddingRow = Schema.Struct({
  query: Text,
  pos: Schema.Array(Text).check(Schema.isMinLength(1)),
  neg: Schema.Array(Text).check(Schema.isMinLength(1)),
  pos_scores: Schema.optionalKey(Schema.Array(Schema.Number.check(Schema.isFinite()))),
  neg_scores: Schema.optionalKey(Schema.Array(Schema.Number.check(Schema.isFinite()))),
  prompt: Schema.optionalKey(Schema.String),
  type: Schema.optionalKey(Schema.String)
}).check(
  Schema.makeFilter((row) =>
    row.pos_scores !== undefined && row.pos_scores.length !== row.pos.length
      ? "pos_scores must have one score per pos"
      : row.neg_scores !== undefined && row.neg_scores.length !== row.neg.length
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
 * Hard-negative mining at export time with a dual encoder (the run's trained model or the base model), by
 * `HardNegativeMiner.mine`'s rules: the query's top-scoring documents of the training set that are not known
 * positives of the query (graded ≥ 1), minus those within `margin` (relative, default 0.05) of the positive's
 * score, top `k` (default 3) kept. `dimensions` defaults to min(128, the model's learned width), as the
 * pipeline's trainer mines. With a `grader`, mined documents it grades ≥ `guardMinGrade` (default 2) are dropped.
 *
 * @since 0.1.0
 * @category models
 */
export interface HardNegativeMining {
  readonly model: DualEncoder.DualEncoderModel
  readonly k?: number | undefined
  readonly margin?: number | undefined
  readonly dimensions?: number | undefined
  readonly grader?: Models.Grader | undefined
  readonly guardMinGrade?: number | undefined
}

/**
 * How each exported row gets its `negatives` (default 3 for sentence-transformers and the launch kit, 7 for
 * FlagEmbedding): first the query's own lower-graded documents (the row's listed negatives, then the query's
 * grade-0 documents, then its documents graded 1 … below the row's grade), then mined hard negatives when
 * `mining` is given, then — `fill: "sample"`, the default — seeded random documents of the set that are no known
 * positive of the query (FlagEmbedding's own advice); `fill: "skip"` drops a row still short instead.
 *
 * @since 0.1.0
 * @category models
 */
export interface NegativeOptions {
  readonly negatives?: number | undefined
  readonly fill?: "sample" | "skip" | undefined
  readonly seed?: number | undefined
  readonly mining?: HardNegativeMining | undefined
}

/**
 * How many of the written negatives came from each source.
 *
 * @since 0.1.0
 * @category models
 */
export interface NegativeSources {
  /** The query's own lower-graded documents (its grade-0 pairs first; the rows' listed negatives count here). */
  readonly sameQuery: number
  /** Mined with `NegativeOptions.mining`'s model. */
  readonly mined: number
  /** Seeded random documents of the set (`fill: "sample"`). */
  readonly random: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ExportSummary {
  readonly file: string
  /** Lines written (with `weights: "repeat"`, the repeats included). */
  readonly rows: number
  /** Rows left out: weight 0 (their documents become negatives of the query's other rows) or too few negatives. */
  readonly skipped: number
  /** Random negatives (= `negatives.random`; kept for callers of the first version). */
  readonly filled: number
  readonly negatives: NegativeSources
  /** Extra lines written by `weights: "repeat"` (0 otherwise). */
  readonly repeated: number
  readonly sha256: string
}

interface Assigned {
  readonly k: number
  readonly out: ReadonlyArray<{ readonly row: TrainingRow.TrainingRow; readonly negatives: ReadonlyArray<string> }>
  readonly skipped: number
  readonly sources: NegativeSources
}

const nonBlank = (text: string) => /\S/.test(text)

/**
 * The query's own lower-graded documents for each row of weight > 0, in order: the row's listed negatives, the
 * query's grade-0 documents, then its documents graded 1 … below the row's grade (a document's grade is the best
 * any row gives it for that query).
 */
const sameQueryNegatives = (rows: ReadonlyArray<TrainingRow.TrainingRow>): Array<Array<string>> => {
  const graded = new Map<string, Map<string, number>>()
  for (const r of rows) {
    let docs = graded.get(r.query)
    if (docs === undefined) graded.set(r.query, (docs = new Map()))
    docs.set(r.positive, Math.max(r.grade, docs.get(r.positive) ?? 0))
  }
  return rows.map((row) => {
    if (row.weight <= 0) return []
    const seen = new Set<string>([row.positive])
    const out: Array<string> = []
    const take = (doc: string) => {
      if (seen.has(doc) || !nonBlank(doc)) return
      seen.add(doc)
      out.push(doc)
    }
    for (const n of row.negatives) take(n)
    const docs = [...(graded.get(row.query) ?? new Map<string, number>())].filter(([, g]) => g < row.grade)
    // stable: grade 0 first, then ascending grades, each in first-seen order
    docs.sort((a, b) => a[1] - b[1])
    for (const [doc] of docs) take(doc)
    return out
  })
}

const assignNegatives = (
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  options: NegativeOptions,
  defaultK: number
): Effect.Effect<Assigned, TrainingError> =>
  Effect.gen(function* () {
    const k = options.negatives ?? defaultK
    if (!Number.isInteger(k) || k < 1)
      return yield* new TrainingError({
        reason: "invalid-args",
        detail: `negatives must be a positive integer, got ${k}`
      })
    const fill = options.fill ?? "sample"
    const own = sameQueryNegatives(rows).map((list) => list.slice(0, k))
    let mined: ReadonlyArray<ReadonlyArray<string>> = rows.map(() => [])
    const mining = options.mining
    if (mining !== undefined && own.some((list, i) => rows[i]!.weight > 0 && list.length < k)) {
      // rows already holding k negatives are passed with weight 0: the miner skips them, and still counts their
      // positives as known positives of the query (it reads the grade, not the weight)
      const input = rows.map((r, i) =>
        r.weight > 0 && own[i]!.length < k ? { ...r, negatives: own[i]! } : { ...r, negatives: own[i]!, weight: 0 }
      )
      const result = yield* HardNegativeMiner.mine({
        model: mining.model,
        rows: input,
        k: mining.k ?? 3,
        margin: mining.margin ?? 0.05,
        dimensions: mining.dimensions ?? Math.min(128, mining.model.config.dimensions),
        grader: mining.grader,
        guardMinGrade: mining.guardMinGrade
      }).pipe(
        Effect.mapError((e) =>
          e instanceof TrainingError
            ? e
            : new TrainingError({
                reason: "model",
                detail: `hard-negative guard (${e.backend}): ${e.message}`,
                hint: "the grader guarding mined negatives failed: fix it or mine without a grader",
                cause: e
              })
        )
      )
      mined = result.mined
    }
    const rng = new Sampling.SeededRandom(options.seed ?? 1)
    const pool = [...new Set(rows.map((r) => r.positive))]
    const known = HardNegativeMiner.knownPositives(rows)
    const out: Array<{ row: TrainingRow.TrainingRow; negatives: Array<string> }> = []
    let skipped = 0
    let sameQuery = 0
    let minedCount = 0
    let random = 0
    rows.forEach((row, i) => {
      if (row.weight <= 0) {
        skipped++
        return
      }
      const negatives = [...own[i]!]
      const fromOwn = negatives.length
      for (const doc of mined[i]!) {
        if (negatives.length >= k) break
        if (doc !== row.positive && !negatives.includes(doc)) negatives.push(doc)
      }
      const fromMined = negatives.length - fromOwn
      if (negatives.length < k) {
        if (fill === "skip") {
          skipped++
          return
        }
        const exclude = known.get(row.query) ?? new Set<string>()
        for (let tries = 0; negatives.length < k && tries < 50 * k; tries++) {
          const doc = pool[rng.int(pool.length)]!
          if (doc === row.positive || exclude.has(doc) || negatives.includes(doc)) continue
          negatives.push(doc)
        }
        if (negatives.length < k) {
          skipped++
          return
        }
      }
      sameQuery += fromOwn
      minedCount += fromMined
      random += negatives.length - fromOwn - fromMined
      out.push({ row, negatives })
    })
    if (out.length === 0) {
      return yield* new TrainingError({
        reason: "empty",
        detail: "no row left to export (every row has weight 0 or too few negatives)",
        hint: "the set needs rows graded above 0; with fill: skip, rows also need enough negatives of their own"
      })
    }
    return { k, out, skipped, sources: { sameQuery, mined: minedCount, random } }
  })

/**
 * Writes sentence-transformers rows (JSONL, atomically). Rows of weight 0 are not rows of their own (they add
 * nothing to a weighted loss): their documents become negatives of the query's other rows. Default `negatives`:
 * 3. `score` = the row's weight, which plain `MultipleNegativesRankingLoss` ignores: train with
 * `python/ssra_kits/weighted_loss.py`'s `GradeWeightedMultipleNegativesRankingLoss` to use it.
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
    const { k, out, skipped, sources } = yield* assignNegatives(rows, options, 3)
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
    return {
      file,
      rows: summary.rows,
      skipped,
      filled: sources.random,
      negatives: sources,
      repeated: 0,
      sha256: summary.sha256
    } satisfies ExportSummary
  })

/**
 * FlagEmbedding export options: `prompt` sets each row's query instruction; `weights: "repeat"` carries the
 * grade weights the only way FlagEmbedding's loss sees them — a row of weight `w` is written
 * `round(w / w_max × maxRepeat)` times (halves up, at least once; default `maxRepeat` 3, so with raw grade
 * weights a grade-3 row 3 times, a grade-1 row once) and the lines are shuffled with `seed` (the rule of
 * `python/ssra_kits/flag_embedding.py repeat-by-weight`); `"none"` (the default) writes each row once, unweighted.
 *
 * @since 0.1.0
 * @category models
 */
export interface FlagEmbeddingOptions extends NegativeOptions {
  readonly prompt?: string | undefined
  readonly weights?: "none" | "repeat" | undefined
  readonly maxRepeat?: number | undefined
}

/** How many times a row of each weight is written under `weights: "repeat"`. */
const repeatCounts = (weights: ReadonlyArray<number>, maxRepeat: number): Array<number> => {
  const top = Math.max(...weights)
  return weights.map((w) => (top > 0 ? Math.max(1, Math.floor((w / top) * maxRepeat + 0.5)) : 1))
}

/**
 * Writes FlagEmbedding rows (JSONL, atomically), one per training row of weight > 0 (or repeated by weight, see
 * `FlagEmbeddingOptions`), without `pos_scores` / `neg_scores` (see `FlagEmbeddingRow`). Default `negatives`: 7
 * (FlagEmbedding's usual `train_group_size` 8).
 *
 * @since 0.1.0
 * @category exports
 */
export const flagEmbedding = (
  rows: ReadonlyArray<TrainingRow.TrainingRow>,
  file: string,
  options: FlagEmbeddingOptions = {}
): Effect.Effect<ExportSummary, TrainingError | DatasetError.DatasetError> =>
  Effect.gen(function* () {
    const weights = options.weights ?? "none"
    const maxRepeat = options.maxRepeat ?? 3
    if (!Number.isInteger(maxRepeat) || maxRepeat < 1)
      return yield* new TrainingError({
        reason: "invalid-args",
        detail: `maxRepeat must be a positive integer, got ${maxRepeat}`
      })
    const { out, skipped, sources } = yield* assignNegatives(rows, options, 7)
    const counts =
      weights === "repeat"
        ? repeatCounts(
            out.map(({ row }) => row.weight),
            maxRepeat
          )
        : out.map(() => 1)
    const written: Array<FlagEmbeddingRow> = []
    out.forEach(({ row, negatives }, i) => {
      const line: FlagEmbeddingRow = {
        query: row.query,
        pos: [row.positive],
        neg: negatives,
        ...(options.prompt === undefined ? {} : { prompt: options.prompt })
      }
      for (let n = 0; n < counts[i]!; n++) written.push(line)
    })
    // a row's copies spread over the file, so they land in different batches
    const lines = weights === "repeat" ? Sampling.shuffle(written, options.seed ?? 1) : written
    const summary = yield* Jsonl.writeAll(file, lines, { schema: FlagEmbeddingRow })
    return {
      file,
      rows: summary.rows,
      skipped,
      filled: sources.random,
      negatives: sources,
      repeated: lines.length - out.length,
      sha256: summary.sha256
    } satisfies ExportSummary
  })

/**
 * The launch kit's `config.json`, the keys `python/ssra_kits/train_embedding.py` reads: the paper's settings as
 * defaults (LoRA r = 32, lr 1e-5, global batch 512, learnable temperature from 0.03, Matryoshka dimensions
 * averaged, false-negative margin 0.1). `nproc_per_node` is `launch.sh`'s default `NPROC`; the global batch
 * must split evenly over the processes.
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
  /** Hard-negative mining for `train.jsonl` (see `NegativeOptions`). */
  readonly mining?: HardNegativeMining | undefined
}

/**
 * What `launchKit` wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface LaunchKit {
  readonly dir: string
  /** The kit's file names, sorted. */
  readonly files: ReadonlyArray<string>
  /** The kit's `config.json` (`global_batch_size` lowered to fit a small set when it was not given). */
  readonly config: LaunchConfig
  readonly data: ExportSummary
  /** The training command line, run from any directory. */
  readonly trainCommand: string
}

/**
 * Writes a launch kit directory, atomically (written into a temporary sibling, then renamed into place; an
 * earlier kit there is replaced, any other non-empty directory or one holding a trained `output/` is refused):
 * `train.jsonl` (sentence-transformers rows, `score` = weight, negatives as in `NegativeOptions`), `config.json`
 * (`LaunchConfig`; with fewer rows than the default global batch, and no batch size given, the batch is lowered
 * to the largest power of two that fits, so the trainer makes steps), `train_embedding.py` and `encode.py` (the
 * repo's `python/ssra_kits` scripts, byte for byte), `launch.sh` (mode 0755: `torchrun --standalone --nnodes=1
 * --nproc_per_node="$NPROC" train_embedding.py --config config.json "$@"`), `requirements.txt` (the GPU side's
 * pins) and `README.md` (exact commands).
 *
 * @since 0.1.0
 * @category exports
 */
export const launchKit = (
  dir: string,
  options: LaunchKitOptions
): Effect.Effect<LaunchKit, TrainingError | DatasetError.DatasetError> =>
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
    if (path.isAbsolute(checked.train_file) || checked.train_file.includes("/") || checked.train_file.includes("\\")) {
      return yield* new TrainingError({
        reason: "invalid-args",
        detail: `train_file must be a plain file name inside the kit, got ${checked.train_file}`
      })
    }
    // the Python scripts load on first use (see internal/launchKit.ts)
    const texts = yield* kit.loadTexts
    return yield* kit.writeKitDirectory(dir, "config.json", (temp) =>
      Effect.gen(function* () {
        const data = yield* sentenceTransformers(options.rows, path.join(temp, checked.train_file), {
          negatives: Math.max(1, checked.negatives_per_row),
          seed: options.seed ?? checked.seed,
          mining: options.mining
        })
        // fewer rows than the default global batch: the trainer would make no step (it drops the last partial
        // batch), so the default shrinks to the largest power of two that fits — it still splits over any power-of-two
        // NPROC up to it. A batch size the caller set is kept as given.
        let final = checked
        if (options.config?.global_batch_size === undefined && data.rows < checked.global_batch_size) {
          const fitted = 2 ** Math.floor(Math.log2(Math.max(1, data.rows)))
          if (fitted < checked.nproc_per_node || fitted < 2)
            return yield* new TrainingError({
              reason: "invalid-args",
              detail: `${data.rows} training rows cannot fill a global batch of at least 2 over ${checked.nproc_per_node} processes`,
              hint: "export a run with more graded rows, or set config.nproc_per_node lower"
            })
          final = { ...checked, global_batch_size: fitted }
        }
        const files: Record<string, { readonly text: string; readonly executable?: boolean }> = {
          "config.json": { text: JSON.stringify(final, null, 2) + "\n" },
          "train_embedding.py": { text: texts.trainEmbedding },
          "encode.py": { text: texts.encode },
          "launch.sh": { text: kit.launchScript(final), executable: true },
          "requirements.txt": { text: texts.requirements },
          "README.md": { text: kit.launchReadme(final, data, checked.global_batch_size) }
        }
        yield* kit.writeFiles(temp, files)
        return {
          dir,
          files: [...Object.keys(files), final.train_file].sort(),
          config: final,
          data: { ...data, file: path.join(dir, final.train_file) },
          trainCommand: kit.trainCommand(dir, final)
        } satisfies LaunchKit
      })
    )
  })
