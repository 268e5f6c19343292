/**
 * `ssra export`: hands a finished run's data to the engines teams use on GPUs — the embedding training set as
 * sentence-transformers or FlagEmbedding rows or a Qwen3-Embedding LoRA launch kit (negatives: the query's own
 * lower-graded documents, then hard negatives mined with the run's dual encoder, then random), the query model's
 * and the score model's SFT data as chat JSONL or as SFT launch kits (train, then serve as an OpenAI-compatible
 * endpoint), and OpenAI Batch API input files for LLM synthesis.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Document, Grade, Hash, Jsonl, Pair, SyntheticQuery, TrainingRow } from "@ssra/core"
import { DualEncoder, Export } from "@ssra/embedding"
import { BatchJobs, SftKit } from "@ssra/llm"
import { Artifact, Pipeline, PipelineError, Synthesis } from "@ssra/pipeline"
import { PromptQueryModel, SftData } from "@ssra/query-model"
import { Sft } from "@ssra/score-model"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { usage } from "./ExitCode.js"

const formats = [
  "sentence-transformers",
  "flag-embedding",
  "launch-kit",
  "sft-query",
  "sft-score",
  "sft-kit-query",
  "sft-kit-score",
  "batch"
] as const

const stages = ["vanilla", "stage1", "stage2"] as const

/** The highest grade of the labeled pairs, as a scale. */
const scaleOf = (labeled: ReadonlyArray<Pair.LabeledPair>) =>
  Grade.scale(Math.min(3, Math.max(1, ...labeled.map((p) => p.label))) as 1 | 2 | 3)

const latest = (runDir: string, stage: string) =>
  Effect.gen(function* () {
    const found = Artifact.find(runDir, stage)
    if (found.length === 0) {
      return yield* PipelineError.make("input", `${runDir} has no complete ${stage} artifact`, {
        hint: `run the pipeline first (ssra run/experiment --run-dir ${runDir}); the stage must have finished`
      })
    }
    return found[0]!
  })

/**
 * The query-model SFT set of one data variant, built from the run's artifacts with `SftData`'s builders:
 * `vanilla` from the prepared labeled pairs, `stage1` from Stage 1's D2Q set (which already holds the
 * de-duplicated labeled pairs), `stage2` from that plus Stage 2's candidates the filters kept. Without a choice,
 * the latest stage the run has.
 */
const queryModelSet = (
  runDir: string,
  labeled: ReadonlyArray<Pair.LabeledPair>,
  wanted: (typeof stages)[number] | undefined
) =>
  Effect.gen(function* () {
    const stage2 = Artifact.find(runDir, "stage2")[0]
    const stage1s = Artifact.find(runDir, "stage1")
    const chosen = wanted ?? (stage2 !== undefined ? "stage2" : stage1s.length > 0 ? "stage1" : "vanilla")
    if (chosen === "vanilla") {
      return { stage: chosen, set: SftData.vanilla(labeled), description: "the labeled pairs (vanilla SFT)" }
    }
    const readD2Q = (dir: string) => Jsonl.readAll(path.join(dir, "d2q.jsonl"), Pair.D2QGroup)
    if (chosen === "stage1") {
      const source = yield* latest(runDir, "stage1")
      return {
        stage: chosen,
        set: SftData.stage1(yield* readD2Q(source.dir), []),
        description: "Stage 1's D2Q set (re-annotated click log + de-duplicated labeled pairs)"
      }
    }
    const s2 = yield* latest(runDir, "stage2")
    if (stage1s.length === 0) yield* latest(runDir, "stage1")
    // the Stage 1 set this Stage 2 was built on: the stage1 artifact whose D2Q hash Stage 2 recorded as its input
    const recorded = s2.record.inputs.find((i) => i.name === "stage1")?.sha256
    let d2q: ReadonlyArray<Pair.D2QGroup> | undefined
    for (const candidate of stage1s) {
      const groups = yield* readD2Q(candidate.dir)
      if (recorded === undefined || Hash.hashValue(groups) === recorded) {
        d2q = groups
        break
      }
    }
    d2q ??= yield* readD2Q(stage1s[0]!.dir)
    const candidates = yield* Jsonl.readAll(path.join(s2.dir, "candidates.jsonl"), SyntheticQuery.SyntheticQuery, {
      allowEmpty: true
    })
    return {
      stage: chosen,
      set: SftData.stage2(SftData.stage1(d2q, []), candidates),
      description: "Stage 1's D2Q set + Stage 2's filtered survivors"
    }
  })

/** The flags `ssra export` parses, as its handler sees them. */
interface ExportInput {
  readonly run: string
  readonly format: (typeof formats)[number]
  readonly out: string
  readonly system: (typeof Pipeline.systems)[number]
  readonly mineWith: "trained" | "base" | "none"
  readonly weights: "none" | "repeat"
}

/**
 * The dual encoder that mines hard negatives for an embedding export: none, the exported system's own trained
 * model, or the base system's.
 */
const minerOf = (
  runDir: string,
  system: string,
  mineWith: ExportInput["mineWith"],
  artifact: { readonly dir: string; readonly record: Artifact.ArtifactRecord }
) =>
  Effect.gen(function* () {
    const miner =
      mineWith === "none"
        ? undefined
        : mineWith === "trained" || system === "base"
          ? artifact
          : yield* latest(runDir, "train:base")
    const mining =
      miner === undefined
        ? undefined
        : {
            model: yield* DualEncoder.load(path.join(miner.dir, "model")).pipe(
              Effect.mapError((e) =>
                PipelineError.make("input", `cannot load ${miner.record.stage}'s model to mine with: ${e.message}`, {
                  hint: "pass --mine-with none to export without mined negatives"
                })
              )
            )
          }
    const minedBy = miner === undefined ? "no mining" : `mined with ${miner.record.stage}'s model`
    return { mining, minedBy }
  })

/** `--format sentence-transformers | flag-embedding | launch-kit`: a system's embedding training set. */
const exportEmbedding = (
  input: ExportInput,
  format: "sentence-transformers" | "flag-embedding" | "launch-kit",
  model: string | undefined
) =>
  Effect.gen(function* () {
    const runDir = input.run
    const system = input.system === "ssra-no-stage1-2" ? "vanilla-sft" : input.system
    const stage = `train:${system}`
    const artifact = yield* latest(runDir, stage)
    const rows = yield* Jsonl.readAll(path.join(artifact.dir, "rows.jsonl"), TrainingRow.TrainingRow)
    const { mining, minedBy } = yield* minerOf(runDir, system, input.mineWith, artifact)
    if (format === "launch-kit") {
      const kit = yield* Export.launchKit(input.out, {
        rows,
        mining,
        ...(model !== undefined ? { config: { model } } : {})
      })
      yield* Console.log(
        `wrote launch kit ${kit.dir} from ${stage} (${kit.data.rows} rows; negatives ${JSON.stringify(kit.data.negatives)}, ${minedBy}): ${kit.files.join(", ")}\n  train: ${kit.trainCommand}`
      )
      return
    }
    const summary = yield* format === "sentence-transformers"
      ? Export.sentenceTransformers(rows, input.out, { mining })
      : Export.flagEmbedding(rows, input.out, { mining, weights: input.weights })
    yield* Console.log(`wrote ${input.out} (${format}) from ${stage}, ${minedBy}: ${JSON.stringify(summary)}`)
  })

/** `--format sft-kit-query | sft-kit-score`: an SFT launch kit for the query or the score model. */
const exportSftKit = (
  runDir: string,
  format: "sft-kit-query" | "sft-kit-score",
  out: string,
  model: string | undefined,
  wanted: (typeof stages)[number] | undefined
) =>
  Effect.gen(function* () {
    const prepared = yield* latest(runDir, "prepare")
    const labeled = yield* Jsonl.readAll(path.join(prepared.dir, "labeled.jsonl"), Pair.LabeledPair)
    const scale = scaleOf(labeled)
    let rows: ReadonlyArray<SftKit.ChatRow>
    let what: string
    let variant: SftKit.SftVariant | undefined
    if (format === "sft-kit-score") {
      rows = labeled.map((p) => Sft.scoreRow(scale, p))
      what = "score-model SFT: the labeled pairs"
    } else {
      const chosen = yield* queryModelSet(runDir, labeled, wanted)
      rows = chosen.set.examples.map((e) => SftData.toChat(e, scale))
      variant = chosen.stage === "vanilla" ? "vanilla" : chosen.stage === "stage1" ? "v1" : "v2"
      what = `query-model SFT, ${chosen.stage}: ${chosen.description}`
    }
    const kit = yield* SftKit.write(out, {
      task: format === "sft-kit-query" ? "query-model" : "score-model",
      ...(variant !== undefined ? { variant } : {}),
      rows,
      ...(model !== undefined ? { config: { model } } : {})
    })
    yield* Console.log(
      `wrote SFT kit ${kit.dir} (${kit.rows} chat rows, ${what}): ${kit.files.join(", ")}\n  train: ${kit.trainCommand}\n  serve: ${kit.serveCommand}  → ${kit.endpoint.baseUrl}, model ${kit.endpoint.model}`
    )
  })

/** `--format sft-query`: the query model's SFT data as chat JSONL. */
const exportSftQuery = (runDir: string, out: string) =>
  Effect.gen(function* () {
    const stage2 = Artifact.find(runDir, "stage2")[0]
    const source = stage2 ?? (yield* latest(runDir, "stage1"))
    const d2q = yield* Jsonl.readAll(path.join(source.dir, "d2q.jsonl"), Pair.D2QGroup)
    const set = SftData.stage1(d2q, [])
    const written = yield* SftData.writeChatJsonl(set, out)
    yield* Console.log(
      `wrote ${written.rows} chat rows to ${out} (query-model SFT: ${stage2 ? "stage 1 D2Q + stage 2 survivors" : "stage 1 D2Q"})`
    )
  })

/** `--format sft-score`: the score model's SFT data as chat JSONL. */
const exportSftScore = (runDir: string, out: string) =>
  Effect.gen(function* () {
    const prepared = yield* latest(runDir, "prepare")
    const labeled = yield* Jsonl.readAll(path.join(prepared.dir, "labeled.jsonl"), Pair.LabeledPair)
    const max = Math.max(1, ...labeled.map((p) => p.label)) as 1 | 2 | 3
    const written = yield* Sft.exportScoreSft(labeled, out, { scale: { max } })
    yield* Console.log(`wrote ${written.rows} chat rows to ${out} (score-model SFT, prompt ${written.promptVersion})`)
  })

/** `--format batch`: OpenAI Batch API input for prompt-only synthesis over the run's synthesis documents. */
const exportBatch = (runDir: string, out: string, model: string | undefined) =>
  Effect.gen(function* () {
    if (model === undefined)
      return yield* usage("--format batch needs --model (the model the batch runs on)", "e.g. --model gpt-4o-mini")
    const prepared = yield* latest(runDir, "prepare")
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as {
      config: {
        synthesis: { documents: number; gradePlan: Record<string, number>; perDocument: number }
        seed: number
      }
    }
    const file = (name: string) => path.join(prepared.dir, name)
    const labeled = yield* Jsonl.readAll(file("labeled.jsonl"), Pair.LabeledPair, { allowEmpty: true })
    const unlabeled = yield* Jsonl.readAll(file("unlabeled.jsonl"), Pair.UnlabeledPair, { allowEmpty: true })
    const retrievalTest = yield* Jsonl.readAll(file("retrieval_test.jsonl"), Pair.LabeledPair, {
      allowEmpty: true
    })
    const pairTest = yield* Jsonl.readAll(file("pair_test.jsonl"), Pair.LabeledPair, { allowEmpty: true })
    const documents = yield* Jsonl.readAll(file("documents.jsonl"), Document.Document)
    const max = Math.max(1, ...labeled.map((p) => p.label)) as 1 | 2 | 3
    const docs = Synthesis.documentsFor(
      { labeled, unlabeled, retrievalTest, pairTest },
      new Map(documents.map((d) => [d.id, d])),
      manifest.config.synthesis.documents,
      manifest.config.seed
    )
    const grades = Object.entries(manifest.config.synthesis.gradePlan)
      .filter(([g, s]) => s > 0 && Number(g) <= max)
      .map(([g]) => Number(g) as 0 | 1 | 2 | 3)
    const items = docs.flatMap((d) =>
      grades.map((g) => ({
        customId: `${d.id}/${g}`,
        request: {
          messages: PromptQueryModel.messages(
            { document: d, targetGrade: g, n: manifest.config.synthesis.perDocument },
            { max }
          ),
          temperature: 0.9,
          maxTokens: 128
        }
      }))
    )
    const written = yield* BatchJobs.writeInput(out, { model }, items)
    yield* Console.log(
      `wrote ${written.rows} batch requests to ${out} (OpenAI Batch API input; upload with ssra's @ssra/llm BatchJobs or the provider's CLI)`
    )
  })

const command_ = Command.make(
  "export",
  {
    run: Flag.Directory("run").pipe(
      Flag.withDescription("A finished run directory. Example: --run runs/demo-kuake_qtr")
    ),
    format: Flag.Literals("format", formats).pipe(
      Flag.withDescription(
        "sentence-transformers (anchor/positive/negative_i/score rows; score = the grade weight, used by python/ssra_kits/weighted_loss.py's GradeWeightedMultipleNegativesRankingLoss, ignored by plain MultipleNegativesRankingLoss), flag-embedding (query/pos/neg rows, no scores; see --weights), launch-kit (directory: train.jsonl, config.json, train_embedding.py, encode.py, launch.sh for torchrun + LoRA, requirements.txt, README.md), sft-query (query-model chat JSONL: D2Q + stage-2 survivors), sft-score (score-model chat JSONL), sft-kit-query / sft-kit-score (directory: an SFT launch kit for the query / score model: train.jsonl, sft_config.json, sft_train.py, ds_zero2.json, launch.sh, serve.sh, requirements.txt, README.md), batch (OpenAI Batch input for prompt-only synthesis). Example: --format flag-embedding"
      )
    ),
    out: Flag.String("out").pipe(
      Flag.withAlias("o"),
      Flag.withDescription(
        "Output file (a directory for launch-kit, sft-kit-query, sft-kit-score: written atomically; an earlier kit there is replaced, anything else is refused). Example: --out train.jsonl"
      )
    ),
    system: Flag.Literals("system", Pipeline.systems).pipe(
      Flag.withDescription("Whose training set to export (embedding formats). Example: --system ssra"),
      Flag.withDefault("ssra" as const)
    ),
    model: Flag.String("model").pipe(
      Flag.withDescription(
        "Model written into batch requests, or the base model a kit fine-tunes (a hub id or a local directory; launch-kit default Qwen/Qwen3-Embedding-0.6B, sft-kit-* default Qwen/Qwen3-4B). Example: --model Qwen/Qwen3-Embedding-0.6B"
      ),
      Flag.optional
    ),
    stage: Flag.Literals("stage", stages).pipe(
      Flag.withDescription(
        "sft-kit-query only: which query-model SFT data — vanilla (the labeled pairs: the vanilla-SFT baseline), stage1 (Stage 1's D2Q set: score-model re-annotated click log + de-duplicated labeled pairs, query model v1), stage2 (Stage 1 + Stage 2's filtered survivors, query model v2). Default: the latest the run has. Example: --stage stage1"
      ),
      Flag.optional
    ),
    mineWith: Flag.Literals("mine-with", ["trained", "base", "none"] as const).pipe(
      Flag.withDescription(
        "Embedding formats: the dual encoder that mines hard negatives (after the query's own lower-graded documents, before random ones) — trained (the --system's trained model), base (the base system's), none. Example: --mine-with base"
      ),
      Flag.withDefault("trained" as const)
    ),
    weights: Flag.Literals("weights", ["none", "repeat"] as const).pipe(
      Flag.withDescription(
        "flag-embedding only: FlagEmbedding has no per-row loss weight (pos_scores/neg_scores are distillation targets, read only with --knowledge_distillation), so none writes each row once, unweighted; repeat writes a row ≈ w/w_max × 3 times (seeded), the only way its loss sees the grades. Example: --weights repeat"
      ),
      Flag.withDefault("none" as const)
    )
  },
  (input) =>
    Effect.gen(function* () {
      const model = Option.getOrUndefined(input.model)
      if (input.weights === "repeat" && input.format !== "flag-embedding")
        return yield* usage(
          `--weights repeat is for --format flag-embedding, not ${input.format}`,
          "sentence-transformers rows and the launch kit carry the weight in their score column"
        )
      if (Option.isSome(input.stage) && input.format !== "sft-kit-query")
        return yield* usage(
          `--stage is for --format sft-kit-query, not ${input.format}`,
          "it picks the query model's SFT data variant"
        )
      switch (input.format) {
        case "sentence-transformers":
        case "flag-embedding":
        case "launch-kit":
          return yield* exportEmbedding(input, input.format, model)
        case "sft-kit-query":
        case "sft-kit-score":
          return yield* exportSftKit(input.run, input.format, input.out, model, Option.getOrUndefined(input.stage))
        case "sft-query":
          return yield* exportSftQuery(input.run, input.out)
        case "sft-score":
          return yield* exportSftScore(input.run, input.out)
        case "batch":
          return yield* exportBatch(input.run, input.out, model)
      }
    })
).pipe(
  Command.withDescription("Export a finished run's training data for GPU trainers and LLM fine-tuning / batch APIs."),
  Command.withExamples([
    {
      command: "ssra export --run runs/demo-kuake_qtr --format flag-embedding --out train.jsonl",
      description: "FlagEmbedding rows of the SSRA training set"
    },
    {
      command: "ssra export --run runs/demo-kuake_qtr --format launch-kit --out kit/ --model Qwen/Qwen3-Embedding-0.6B",
      description: "A torchrun LoRA launch kit"
    },
    {
      command: "ssra export --run runs/demo-kuake_qtr --format sft-query --out qm-sft.jsonl",
      description: "Query-model SFT data (chat JSONL)"
    },
    {
      command: "ssra export --run runs/demo-kuake_qtr --format sft-kit-query --stage stage2 --out qm-kit/",
      description: "An SFT launch kit for query model v2 (train with launch.sh, serve with serve.sh)"
    },
    {
      command: "ssra export --run runs/demo-kuake_qtr --format flag-embedding --weights repeat --out train.jsonl",
      description: "FlagEmbedding rows repeated by grade weight"
    }
  ])
)

/**
 * The `ssra export` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<"export", any, any, unknown, never> = command_
