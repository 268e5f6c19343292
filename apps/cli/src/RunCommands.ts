/**
 * `ssra run|experiment|demo|estimate|merge|stage`: the SSRA loop and the paper's comparison over a dataset,
 * resumable (rerun the same command after a crash), shardable (`--shard i/n` + `ssra merge`), with a dry run
 * that validates everything and prints the plan before any work.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Backends, Inputs, Pipeline, PipelineConfig, PipelineError, Plan, Prepare, WorkUnits } from "@ssra/pipeline"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type { HttpClient } from "effect/http"
import * as ConfigLoader from "./ConfigLoader.js"
import { dataFlags, requireFiles } from "./DataCommands.js"
import * as Duration from "./Duration.js"
import { usage } from "./ExitCode.js"

const opt = <A>(o: Option.Option<A>): A | undefined => (Option.isSome(o) ? o.value : undefined)

/**
 * Flags shared by every command that runs the pipeline.
 *
 * @since 0.1.0
 * @category flags
 */
export const runFlags = {
  config: Flag.File("config").pipe(
    Flag.withAlias("c"),
    Flag.withDescription(
      "Config file (JSON or YAML; unknown keys are errors). Flags and SSRA_* env variables override it. Example: --config examples/ssra.yaml"
    ),
    Flag.optional
  ),
  data: Flag.Directory("data").pipe(
    Flag.withDescription("Dataset folder in the bundled layout. Example: --data data/kuake_qtr"),
    Flag.optional
  ),
  // the same data flags as `ssra data …`
  labeled: dataFlags.labeled,
  unlabeled: dataFlags.unlabeled,
  scale: dataFlags.scale,
  runDir: Flag.String("run-dir").pipe(
    Flag.withDescription(
      `Run directory (artifacts, manifest.json, model/, report/); rerunning with the same one resumes. Default ${PipelineConfig.defaults.runDir}. Example: --run-dir runs/kuake`
    ),
    Flag.optional
  ),
  seed: Flag.Int("seed").pipe(
    Flag.withDescription(
      `Seed of every random choice (recorded in the manifest). Default ${PipelineConfig.defaults.seed}. Example: --seed 7`
    ),
    Flag.optional
  ),
  shard: Flag.String("shard").pipe(
    Flag.withDescription(
      "Do only this machine's share of the generation chunks, 1-based i/n; then `ssra merge` the run directories and rerun without --shard. Example: --shard 2/4"
    ),
    Flag.optional
  ),
  splitTest: Flag.Finite("split-test").pipe(
    Flag.withDescription(
      "Hold out this share (0 < f < 1) of the labeled queries, split by query with the run's seed, as the test set: queries with >= evaluation.minCandidates judged candidates and two grades form the retrieval test, the other held-out rows the pair test. Test files in --data are then not read. Sets data.split.testFraction. Example: --split-test 0.2"
    ),
    Flag.optional
  ),
  skipInvalid: Flag.Boolean("skip-invalid").pipe(
    Flag.withDescription(
      "Skip invalid input rows (kept with reasons under <run-dir>/rejects/) instead of stopping. Example: --skip-invalid"
    ),
    Flag.withDefault(false)
  ),
  allowBom: dataFlags.allowBom,
  minCandidates: Flag.Int("min-candidates").pipe(
    Flag.withDescription(
      `Judged candidates a retrieval-test query needs to be evaluated (fewer: dropped; none left: an error before training). Sets evaluation.minCandidates. Default ${PipelineConfig.defaults.evaluation.minCandidates}. Example: --min-candidates 5`
    ),
    Flag.optional
  ),
  evaluation: Flag.Boolean("eval").pipe(
    Flag.withDescription(
      "--no-eval: train without any test set (no evaluation, every table n/a); without it a run with no test files and no --split-test stops before training. Sets evaluation.required. Example: --no-eval"
    ),
    Flag.optional
  ),
  allowNoSynthesis: Flag.Boolean("allow-no-synthesis").pipe(
    Flag.withDescription(
      "Run even when every training document is also a test document, so synthesis has nothing to write for (SSRA then equals the base model). Sets synthesis.allowEmpty. Example: --allow-no-synthesis"
    ),
    Flag.withDefault(false)
  ),
  llmBaseUrl: Flag.String("llm-base-url").pipe(
    Flag.withDescription(
      "OpenAI-compatible endpoint for the LLM-backed parts (`experiment`'s prompt-only system, documents.rewrite: llm, LLM query or score models in the config). Sets backends.llm.baseUrl. Example: --llm-base-url http://127.0.0.1:8000/v1"
    ),
    Flag.optional
  ),
  gguf: Flag.File("gguf").pipe(
    Flag.withDescription(
      "A local GGUF model run in-process by node-llama-cpp (optional: pnpm add node-llama-cpp@3.22.1) for every LLM-backed part (--score-model llm, --judge llm, prompt-only, documents.rewrite), instead of an endpoint. Sets backends.llm.gguf. Example: --gguf models/qwen2.5-7b-instruct-q4_k_m.gguf"
    ),
    Flag.optional
  ),
  llmModel: Flag.String("llm-model").pipe(
    Flag.withDescription("Model name at that endpoint. Example: --llm-model Qwen2.5-7B-Instruct"),
    Flag.optional
  ),
  llmTimeoutMs: Flag.Int("llm-timeout-ms").pipe(
    Flag.withDescription(
      "Per-request timeout of the LLM endpoint in milliseconds (default 120000). Sets backends.llm.timeoutMs. Example: --llm-timeout-ms 30000"
    ),
    Flag.optional
  ),
  llmPreset: Flag.String("llm-preset").pipe(
    Flag.withDescription(
      "Server preset: vllm, ollama, llamacpp-server, sglang, openai, ark, dashscope, deepseek. Example: --llm-preset ollama"
    ),
    Flag.optional
  ),
  scoreModel: Flag.Literals("score-model", ["embedded", "llm", "fine-tuned"] as const).pipe(
    Flag.withDescription(
      "The score model: embedded (trained here, CPU), llm (the LLM judge at --llm-base-url, few-shot) or fine-tuned (an LLM you fine-tune on the kit the run writes, served at --score-model-endpoint). Sets backends.scoreModel. Example: --score-model fine-tuned"
    ),
    Flag.optional
  ),
  queryModel: Flag.Literals("query-model", ["embedded", "fine-tuned"] as const).pipe(
    Flag.withDescription(
      "The query models (vanilla, v1, v2): embedded (trained here) or fine-tuned (LLMs you fine-tune on the kits the run writes, served at --query-model-v1-endpoint …). Sets backends.queryModel. Example: --query-model fine-tuned"
    ),
    Flag.optional
  ),
  judge: Flag.Literals("judge", ["score-model", "llm"] as const).pipe(
    Flag.withDescription(
      "Stage 2's pairwise consistency judge: the score model's expected grade, or the LLM at --llm-base-url (the paper). Sets stage2.judge. Example: --judge llm"
    ),
    Flag.optional
  ),
  scoreModelEndpoint: Flag.String("score-model-endpoint").pipe(
    Flag.withDescription(
      "OpenAI-compatible endpoint serving the fine-tuned score model, URL or URL#MODEL (default model: the only one its /models lists). Sets backends.external.scoreModel. Example: --score-model-endpoint http://127.0.0.1:8001/v1#score-sft"
    ),
    Flag.optional
  ),
  vanillaQueryModelEndpoint: Flag.String("vanilla-query-model-endpoint").pipe(
    Flag.withDescription(
      "Endpoint serving the vanilla SFT query model (experiment's vanilla-sft system), URL or URL#MODEL. Sets backends.external.vanilla. Example: --vanilla-query-model-endpoint http://127.0.0.1:8002/v1"
    ),
    Flag.optional
  ),
  queryModelV1Endpoint: Flag.String("query-model-v1-endpoint").pipe(
    Flag.withDescription(
      "Endpoint serving the fine-tuned query model v1 (Stage 1), URL or URL#MODEL. Sets backends.external.queryModelV1. Example: --query-model-v1-endpoint http://127.0.0.1:8003/v1"
    ),
    Flag.optional
  ),
  queryModelV2Endpoint: Flag.String("query-model-v2-endpoint").pipe(
    Flag.withDescription(
      "Endpoint serving the fine-tuned query model v2 (Stage 2), URL or URL#MODEL. Sets backends.external.queryModelV2. Example: --query-model-v2-endpoint http://127.0.0.1:8004/v1"
    ),
    Flag.optional
  ),
  sftBaseModel: Flag.String("sft-base-model").pipe(
    Flag.withDescription(
      "Base model the hand-off SFT kits fine-tune (a Hugging Face id or a local directory). Sets backends.external.baseModel. Example: --sft-base-model Qwen/Qwen3-4B"
    ),
    Flag.optional
  ),
  dryRun: Flag.Boolean("dry-run").pipe(
    Flag.withDescription(
      "Validate config and data and print the plan (stages, calls, LLM tokens/cost/time); do no work. Example: --dry-run"
    ),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print the result as JSON instead of tables. Example: --json"),
    Flag.withDefault(false)
  )
}

type RunInput = {
  readonly config: Option.Option<string>
  readonly data: Option.Option<string>
  readonly labeled: Option.Option<string>
  readonly unlabeled: Option.Option<string>
  readonly scale: Option.Option<1 | 2 | 3>
  readonly runDir: Option.Option<string>
  readonly seed: Option.Option<number>
  readonly shard: Option.Option<string>
  readonly splitTest: Option.Option<number>
  readonly skipInvalid: boolean
  readonly allowBom: boolean
  readonly minCandidates?: Option.Option<number>
  readonly evaluation?: Option.Option<boolean>
  readonly allowNoSynthesis?: boolean
  readonly llmBaseUrl: Option.Option<string>
  readonly llmModel: Option.Option<string>
  readonly gguf?: Option.Option<string>
  readonly llmPreset: Option.Option<string>
  readonly llmTimeoutMs?: Option.Option<number>
  readonly scoreModel?: Option.Option<"embedded" | "llm" | "fine-tuned">
  readonly queryModel?: Option.Option<"embedded" | "fine-tuned">
  readonly judge?: Option.Option<"score-model" | "llm">
  readonly scoreModelEndpoint?: Option.Option<string>
  readonly vanillaQueryModelEndpoint?: Option.Option<string>
  readonly queryModelV1Endpoint?: Option.Option<string>
  readonly queryModelV2Endpoint?: Option.Option<string>
  readonly sftBaseModel?: Option.Option<string>
  readonly dryRun: boolean
  readonly json: boolean
}

/**
 * `URL` or `URL#MODEL` → an endpoint section; a value that is no http(s) URL is a usage error naming the flag.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseEndpoint = (flag: string, text: string | undefined) =>
  Effect.gen(function* () {
    if (text === undefined) return undefined
    const hash = text.indexOf("#")
    const baseUrl = hash < 0 ? text : text.slice(0, hash)
    const model = hash < 0 ? undefined : text.slice(hash + 1)
    if (!/^https?:\/\/[^/\s]+/.test(baseUrl))
      return yield* usage(`--${flag} ${text} is not an http(s) URL`, `e.g. --${flag} http://127.0.0.1:8000/v1#MODEL`)
    if (model !== undefined && model.trim() === "")
      return yield* usage(`--${flag} ${text} names an empty model after #`, "drop the # or name the model")
    return { baseUrl, ...(model !== undefined ? { model } : {}) }
  })

/**
 * The resolved config of a command (defaults ← `base` ← file ← env ← flags).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveConfig = (input: RunInput, base?: unknown) => {
  const gguf = input.gguf && opt(input.gguf)
  const timeoutMs = input.llmTimeoutMs && opt(input.llmTimeoutMs)
  const llm =
    Option.isSome(input.llmBaseUrl) ||
    Option.isSome(input.llmModel) ||
    Option.isSome(input.llmPreset) ||
    gguf ||
    timeoutMs
      ? {
          llm: {
            baseUrl: opt(input.llmBaseUrl),
            model: opt(input.llmModel),
            preset: opt(input.llmPreset),
            gguf: gguf && path.resolve(gguf),
            timeoutMs
          }
        }
      : undefined
  return Effect.gen(function* () {
    const endpoints = [
      ["scoreModel", "score-model-endpoint", input.scoreModelEndpoint],
      ["vanilla", "vanilla-query-model-endpoint", input.vanillaQueryModelEndpoint],
      ["queryModelV1", "query-model-v1-endpoint", input.queryModelV1Endpoint],
      ["queryModelV2", "query-model-v2-endpoint", input.queryModelV2Endpoint]
    ] as const
    const external: Record<string, unknown> = { baseModel: input.sftBaseModel && opt(input.sftBaseModel) }
    for (const [key, flag, value] of endpoints) external[key] = yield* parseEndpoint(flag, value && opt(value))
    const anyExternal = Object.values(external).some((v) => v !== undefined)
    const config = yield* ConfigLoader.resolve({
      file: opt(input.config),
      env: process.env,
      base,
      flags: {
        runDir: opt(input.runDir),
        seed: opt(input.seed),
        data: {
          dir: opt(input.data),
          labeled: opt(input.labeled),
          unlabeled: opt(input.unlabeled),
          scale: opt(input.scale),
          skipInvalid: input.skipInvalid ? true : undefined,
          allowBom: input.allowBom ? true : undefined,
          split: Option.isSome(input.splitTest) ? { testFraction: input.splitTest.value } : undefined
        },
        backends: {
          ...llm,
          scoreModel: input.scoreModel && opt(input.scoreModel),
          queryModel: input.queryModel && opt(input.queryModel),
          ...(anyExternal ? { external } : {})
        },
        stage2: input.judge && Option.isSome(input.judge) ? { judge: input.judge.value } : undefined,
        evaluation: {
          minCandidates: input.minCandidates && opt(input.minCandidates),
          required: input.evaluation && opt(input.evaluation)
        },
        synthesis: input.allowNoSynthesis ? { allowEmpty: true } : undefined
      }
    })
    if (
      config.backends.llm !== undefined &&
      config.backends.llm.gguf === undefined &&
      (config.backends.llm.model === undefined || config.backends.llm.model === "")
    ) {
      return yield* usage(
        "backends.llm needs a model name",
        "pass --llm-model NAME or set backends.llm.model (or run a local GGUF: --gguf FILE)"
      )
    }
    if (config.data.dir === undefined && config.data.labeled === undefined) {
      return yield* usage(
        "no dataset given",
        "pass --data DIR (e.g. --data data/kuake_qtr) or set data.dir / data.labeled in the config file"
      )
    }
    yield* requireFiles(config.data)
    return config
  })
}

const shardOf = (input: RunInput) =>
  Effect.gen(function* () {
    const text = opt(input.shard)
    if (text === undefined) return undefined
    const shard = WorkUnits.parseShard(text)
    if (shard === undefined)
      return yield* usage(
        `--shard ${text} is not of the form i/n with 1 <= i <= n`,
        "e.g. --shard 1/2 on one machine and --shard 2/2 on the other"
      )
    return shard
  })

const printPlan = (
  config: PipelineConfig.Config,
  systems: ReadonlyArray<Pipeline.SystemName>,
  json: boolean,
  /** `--dry-run`: fail on a set-up error as the run would; `estimate` only prints it. */
  strict = true
) =>
  Effect.gen(function* () {
    const files = yield* Prepare.dataFiles(config)
    // a dry run writes nothing into the run directory: rows --skip-invalid rejects go to a temp folder, removed after
    const rejects = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-dry-run-"))
    const { dataset, split } = yield* Prepare.loadFiles(config, files, rejects).pipe(
      Effect.ensuring(Effect.sync(() => fs.rmSync(rejects, { recursive: true, force: true })))
    )
    const logprobs = yield* planLogprobs(config)
    const plan = Plan.make(config, dataset, systems, logprobs)
    const problems = [
      ...Plan.unusedEndpoints(config, systems),
      ...unsetKeys(config),
      ...Plan.check(config, dataset, systems)
    ]
    if (json) {
      yield* Console.log(
        JSON.stringify(
          {
            config,
            systems,
            plan,
            totals: Plan.totals(plan),
            logprobs: logprobs ?? null,
            split: split?.summary ?? null,
            warnings: [
              ...Inputs.warnings(dataset),
              ...problems.filter((p) => p.level === "warning").map((p) => p.message)
            ],
            errors: problems.filter((p) => p.level === "error")
          },
          null,
          2
        )
      )
      return yield* failOn(strict ? problems : [])
    }
    yield* Console.log(
      `dry run: nothing will be written. Config (defaults ← file ← env ← flags):\n${JSON.stringify(config, null, 2)}\n`
    )
    yield* Console.log(
      `data: ${dataset.labeled.length} labeled, ${dataset.unlabeled.length} unlabeled, ${dataset.retrievalTest.length} retrieval-test, ${dataset.pairTest.length} pair-test rows; grades 0..${dataset.scale.max}`
    )
    if (split !== undefined) {
      const t = split.summary
      yield* Console.log(
        `split (seed ${t.seed}, test fraction ${t.testFraction}): ${t.trainQueries} training queries (${t.trainRows} rows) | ${t.testQueries} held-out queries (${t.testRows} rows) → retrieval test ${t.retrievalQueries} queries with >= ${t.minCandidates} candidates, pair test ${t.pairRows} rows (${t.pairs})${split.replaced.length > 0 ? `; not read: ${split.replaced.join(", ")}` : ""}`
      )
    }
    if (logprobs !== undefined) yield* Console.log(logprobsLine(logprobs))
    for (const w of Inputs.warnings(dataset)) yield* Console.log(`warning: ${w}`)
    for (const p of problems)
      yield* Console.log(`${p.level}: ${p.message}${p.hint !== undefined ? `\n  → ${p.hint}` : ""}`)
    yield* Console.log(
      `\nsystems: ${systems.join(", ")}\n\n| stage | backend | work | model calls | LLM tokens (prompt/completion) | cost | time at the configured rate | note |\n|---|---|---|---|---|---|---|---|`
    )
    for (const s of plan) {
      const e = s.estimate
      yield* Console.log(
        `| ${s.stage} | ${s.backend} | ${s.work} | ${s.upTo !== undefined && s.upTo > s.calls ? `${s.calls} (≤ ${s.upTo})` : s.calls} | ${e ? `${e.promptTokens}/${e.completionTokens}` : "-"} | ${e ? usd(e.cost) : "-"} | ${e ? Duration.human(e.seconds) : "-"} | ${s.note ?? ""} |`
      )
    }
    const total = Plan.totals(plan)
    if (total.llmCalls > 0)
      yield* Console.log(
        `| **total (LLM)** | llm | | ${total.llmCallsUpTo > total.llmCalls ? `${total.llmCalls} (≤ ${total.llmCallsUpTo})` : total.llmCalls} | ${total.promptTokens}/${total.completionTokens} | ${usd(total.cost)} | ${Duration.human(total.seconds)} | ${config.backends.llm?.maxCostUsd !== undefined && total.cost > config.backends.llm.maxCostUsd ? `over the budget cap maxCostUsd ${config.backends.llm.maxCostUsd} USD` : ""} |`
      )
    return yield* failOn(strict ? problems : [])
  })

/**
 * With an LLM judge, whether the backend returns logprobs decides the calls per grading: the config's or preset's
 * word, else one tiny probe request to the endpoint (the only thing a dry run sends).
 */
const planLogprobs = (config: PipelineConfig.Config) =>
  config.backends.scoreModel === "llm" && config.backends.llm !== undefined
    ? Backends.logprobsOf(config.backends.llm)
    : Effect.succeed(undefined)

const logprobsLine = (l: Backends.Logprobs) =>
  `LLM logprobs: ${l.value ? "returned (1 call per grading)" : "not returned (the judge samples)"} — ${
    l.source === "probe"
      ? "the endpoint answered one probe request"
      : l.source === "assumed"
        ? `assumed (${l.detail ?? "no answer"}): set backends.llm.logprobs to say`
        : `from the ${l.source === "gguf" ? "local GGUF backend" : l.source}`
  }`

const usd = (cost: number) => `${cost.toFixed(2)} USD`

/** A dry run prints everything, then fails on the first set-up error, as the run would before training. */
const failOn = (problems: ReadonlyArray<Plan.SetupProblem>) => {
  const error = problems.find((p) => p.level === "error")
  return error === undefined
    ? Effect.void
    : Effect.fail(
        new PipelineError.PipelineError({
          reason: "input",
          stage: "prepare",
          detail: error.message,
          ...(error.hint !== undefined ? { hint: error.hint } : {})
        })
      )
}

/** Endpoints given that no stage uses: said before any work, on stderr (stdout may be a --json document). */
const warnUnused = (config: PipelineConfig.Config, systems: ReadonlyArray<Pipeline.SystemName>) =>
  Effect.forEach(
    [...Plan.unusedEndpoints(config, systems), ...unsetKeys(config)],
    (p) => Console.error(`warning: ${p.message}`),
    { discard: true }
  )

/** An `apiKeyEnv` naming an unset variable sends no key at all: say so (a preset that needs one fails later). */
const unsetKeys = (config: PipelineConfig.Config): Array<Plan.SetupProblem> => {
  const named: Array<[string, string | undefined]> = [
    ["backends.llm.apiKeyEnv", config.backends.llm?.apiKeyEnv],
    ...Object.entries(config.backends.external ?? {}).map(([k, v]): [string, string | undefined] => [
      `backends.external.${k}.apiKeyEnv`,
      typeof v === "object" && v !== null ? (v as { apiKeyEnv?: string }).apiKeyEnv : undefined
    ])
  ]
  return named
    .filter(([, env]) => env !== undefined && (process.env[env] ?? "") === "")
    .map(([key, env]) => ({
      level: "warning",
      message: `${key} names $${env}, which is not set: requests go out without an API key (export ${env}=… if the endpoint needs one)`
    }))
}

interface ManifestSummary {
  readonly inputs?: Array<{ kind: string; rejected?: number }>
  readonly totals?: { llmCalls: number; promptTokens: number; completionTokens: number; costUsd: number }
  readonly llmCumulative?: { invocations: number; calls: number; costUsd: number }
  readonly llm?: {
    readonly traffic?: { readonly excluded?: ReadonlyArray<{ stage: string; items: number; error: string }> }
  }
}

const readManifest = (manifestFile: string): ManifestSummary => {
  try {
    return JSON.parse(fs.readFileSync(manifestFile, "utf8")) as ManifestSummary
  } catch {
    return {}
  }
}

const skippedRows = (manifest: ManifestSummary): Array<{ readonly kind: string; readonly rejected: number }> =>
  (manifest.inputs ?? []).filter((i) => (i.rejected ?? 0) > 0).map((i) => ({ kind: i.kind, rejected: i.rejected! }))

/** The run's time over every invocation (this one only when the result does not say). */
const runTime = (result: Pipeline.RunResult) => ({
  seconds: Math.round((result.timeSpent?.durationMs ?? result.durationMs) / 100) / 10,
  invocations: result.timeSpent?.invocations ?? 1
})

const finish = (result: Pipeline.RunResult, json: boolean) =>
  Effect.gen(function* () {
    if (json) {
      yield* Console.log(
        JSON.stringify(
          {
            runDir: result.runDir,
            report: result.reportFiles,
            manifest: result.manifestFile,
            // the report's time: this invocation up to the report, and the run's over every invocation
            seconds: Math.round(result.durationMs / 100) / 10,
            run: runTime(result),
            skipped: skippedRows(readManifest(result.manifestFile)),
            llm: (() => {
              const m = readManifest(result.manifestFile)
              return m.llmCumulative === undefined ? null : { invocation: m.totals ?? null, run: m.llmCumulative }
            })(),
            systems: result.rows.map((r) => ({
              system: r.system,
              status: r.status,
              note: r.note ?? null,
              metrics: { ...(r.retrieval?.ssra.metrics ?? {}), ...(r.pairs?.ssra.metrics ?? {}) }
            }))
          },
          null,
          2
        )
      )
      return
    }
    yield* Console.log(result.reportMarkdown)
    yield* Console.log(
      `report:   ${result.reportFiles[0]} (also ${path.basename(result.reportFiles[1]!)}, ${path.basename(result.reportFiles[2]!)})`
    )
    yield* Console.log(`model:    ${path.join(result.runDir, "model")}   (serve it: ssra serve --run ${result.runDir})`)
    yield* Console.log(`manifest: ${result.manifestFile}`)
    const manifest = readManifest(result.manifestFile)
    // what the LLM cost, this invocation and the whole run (reruns pay only for new calls)
    const spend = manifest.llmCumulative
    if (spend !== undefined && manifest.totals !== undefined)
      yield* Console.log(
        `LLM:      ${manifest.totals.llmCalls} calls, ${manifest.totals.promptTokens}/${manifest.totals.completionTokens} tokens, ${manifest.totals.costUsd.toFixed(4)} USD this time; ${spend.calls} calls, ${spend.costUsd.toFixed(4)} USD over ${spend.invocations} invocation(s) of this run`
      )
    // items the LLM failed for good within backends.llm.maxFailedFraction: the run is complete without them
    for (const e of manifest.llm?.traffic?.excluded ?? [])
      yield* Console.log(
        `warning:  ${e.items} item(s) of ${e.stage} left out: the LLM failed them for good (${e.error.length > 160 ? `${e.error.slice(0, 160)}…` : e.error}). Within backends.llm.maxFailedFraction, so the results above are without them; rerun the same command to retry just those items.`
      )
    // rows --skip-invalid dropped are easy to miss in the progress lines: repeat them here
    const skipped = skippedRows(manifest)
    if (skipped.length > 0)
      yield* Console.log(
        `skipped:  ${skipped.map((s) => `${s.rejected} invalid rows of ${s.kind}`).join(", ")} (reasons in ${path.join(result.runDir, "rejects")})`
      )
    const run = runTime(result)
    yield* Console.log(
      `time:     ${(result.durationMs / 1000).toFixed(1)} s (as in the report: from start to the report)${run.invocations > 1 ? `; ${run.seconds.toFixed(1)} s over ${run.invocations} invocations of this run` : ""}`
    )
  })

const execute = (input: RunInput, systems: ReadonlyArray<Pipeline.SystemName>, base?: unknown, title?: string) =>
  Effect.gen(function* () {
    const config = yield* resolveConfig(input, base)
    const shard = yield* shardOf(input)
    if (input.dryRun) return yield* printPlan(config, systems, input.json)
    yield* warnUnused(config, systems)
    const result = yield* Pipeline.run({ config, systems, shard, ...(title !== undefined ? { title } : {}) })
    yield* finish(result, input.json)
  })

const run = Command.make("run", runFlags, (input) => execute(input, ["base", "ssra"])).pipe(
  Command.withDescription(
    "Run the SSRA loop on a dataset: prepare → base model → score model → stage 1 → stage 2 → synthesis → embedding model → evaluation, and write the report comparing SSRA with the base model. Every stage is a content-addressed artifact: rerunning the same command resumes after a crash or kill."
  ),
  Command.withExamples([
    { command: "ssra run --data data/kuake_qtr --run-dir runs/kuake", description: "Full loop with embedded models" },
    { command: "ssra run --config examples/ssra.yaml --dry-run", description: "Check config and data, print the plan" },
    {
      command: "ssra run --config examples/ssra.yaml --shard 1/2",
      description: "This machine's half of the generation work"
    }
  ])
)

const experiment = Command.make("experiment", runFlags, (input) =>
  execute(input, Pipeline.systems, undefined, "SSRA experiment")
).pipe(
  Command.withDescription(
    "The paper's comparison on one dataset with the same data and seeds: base (labeled only), prompt-only synthesis (needs an LLM backend), vanilla SFT (the embedded query model on labeled data), SSRA, SSRA without stage 2, without stages 1 and 2, and binary {0,max} vs multi-grade training data — tables shaped like the paper's Tables 3–6 with 95% paired-bootstrap intervals."
  ),
  Command.withExamples([
    { command: "ssra experiment --data data/qbqtc --run-dir runs/qbqtc-exp", description: "All systems on QBQTC" },
    {
      command: "ssra experiment --data data/kuake_qtr --llm-base-url http://127.0.0.1:8000/v1 --llm-model qwen",
      description: "Include prompt-only synthesis through a vLLM server"
    }
  ])
)

const demo = Command.make(
  "demo",
  {
    data: Flag.Directory("data").pipe(
      Flag.withDescription("Bundled set to sample (default data/kuake_qtr, the 0–3 set). Example: --data data/qbqtc"),
      Flag.optional
    ),
    runDir: Flag.String("run-dir").pipe(
      Flag.withDescription("Where the demo writes (default runs/demo-<set>). Example: --run-dir /tmp/demo"),
      Flag.optional
    ),
    json: runFlags.json
  },
  (input) =>
    Effect.gen(function* () {
      // The bundled data: relative to the working directory, else to this file (apps/cli/{src,dist}/ → repo root).
      const bundled = [
        path.join("data", "kuake_qtr"),
        path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../data/kuake_qtr")
      ]
      const dataDir =
        opt(input.data) ?? bundled.find((d) => fs.existsSync(path.join(d, "labeled.jsonl"))) ?? bundled[0]!
      if (!fs.existsSync(path.join(dataDir, "labeled.jsonl"))) {
        return yield* usage(
          `${dataDir} has no labeled.jsonl`,
          "run the demo from the repository root, or pass --data data/qbqtc"
        )
      }
      const runDir = opt(input.runDir) ?? path.join("runs", `demo-${path.basename(path.resolve(dataDir))}`)
      const config = yield* ConfigLoader.resolve({ base: PipelineConfig.demo(dataDir, runDir) })
      yield* Console.log(
        `ssra demo: ${dataDir} (seeded sample), embedded models, no network — full SSRA loop + baseline comparison\n`
      )
      const result = yield* Pipeline.run({
        config,
        systems: Pipeline.systems,
        title: `SSRA demo — ${path.basename(path.resolve(dataDir))} sample`
      })
      yield* finish(result, input.json)
    })
).pipe(
  Command.withDescription(
    "README command 1: the whole loop and the baseline comparison on a seeded sample of a bundled set with the embedded (CPU, no key, no server) models. Prints the tables and the report's path; rerunning reuses finished stages."
  ),
  Command.withExamples([
    { command: "ssra demo", description: "Quark medical sample (grades 0–3)" },
    { command: "ssra demo --data data/qbqtc", description: "QBQTC sample (grades 0–2: AP≥3 is n/a)" }
  ])
)

// estimate never runs anything: --dry-run and --shard mean nothing to it
const { dryRun: _dryRun, shard: _shard, ...estimateFlags } = runFlags

const estimate = Command.make("estimate", estimateFlags, (input) =>
  Effect.gen(function* () {
    const config = yield* resolveConfig({ ...input, dryRun: true, shard: Option.none() })
    yield* printPlan(config, Pipeline.systems, input.json, false)
  })
).pipe(
  Command.withDescription(
    "Before spending anything: the model calls of every stage, and for LLM-backed stages the prompt/completion tokens, cost (from the config's prices) and time at the configured requests/second, estimated from this dataset's real prompts. Sends nothing, except one tiny probe request when neither backends.llm.logprobs nor the preset says whether the LLM endpoint returns logprobs."
  ),
  Command.withExamples([
    {
      command: "ssra estimate --config examples/ssra.yaml",
      description: "Calls, tokens, cost and time of an experiment"
    }
  ])
)

const merge = Command.make(
  "merge",
  {
    into: Flag.String("into").pipe(
      Flag.withDescription("The run directory to complete (created if missing). Example: --into runs/full")
    ),
    from: Flag.String("from").pipe(
      Flag.withDescription(
        "A shard's run directory; repeat for each shard. Example: --from runs/shard1 --from runs/shard2"
      ),
      Flag.atLeast(1)
    )
  },
  (input) =>
    Effect.gen(function* () {
      const { copied } = yield* WorkUnits.mergeRuns(input.into, input.from)
      yield* Console.log(
        `merged ${input.from.length} shard run(s) into ${input.into}: ${copied} files copied. Now rerun the same command without --shard and with --run-dir ${input.into}.`
      )
    })
).pipe(
  Command.withDescription(
    "Join sharded runs: copies every finished artifact and committed generation chunk the target lacks (content-addressed, nothing is overwritten)."
  ),
  Command.withExamples([
    {
      command: "ssra merge --into runs/full --from runs/s1 --from runs/s2",
      description: "After `ssra run --shard 1/2` and `--shard 2/2`"
    }
  ])
)

const stageNames = ["prepare", "score-model", "stage1", "stage2", "synthesis", "train", "evaluate"] as const

const stage = Command.make(
  "stage",
  {
    ...runFlags,
    name: Flag.Literals("name", stageNames).pipe(
      Flag.withDescription(
        `Run the pipeline up to and including this stage (${stageNames.join(", ")}); earlier stages are reused when complete. Example: --name stage1`
      )
    )
  },
  (input) =>
    Effect.gen(function* () {
      const started = performance.now()
      const config = yield* resolveConfig(input)
      const shard = yield* shardOf(input)
      if (input.dryRun) return yield* printPlan(config, ["base", "ssra"], input.json)
      yield* warnUnused(config, ["base", "ssra"])
      const result = yield* Pipeline.run({ config, systems: ["base", "ssra"], shard, until: input.name })
      yield* Console.log(
        `stage ${input.name} complete in ${((performance.now() - started) / 1000).toFixed(1)} s; artifacts under ${path.join(result.runDir, "artifacts")}, manifest ${result.manifestFile}`
      )
    })
).pipe(
  Command.withDescription("Run one stage of the loop (and whatever it needs that is not already complete)."),
  Command.withExamples([
    {
      command: "ssra stage --name score-model --data data/qbqtc --run-dir runs/q",
      description: "Train and evaluate only the score model"
    }
  ])
)

/**
 * The run commands. They call model endpoints through the `HttpClient` the program provides (`main.ts`).
 *
 * @since 0.1.0
 * @category commands
 */
export const commands: ReadonlyArray<Command.Command<any, any, any, unknown, HttpClient.HttpClient>> = [
  run,
  experiment,
  demo,
  estimate,
  merge,
  stage
]
