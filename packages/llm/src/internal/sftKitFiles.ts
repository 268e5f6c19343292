/**
 * The SFT kit's files, and its directory writer on `KitDirectory`. The Python files are the repo's
 * `python/ssra_kits` files: `sftKitTexts.ts` imports them as text (`?raw`), and `loadTexts` loads that module on
 * first use. Where no `?raw` loader exists — the TypeScript sources run by tsx (benchmarks, scripts) — the same
 * files are read from the source tree instead; a built package never needs that, its `dist/` carries the text.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import * as KitDirectory from "../KitDirectory.js"
import { type SftKitConfig, SftKitError, type SftTask, type SftVariant } from "../SftKit.js"

/** The kit's Python side as text. */
export interface KitTexts {
  readonly requirements: string
  readonly dsZero2: string
  readonly sftTrain: string
}

const fromSourceTree = (): KitTexts => {
  // only from the TypeScript sources (src/internal/sftKitFiles.ts in the repo, python/ four levels up): a bundle
  // carries the text, and never looks for python/ beside itself
  if (!import.meta.url.endsWith(".ts")) throw new Error("not running from the TypeScript sources")
  const read = (relative: string) =>
    fs.readFileSync(fileURLToPath(new URL(`../../../../${relative}`, import.meta.url)), "utf8")
  return {
    requirements: read("python/requirements.txt"),
    dsZero2: read("python/ssra_kits/ds_zero2.json"),
    sftTrain: read("python/ssra_kits/sft_train.py")
  }
}

/** The kit's texts: inlined by the bundler (or vitest), else read from the repo's source tree. */
export const loadTexts: Effect.Effect<KitTexts, SftKitError> = Effect.tryPromise({
  try: () => import("./sftKitTexts.js").then((m): KitTexts => m.texts),
  catch: (cause) => cause
}).pipe(
  Effect.catch((importError) =>
    Effect.try({
      try: fromSourceTree,
      catch: (cause) =>
        new SftKitError({
          reason: "scripts",
          detail: `the kit's scripts could not be loaded: ${(importError as Error)?.message ?? String(importError)}; nor read from the source tree: ${(cause as Error)?.message ?? String(cause)}`,
          hint: "use the built package (dist/ carries the scripts) or run from the ssra repository",
          cause
        })
    })
  )
)

/** A number as a person writes it in a config: 1e-4, not 0.0001. */
const plain = (value: number) => (value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value))

const shellQuote = (text: string) => (/^[\w./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`)

export const trainCommand = (dir: string, config: SftKitConfig): string =>
  `NPROC=${config.nproc_per_node} ${shellQuote(path.join(dir, "launch.sh"))}`

export const serveCommand = (dir: string): string => `PORT=8000 ${shellQuote(path.join(dir, "serve.sh"))}`

const what = (task: SftTask) =>
  task === "query-model"
    ? { name: "query model", maps: "(document, target grade) → a query with that grade" }
    : { name: "score model", maps: "(query, document) → the relevance grade" }

const launchScript = (task: SftTask, config: SftKitConfig): string => `#!/usr/bin/env bash
# LoRA SFT of ${config.model} as ssra's ${what(task).name} on ${config.train_file}. Written by ssra (SftKit).
#   ./launch.sh                      one process: one GPU (or the CPU)
#   NPROC=4 ./launch.sh              4 GPUs on this node (torchrun; NCCL, gloo without CUDA)
#   ./launch.sh --max-steps 20       extra arguments go to sft_train.py
set -euo pipefail
cd "$(dirname "$0")"
NPROC="\${NPROC:-${config.nproc_per_node}}"
case "$NPROC" in
  '' | *[!0-9]* | 0) echo "launch.sh: NPROC must be a positive integer, got '$NPROC'" >&2; exit 2 ;;
esac
if [ "$NPROC" -gt 1 ]; then
  exec torchrun --standalone --nproc_per_node=$NPROC sft_train.py --config sft_config.json "$@"
else
  exec python sft_train.py --config sft_config.json "$@"
fi
`

const serveScript = (task: SftTask, config: SftKitConfig): string => `#!/usr/bin/env bash
# Serves the fine-tuned ${what(task).name} (${config.output_dir}/merged) as an OpenAI-compatible endpoint:
# http://\${HOST:-127.0.0.1}:\${PORT:-8000}/v1, model "${config.served_model_name}". Written by ssra (SftKit).
#   ./serve.sh                       transformers serve (CPU or one GPU; simple, not fast)
#   PORT=8001 ./serve.sh             another port; extra arguments go to transformers serve
# On GPUs serve it with vLLM instead (batched, much faster), under the same model name:
#   vllm serve ${config.output_dir}/merged --served-model-name ${config.served_model_name} --host 127.0.0.1 --port 8000
set -euo pipefail
cd "$(dirname "$0")"
HOST="\${HOST:-127.0.0.1}"
PORT="\${PORT:-8000}"
if [ ! -f ${config.output_dir}/merged/config.json ]; then
  echo "serve.sh: ${config.output_dir}/merged/ is missing: train first (./launch.sh), with \\"merge\\": true in sft_config.json" >&2
  exit 1
fi
# transformers serve answers only requests that name the model it was started with: a link named like the model
ln -sfn ${config.output_dir}/merged ${config.served_model_name}
exec transformers serve ${config.served_model_name} --host "$HOST" --port "$PORT" "$@"
`

const queryKeys = {
  vanilla: {
    flag: "--vanilla-query-model-endpoint",
    section: "vanilla",
    what: "the vanilla-SFT baseline's query model"
  },
  v1: { flag: "--query-model-v1-endpoint", section: "queryModelV1", what: "query model v1 (Stage 1)" },
  v2: { flag: "--query-model-v2-endpoint", section: "queryModelV2", what: "query model v2 (Stage 2)" }
} as const

const pipelineKeys = (task: SftTask, variant: SftVariant | undefined) => {
  if (task === "score-model")
    return {
      flag: "--score-model-endpoint",
      section: "scoreModel",
      backend: "scoreModel",
      what: "the score model",
      others: ""
    }
  const keys = queryKeys[variant ?? "v2"]
  return {
    ...keys,
    backend: "queryModel",
    what: variant === undefined ? "a query model" : keys.what,
    others:
      variant === undefined
        ? "\nThe query model has three variants, one kit each: `--vanilla-query-model-endpoint` / `external.vanilla` (the\nvanilla-SFT baseline), `--query-model-v1-endpoint` / `external.queryModelV1` (Stage 1 data) and\n`--query-model-v2-endpoint` / `external.queryModelV2` (Stage 2 data); use the one this kit's data is for.\n"
        : ""
  }
}

const readme = (task: SftTask, variant: SftVariant | undefined, config: SftKitConfig, rows: number): string => {
  const keys = pipelineKeys(task, variant)
  const batch = config.per_device_batch_size * config.gradient_accumulation_steps
  return `# SFT kit: ssra's ${what(task).name} — LoRA on ${config.model}

Written by ssra (\`ssra export --format ${task === "query-model" ? "sft-kit-query" : "sft-kit-score"}\`, \`@ssra/llm\`'s \`SftKit.write\`).
${rows} chat rows in \`${config.train_file}\` teach the model ${what(task).maps}: each row is
\`{"messages": [system, user, assistant]}\` with ssra's prompt as the system and user messages and the answer
${task === "query-model" ? 'as `{"queries": ["…"]}`' : 'as `{"grade": n}`'}, exactly the messages ssra sends the served model later.
The loss is on the assistant's answer only (\`assistant_only_loss\`: ${config.assistant_only_loss}).

## Files

| file | what |
|---|---|
| \`${config.train_file}\` | the rows (validated: at least one user message, exactly one final, non-empty assistant answer) |
| \`sft_config.json\` | ${config.model}, LoRA r=${config.lora.r} alpha=${config.lora.alpha} dropout ${config.lora.dropout} on ${config.lora.target_modules === "all-linear" ? "all linear projections" : config.lora.target_modules.join(", ")}, lr ${plain(config.learning_rate)}, ${config.per_device_batch_size} rows/device × ${config.gradient_accumulation_steps} accumulation (${batch} per process and step), ${config.max_steps > 0 ? `${config.max_steps} steps` : `${config.epochs} epochs`}, ${config.max_length} tokens, warmup ${config.warmup_ratio}, seed ${config.seed}, bf16 ${config.bf16}, merge ${config.merge} |
| \`sft_train.py\` | TRL \`SFTTrainer\` + PEFT LoRA; writes \`${config.output_dir}/adapter\`, \`${config.output_dir}/merged\` (when merging) and \`metrics.json\` |
| \`ds_zero2.json\` | a DeepSpeed ZeRO-2 config, for \`--deepspeed ds_zero2.json\` on several GPUs |
| \`launch.sh\` | training: \`python\` for one process, \`torchrun\` for several (executable) |
| \`serve.sh\` | serves \`${config.output_dir}/merged\` as an OpenAI-compatible endpoint (executable) |
| \`requirements.txt\` | the Python packages, pinned |

## Train

\`\`\`sh
python3 -m venv .venv && . .venv/bin/activate
pip install torch==<the pin in requirements.txt> --index-url https://download.pytorch.org/whl/<cuda-tag>   # the CUDA build first
pip install -r requirements.txt
./launch.sh                          # NPROC=${config.nproc_per_node}: python sft_train.py --config sft_config.json
NPROC=4 ./launch.sh                  # torchrun --standalone --nproc_per_node=4 sft_train.py --config sft_config.json
NPROC=4 ./launch.sh --deepspeed ds_zero2.json
./launch.sh --max-steps 20           # a cheap check first; extra arguments go to sft_train.py
\`\`\`

\`sft_train.py\` also takes \`--model\` (a hub id or a local directory), \`--train-file\`, \`--output-dir\`,
\`--max-steps\`, \`--learning-rate\`, \`--no-merge\` and \`--assistant-only-loss\` / \`--no-assistant-only-loss\`. Without
CUDA it trains on the CPU (float32; several processes use gloo): slow, for checking the kit with a small \`--model\`.

## Serve, then point ssra at it

\`\`\`sh
./serve.sh                           # transformers serve on http://127.0.0.1:\${PORT:-8000}/v1, model "${config.served_model_name}"
# on GPUs, vLLM (same model name, much faster):
vllm serve ${config.output_dir}/merged --served-model-name ${config.served_model_name} --host 127.0.0.1 --port 8000
\`\`\`

Then point ssra at it as ${keys.what} (\`URL#MODEL\`: name the model — \`transformers serve\`'s \`/v1/models\` lists
its hub cache, not this directory):

\`\`\`sh
node apps/cli/dist/bin.js run --config ssra.yaml --${task === "score-model" ? "score-model" : "query-model"} fine-tuned \\
  ${keys.flag} http://127.0.0.1:8000/v1#${config.served_model_name}
\`\`\`

or in the config file:

\`\`\`yaml
backends:
  ${keys.backend}: fine-tuned
  external:
    ${keys.section}: { baseUrl: "http://127.0.0.1:8000/v1", model: ${config.served_model_name} }
\`\`\`
${keys.others}`
}

/** The kit's files other than the training rows. */
export const kitFiles = (
  texts: KitTexts,
  task: SftTask,
  variant: SftVariant | undefined,
  config: SftKitConfig,
  rows: number
): Record<string, { readonly text: string; readonly executable?: boolean }> => ({
  "sft_config.json": { text: JSON.stringify(config, null, 2) + "\n" },
  "sft_train.py": { text: texts.sftTrain },
  "ds_zero2.json": { text: texts.dsZero2 },
  "launch.sh": { text: launchScript(task, config), executable: true },
  "serve.sh": { text: serveScript(task, config), executable: true },
  "requirements.txt": {
    text: KitDirectory.gpuRequirements(texts.requirements, [
      "# Optional, GPU serving: vllm (install it in its own environment; it pins its own torch)"
    ])
  },
  "README.md": { text: readme(task, variant, config, rows) }
})

/** A kit directory's failure as the SFT kit's own error: the same reason (`exists` or `io`), file and words. */
const toSftKitError = (e: KitDirectory.KitDirectoryError): SftKitError =>
  new SftKitError({
    reason: e.reason,
    file: e.file,
    detail: e.detail,
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
    ...(e.cause !== undefined ? { cause: e.cause } : {})
  })

/** Writes the kit's text files into `dir` (see `KitDirectory.writeFiles`). */
export const writeFiles = (
  dir: string,
  files: Readonly<Record<string, KitDirectory.KitFile>>
): Effect.Effect<void, SftKitError> => KitDirectory.writeFiles(dir, files).pipe(Effect.mapError(toSftKitError))

/**
 * Builds the kit in a temporary sibling of `dir` and renames it into place (see `KitDirectory.write`): an
 * existing `dir` is replaced only when it is an earlier SFT kit (it holds `sft_config.json` and `launch.sh`) with
 * no subdirectory (a trained `output/` is never deleted); anything else there is refused.
 */
export const writeKitDirectory = <A, E, R>(
  dir: string,
  body: (temp: string) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | SftKitError, R> =>
  KitDirectory.write(dir, { marker: "sft_config.json", what: "SFT kit" }, body).pipe(
    Effect.mapError((e) => (e instanceof KitDirectory.KitDirectoryError ? toSftKitError(e) : e))
  )
