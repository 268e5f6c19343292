/**
 * SFT launch kits for the two LLMs SSRA fine-tunes — the query model ("(document, grade) → query") and the score
 * model ("(query, document) → grade"): a directory with the chat rows, a LoRA SFT config, the repo's
 * `python/ssra_kits/sft_train.py` (TRL `SFTTrainer` + PEFT) and scripts that train on one GPU or many and serve
 * the merged model as an OpenAI-compatible endpoint the pipeline then points at.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import { type DatasetError, Failure, Jsonl } from "@ssra/core"
import { Effect, Schema } from "effect"
import * as kit from "./internal/sftKitFiles.js"

/**
 * Which model the kit fine-tunes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SftTask = Schema.Literals(["query-model", "score-model"])

/**
 * @since 0.1.0
 * @category models
 */
export type SftTask = typeof SftTask.Type

/**
 * Which query model a query-model kit is for — the pipeline's `query-model:vanilla | v1 | v2` (the vanilla-SFT
 * baseline, Stage 1's and Stage 2's data): it names the served model (`ssra-query-model-v2`…) and the flag and
 * config key the README points the pipeline at.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SftVariant = Schema.Literals(["vanilla", "v1", "v2"])

/**
 * @since 0.1.0
 * @category models
 */
export type SftVariant = typeof SftVariant.Type

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Fraction = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const PlainName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: "Expected a plain name (letters, digits, '.', '_', '-'; no '/')"
  })
)

/**
 * The kit's `sft_config.json`, the keys `sft_train.py` reads (see `defaultConfig` for the values): the base
 * model, LoRA on every linear projection, optimizer and schedule, sequence length, loss on the assistant's answer
 * only, precision, and whether to merge the adapter into a full model for serving. `served_model_name` is the
 * model id `serve.sh` (and the documented vLLM command) serves the merged model under.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SftKitConfig = Schema.Struct({
  model: Schema.NonEmptyString,
  train_file: PlainName,
  output_dir: PlainName,
  served_model_name: PlainName,
  lora: Schema.Struct({
    r: PositiveInt,
    alpha: PositiveInt,
    dropout: Fraction,
    /** `"all-linear"` (PEFT: every linear layer but the output head) or module names. */
    target_modules: Schema.Union([Schema.Literal("all-linear"), Schema.Array(Schema.NonEmptyString)])
  }),
  learning_rate: Schema.Number.check(Schema.isGreaterThan(0)),
  per_device_batch_size: PositiveInt,
  gradient_accumulation_steps: PositiveInt,
  epochs: Schema.Number.check(Schema.isGreaterThan(0)),
  /** -1: run `epochs` epochs; otherwise stop after this many optimizer steps. */
  max_steps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(-1)),
  max_length: PositiveInt,
  assistant_only_loss: Schema.Boolean,
  warmup_ratio: Fraction,
  seed: Schema.Int,
  bf16: Schema.Boolean,
  gradient_checkpointing: Schema.Boolean,
  merge: Schema.Boolean,
  logging_steps: PositiveInt,
  nproc_per_node: PositiveInt
})

/**
 * @since 0.1.0
 * @category models
 */
export type SftKitConfig = typeof SftKitConfig.Type

/**
 * The defaults, from the paper and common LoRA SFT practice: `Qwen/Qwen3-4B` for both models (the paper
 * fine-tunes an LLM for each), LoRA r 16 / alpha 32 / dropout 0.05 on all linear projections, lr 1e-4, 4 rows per
 * device × 4 accumulation steps, 2 epochs, 1024 tokens, loss on the answer only, 3% warmup, seed 42, bf16,
 * gradient checkpointing, the adapter merged for serving, a log line per step, one process; served as
 * `ssra-score-model`, `ssra-query-model` or, with a variant, `ssra-query-model-<variant>`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConfig = (task: SftTask, variant?: SftVariant): SftKitConfig => ({
  model: "Qwen/Qwen3-4B",
  train_file: "train.jsonl",
  output_dir: "output",
  served_model_name:
    task === "score-model"
      ? "ssra-score-model"
      : variant === undefined
        ? "ssra-query-model"
        : `ssra-query-model-${variant}`,
  lora: { r: 16, alpha: 32, dropout: 0.05, target_modules: "all-linear" },
  learning_rate: 1e-4,
  per_device_batch_size: 4,
  gradient_accumulation_steps: 4,
  epochs: 2,
  max_steps: -1,
  max_length: 1024,
  assistant_only_loss: true,
  warmup_ratio: 0.03,
  seed: 42,
  bf16: true,
  gradient_checkpointing: true,
  merge: true,
  logging_steps: 1,
  nproc_per_node: 1
})

/**
 * One chat message of a training row.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SftMessage = Schema.Struct({
  role: Schema.Literals(["system", "user", "assistant"]),
  content: Schema.String
})

/**
 * One training row, `{"messages": [...]}` (the chat JSONL TRL's `SFTTrainer`, OpenAI-compatible fine-tuning APIs
 * and LLaMA-Factory read): at least one user message and exactly one assistant message, the last one, with a
 * non-empty answer — the text the model learns to write.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SftRow = Schema.Struct({ messages: Schema.Array(SftMessage) }).check(
  Schema.makeFilter((row) => rowProblem(row.messages))
)

/**
 * @since 0.1.0
 * @category models
 */
export type SftRow = typeof SftRow.Type

const rowProblem = (messages: ReadonlyArray<{ readonly role: string; readonly content: unknown }>) => {
  if (messages.length === 0) return "no messages"
  const assistants = messages.filter((m) => m.role === "assistant").length
  const last = messages[messages.length - 1]!
  if (assistants === 0 || last.role !== "assistant")
    return "no assistant answer: the last message must be the assistant's answer (the text the model learns)"
  if (assistants > 1) return `${assistants} assistant messages: a row holds one exchange, answered once, last`
  if (!messages.some((m) => m.role === "user")) return "no user message"
  if (typeof last.content !== "string" || last.content.trim() === "") return "the assistant's answer is empty"
  return undefined
}

/**
 * Why a kit was not written: a training row that is no single answered exchange (`row` is its 0-based index,
 * line `row + 1` of `train.jsonl`), no rows, an invalid config, an output directory that is something else, the
 * kit's scripts unavailable to this runner, or an I/O failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class SftKitError extends Schema.TaggedError<SftKitError>()("SftKitError", {
  reason: Schema.Literals(["invalid-row", "empty", "invalid-config", "exists", "scripts", "io"]),
  detail: Schema.String,
  row: Schema.optionalKey(Schema.Int),
  file: Schema.optionalKey(Schema.String),
  hint: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const where = this.row !== undefined ? ` (row ${this.row}, line ${this.row + 1} of train.jsonl)` : ""
    const file = this.file !== undefined ? ` [${this.file}]` : ""
    return `${this.reason}${where}${file}: ${this.detail}${this.hint !== undefined ? ` — ${this.hint}` : ""}`
  }
  /**
   * An output directory that is something else or an invalid config is usage, bad rows or none input, a file
   * system failure io, the kit's scripts missing from this runner internal.
   */
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make(sftKitClass[this.reason])
  }
}

const sftKitClass = {
  exists: "usage",
  "invalid-config": "usage",
  "invalid-row": "input",
  empty: "input",
  io: "io",
  scripts: "internal"
} as const satisfies Record<SftKitError["reason"], Failure.Class>

/**
 * A chat row as callers build it (`@ssra/query-model`'s `SftData.toChat`, `@ssra/score-model`'s `Sft.scoreRow`);
 * `write` checks it is an `SftRow`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatRow {
  readonly messages: ReadonlyArray<{ readonly role: "system" | "user" | "assistant"; readonly content: string }>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  readonly task: SftTask
  /** Query-model kits: which of the pipeline's query models the rows train (see `SftVariant`). */
  readonly variant?: SftVariant | undefined
  readonly rows: ReadonlyArray<ChatRow>
  /** Overrides of `defaultConfig(task)`; `lora` is merged field by field. */
  readonly config?:
    | (Partial<Omit<SftKitConfig, "lora">> & { readonly lora?: Partial<SftKitConfig["lora"]> | undefined })
    | undefined
}

/**
 * What `write` wrote, and the commands that use it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SftKit {
  readonly dir: string
  /** The kit's file names, sorted. */
  readonly files: ReadonlyArray<string>
  /** Training rows written. */
  readonly rows: number
  /** Trains (run from any directory; `NPROC=n` for n GPUs). */
  readonly trainCommand: string
  /** Serves the merged model at `endpoint` (after training). */
  readonly serveCommand: string
  /** Where `serveCommand` serves: the pipeline's `backends.external.<model>` value. */
  readonly endpoint: { readonly baseUrl: string; readonly model: string }
}

const ioError = (file: string, detail: string, cause?: unknown) =>
  new SftKitError({
    reason: "io",
    file,
    detail,
    hint: "check the directory is writable and the disk has space",
    ...(cause !== undefined ? { cause } : {})
  })

const invalidConfig = (detail: string) =>
  new SftKitError({
    reason: "invalid-config",
    detail,
    hint: "see SftKitConfig for the fields and their ranges"
  })

/**
 * Writes an SFT launch kit into `dir`, atomically (built in a temporary sibling and renamed into place; an
 * earlier kit there is replaced, any other non-empty directory, or a kit holding a trained `output/`, is refused):
 * `train.jsonl` (the validated rows), `sft_config.json`, `sft_train.py` and `ds_zero2.json` (the repo's
 * `python/ssra_kits` files, byte for byte), `launch.sh` and `serve.sh` (mode 0755), `requirements.txt` and
 * `README.md`. A row without a final assistant answer fails with its index before anything is written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = (dir: string, options: WriteOptions): Effect.Effect<SftKit, SftKitError> =>
  Effect.gen(function* () {
    const task = yield* Schema.decodeUnknownEffect(SftTask)(options.task).pipe(
      Effect.mapError(() => invalidConfig(`task must be "query-model" or "score-model", got ${String(options.task)}`))
    )
    const variant =
      options.variant === undefined
        ? undefined
        : yield* Schema.decodeUnknownEffect(SftVariant)(options.variant).pipe(
            Effect.mapError(() =>
              invalidConfig(`variant must be "vanilla", "v1" or "v2", got ${String(options.variant)}`)
            )
          )
    if (variant !== undefined && task !== "query-model")
      return yield* invalidConfig(`variant ${variant} is for query-model kits, not ${task}`)
    const defaults = defaultConfig(task, variant)
    const config = yield* Schema.decodeUnknownEffect(SftKitConfig)(
      { ...defaults, ...options.config, lora: { ...defaults.lora, ...options.config?.lora } },
      { errors: "all" }
    ).pipe(Effect.mapError((e) => invalidConfig(`sft kit config: ${e.message}`)))
    if (options.rows.length === 0)
      return yield* new SftKitError({
        reason: "empty",
        detail: `no training rows for the ${task} kit`,
        hint: "build the rows from a finished run (ssra export --format sft-kit-query | sft-kit-score)"
      })
    for (let i = 0; i < options.rows.length; i++) {
      const row = options.rows[i] as unknown
      const messages = (row as { messages?: unknown } | null)?.messages
      const shaped =
        Array.isArray(messages) &&
        messages.every(
          (m) =>
            typeof m === "object" &&
            m !== null &&
            ["system", "user", "assistant"].includes((m as { role?: unknown }).role as string) &&
            typeof (m as { content?: unknown }).content === "string"
        )
      const problem = shaped
        ? rowProblem(messages as ReadonlyArray<{ role: string; content: string }>)
        : 'expected {"messages": [{"role": "system" | "user" | "assistant", "content": string}, ...]}'
      if (problem !== undefined)
        return yield* new SftKitError({
          reason: "invalid-row",
          row: i,
          detail: problem,
          hint: "each row is one exchange: optional system message, the user's message(s), then exactly one non-empty assistant answer"
        })
    }
    // the Python files load on first use (see internal/sftKitFiles.ts)
    const texts = yield* kit.loadTexts
    const rows = options.rows.map((r) => ({ messages: r.messages.map((m) => ({ role: m.role, content: m.content })) }))
    return yield* kit.writeKitDirectory(dir, (temp) =>
      Effect.gen(function* () {
        const written = yield* Jsonl.writeAll(path.join(temp, config.train_file), rows as ReadonlyArray<SftRow>, {
          schema: SftRow
        }).pipe(Effect.mapError((e: DatasetError.DatasetError) => ioError(e.file, e.message, e)))
        const files = kit.kitFiles(texts, task, variant, config, written.rows)
        yield* kit.writeFiles(temp, files)
        return {
          dir,
          files: [...Object.keys(files), config.train_file].sort(),
          rows: written.rows,
          trainCommand: kit.trainCommand(dir, config),
          serveCommand: kit.serveCommand(dir),
          endpoint: { baseUrl: "http://127.0.0.1:8000/v1", model: config.served_model_name }
        } satisfies SftKit
      })
    )
  })
