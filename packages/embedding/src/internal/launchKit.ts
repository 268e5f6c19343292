/**
 * The launch kit's files, and its directory writer on `@ssra/llm`'s `KitDirectory`. The Python scripts are the
 * repo's `python/ssra_kits` files: `kitTexts.ts` imports them as text (`?raw`), and `loadTexts` loads that module
 * on first use. Where no `?raw` loader exists — the TypeScript sources run by tsx (benchmarks, scripts) — the same
 * files are read from the source tree instead; a built package never needs that, its `dist/` carries the text.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { DatasetError } from "@ssra/core"
import { KitDirectory } from "@ssra/llm"
import { Effect } from "effect"
import type { ExportSummary, LaunchConfig } from "../Export.js"
import { TrainingError } from "../TrainingError.js"

/** The kit's Python files and the GPU requirements, ready to write. */
export interface KitTexts {
  readonly trainEmbedding: string
  readonly encode: string
  readonly requirements: string
}

const fromSourceTree = (): {
  readonly requirements: string
  readonly encode: string
  readonly trainEmbedding: string
} => {
  // only from the TypeScript sources (src/internal/launchKit.ts in the repo, python/ four levels up): a bundle
  // carries the text, and never looks for python/ beside itself
  if (!import.meta.url.endsWith(".ts")) throw new Error("not running from the TypeScript sources")
  const read = (relative: string) =>
    fs.readFileSync(fileURLToPath(new URL(`../../../../${relative}`, import.meta.url)), "utf8")
  return {
    requirements: read("python/requirements.txt"),
    encode: read("python/ssra_kits/encode.py"),
    trainEmbedding: read("python/ssra_kits/train_embedding.py")
  }
}

/** The kit's texts: inlined by the bundler (or vitest), else read from the repo's source tree. */
export const loadTexts: Effect.Effect<KitTexts, TrainingError> = Effect.tryPromise({
  try: () => import("./kitTexts.js").then((m) => m.texts),
  catch: (cause) => cause
}).pipe(
  Effect.catch((importError) =>
    Effect.try({
      try: fromSourceTree,
      catch: (cause) =>
        new TrainingError({
          reason: "invalid-args",
          detail: `the launch kit's scripts could not be loaded: ${(importError as Error)?.message ?? String(importError)}; nor read from the source tree: ${(cause as Error)?.message ?? String(cause)}`,
          hint: "use the built package (dist/ carries the scripts) or run from the ssra repository",
          cause
        })
    })
  ),
  Effect.map((t) => ({
    trainEmbedding: t.trainEmbedding,
    encode: t.encode,
    requirements: KitDirectory.gpuRequirements(t.requirements)
  }))
)

const shellQuote = (text: string) => (/^[\w./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`)

export const trainCommand = (dir: string, config: LaunchConfig): string =>
  `NPROC=${config.nproc_per_node} ${shellQuote(path.join(dir, "launch.sh"))}`

export const launchScript = (config: LaunchConfig): string => `#!/usr/bin/env bash
# Fine-tunes ${config.model} with LoRA on ${config.train_file} (grade-weighted InfoNCE). Written by ssra's launch kit.
#   NPROC=8 ./launch.sh                  one node, 8 GPUs (NCCL)
#   ./launch.sh --max-steps 20           extra arguments go to train_embedding.py (--max-steps, --log-every, --model,
#                                        --train-file, --output-dir)
#   NPROC=2 ./launch.sh --max-steps 20   no GPU: 2 CPU processes (gloo)
set -euo pipefail
cd "$(dirname "$0")"
NPROC="\${NPROC:-${config.nproc_per_node}}"
exec torchrun --standalone --nnodes=1 --nproc_per_node="$NPROC" train_embedding.py --config config.json "$@"
`

/** A number as a person writes it in a config: 1e-5, not 0.00001. */
const plain = (value: number) => (value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value))

export const launchReadme = (config: LaunchConfig, data: ExportSummary, requestedBatch: number): string => {
  const perProcess = config.global_batch_size / config.nproc_per_node
  const negatives = data.negatives.sameQuery + data.negatives.mined + data.negatives.random
  return `# Launch kit: ${config.model} + LoRA, grade-weighted InfoNCE

Written by ssra (\`ssra export --format launch-kit\`, \`Export.launchKit\`): ${data.rows} training rows in
\`${config.train_file}\`, ${config.negatives_per_row} negatives each. ${data.skipped} rows are not rows of their own (weight 0 — grade-0 pairs,
whose documents serve as negatives of their query's rows — or too few negatives). Of the ${negatives} negatives,
${data.negatives.sameQuery} are the query's own lower-graded documents (its grade-0 pairs first), ${data.negatives.mined} were mined with
ssra's dual encoder (top-scoring non-positives, never a known positive, those within 5% of the positive's score
dropped, top 3), ${data.negatives.random} were drawn at random (seeded) from the set's documents.
${requestedBatch !== config.global_batch_size ? `\nThe global batch is ${config.global_batch_size}, not the default ${requestedBatch}: the set has only ${data.rows} rows, and the trainer drops a\nlast partial batch. Set \`global_batch_size\` in config.json to change it.\n` : ""}
## Files

| file | what |
|---|---|
| \`${config.train_file}\` | sentence-transformers rows: \`anchor\`, \`positive\`, \`negative_1..${config.negatives_per_row}\`, \`score\` = the row's loss weight w(s) |
| \`config.json\` | model, LoRA (r=${config.lora.r}, alpha=${config.lora.alpha}, dropout ${config.lora.dropout}), lr ${plain(config.learning_rate)}, global batch ${config.global_batch_size} (${perProcess} per process at NPROC=${config.nproc_per_node}), ${config.epochs} epoch(s), temperature ${config.temperature_init} (${config.learn_temperature ? "learned" : "fixed"}), Matryoshka dims [${config.matryoshka_dims.join(", ")}], false-negative margin ${config.false_negative_margin} |
| \`train_embedding.py\` | the trainer: \`(1/B) Σ w_i · InfoNCE_i\`, in-batch negatives gathered across processes, the rows' hard negatives, q–q/d–d negatives, false-negative masking, Matryoshka dims averaged, learnable temperature |
| \`encode.py\` | embeds a test set with the base model + the trained adapter: a TREC run and scored pairs |
| \`launch.sh\` | the torchrun command line (executable) |
| \`requirements.txt\` | the Python packages, pinned |

## Train

\`\`\`sh
python3 -m venv .venv && . .venv/bin/activate
pip install torch==<the pin in requirements.txt> --index-url https://download.pytorch.org/whl/<cuda-tag>   # the CUDA build first
pip install -r requirements.txt
NPROC=${config.nproc_per_node} ./launch.sh
# = torchrun --standalone --nnodes=1 --nproc_per_node=${config.nproc_per_node} train_embedding.py --config config.json
\`\`\`

- \`./launch.sh --max-steps 20\` — everything after \`launch.sh\` goes to \`train_embedding.py\`: \`--max-steps N\`,
  \`--log-every N\`, \`--model M\` (a hub id or a local directory), \`--train-file F\`, \`--output-dir D\`. A 20-step
  run is a cheap check of the machine before the real one.
- \`NPROC\` processes share the global batch of ${config.global_batch_size}: pick one that divides it.
- No GPU: \`NPROC=2 ./launch.sh --max-steps 20\` runs two CPU processes (the script takes the gloo backend when CUDA
  is absent, and float32); slow, for checking the kit, with a small \`--model\`.

The LoRA adapter, the tokenizer, \`temperature.json\`, the config as run, \`train_log.jsonl\` (one JSON line per
logged step) and \`metrics.json\` land in \`${config.output_dir}/\` (written beside it and renamed into place at the end).

## Evaluate

Encode the test set with the base model + adapter, then score it with ssra's evaluator (from the ssra repo; the
test files are the run's \`artifacts/prepare-*/retrieval_test.jsonl\` and \`pair_test.jsonl\`, or the data folder's):

\`\`\`sh
python encode.py --model ${config.model} --adapter ${config.output_dir} --config config.json \\
  --retrieval-test retrieval_test.jsonl --pair-test pair_test.jsonl --out eval --dim 128
# writes eval/run.trec (each test query's candidates ranked by cosine) and eval/pairs.jsonl (label, score)
node apps/cli/dist/bin.js data convert -i retrieval_test.jsonl -o eval/qrels.trec
node apps/eval-runner/dist/bin.js trec --qrels eval/qrels.trec --run eval/run.trec -m ndcg@10 --json
node apps/eval-runner/dist/bin.js pairs --input eval/pairs.jsonl --json
\`\`\`

\`trec\` gives nDCG@10 exactly as trec_eval's \`ndcg_cut.10\`; \`pairs\` gives AP at grade ≥ 1, ≥ 2, ≥ 3 as
scikit-learn's \`average_precision_score\`, the paper's two measures.
`
}

const toDatasetError = (e: KitDirectory.KitDirectoryError) =>
  new DatasetError.DatasetError({
    file: e.file,
    reason: "io",
    detail: e.detail,
    ...(e.hint !== undefined ? { hint: e.hint } : {})
  })

/** A kit directory's failure as the launch kit's errors: a directory it may not replace is a usage error
 * (`TrainingError` "invalid-args"), a file system failure a `DatasetError` "io". */
const fromKitDirectoryError = (e: KitDirectory.KitDirectoryError): TrainingError | DatasetError.DatasetError =>
  e.reason === "exists"
    ? new TrainingError({
        reason: "invalid-args",
        detail: e.detail,
        ...(e.hint !== undefined ? { hint: e.hint } : {})
      })
    : toDatasetError(e)

/** Writes the kit's text files into `dir` (see `KitDirectory.writeFiles`). */
export const writeFiles = (
  dir: string,
  files: Readonly<Record<string, KitDirectory.KitFile>>
): Effect.Effect<void, DatasetError.DatasetError> =>
  KitDirectory.writeFiles(dir, files).pipe(Effect.mapError(toDatasetError))

/**
 * Builds the kit in a temporary sibling of `dir` and renames it into place (see `KitDirectory.write`): an
 * existing `dir` is replaced only when it is an earlier kit (it holds `marker` and `launch.sh`) with no
 * subdirectory (a trained `output/` is never deleted); anything else there is refused.
 */
export const writeKitDirectory = <A, E, R>(
  dir: string,
  marker: string,
  body: (temp: string) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | TrainingError | DatasetError.DatasetError, R> =>
  KitDirectory.write(dir, { marker, what: "launch kit" }, body).pipe(
    Effect.mapError((e) => (e instanceof KitDirectory.KitDirectoryError ? fromKitDirectoryError(e) : e))
  )
