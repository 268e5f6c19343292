/**
 * `ssra export`: hands a finished run's data to the engines teams use on GPUs — the embedding training set as
 * sentence-transformers or FlagEmbedding rows or a Qwen3-Embedding LoRA launch kit, the query model's and the
 * score model's SFT data as chat JSONL, and OpenAI Batch API input files for LLM synthesis.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Document, Jsonl, Pair, TrainingRow } from "@ssra/core"
import { Export } from "@ssra/embedding"
import { BatchJobs } from "@ssra/llm"
import { Artifact, Pipeline, PipelineError, Synthesis } from "@ssra/pipeline"
import { PromptQueryModel, SftData } from "@ssra/query-model"
import { Sft } from "@ssra/score-model"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { usage } from "./ExitCode.js"

const formats = ["sentence-transformers", "flag-embedding", "launch-kit", "sft-query", "sft-score", "batch"] as const

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

const command_ = Command.make(
  "export",
  {
    run: Flag.Directory("run").pipe(
      Flag.withDescription("A finished run directory. Example: --run runs/demo-kuake_qtr")
    ),
    format: Flag.Literals("format", formats).pipe(
      Flag.withDescription(
        "sentence-transformers (anchor/positive/negative_i/score rows), flag-embedding (query/pos/neg/scores), launch-kit (directory: train.jsonl, config, torchrun LoRA script), sft-query (query-model chat JSONL: D2Q + stage-2 survivors), sft-score (score-model chat JSONL), batch (OpenAI Batch input for prompt-only synthesis). Example: --format flag-embedding"
      )
    ),
    out: Flag.String("out").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Output file (a directory for launch-kit). Example: --out train.jsonl")
    ),
    system: Flag.Literals("system", Pipeline.systems).pipe(
      Flag.withDescription("Whose training set to export (embedding formats). Example: --system ssra"),
      Flag.withDefault("ssra" as const)
    ),
    model: Flag.String("model").pipe(
      Flag.withDescription(
        "Model name written into batch requests / the launch kit. Example: --model Qwen/Qwen3-Embedding-0.6B"
      ),
      Flag.optional
    )
  },
  (input) =>
    Effect.gen(function* () {
      const runDir = input.run
      const model = Option.getOrUndefined(input.model)
      switch (input.format) {
        case "sentence-transformers":
        case "flag-embedding":
        case "launch-kit": {
          const stage = `train:${input.system === "ssra-no-stage1-2" ? "vanilla-sft" : input.system}`
          const artifact = yield* latest(runDir, stage)
          const rows = yield* Jsonl.readAll(path.join(artifact.dir, "rows.jsonl"), TrainingRow.TrainingRow)
          if (input.format === "launch-kit") {
            const kit = yield* Export.launchKit(input.out, {
              rows,
              ...(model !== undefined ? { config: { model } } : {})
            })
            yield* Console.log(`wrote launch kit ${kit.dir}: ${kit.files.map((f) => path.basename(f)).join(", ")}`)
            return
          }
          const summary =
            input.format === "sentence-transformers"
              ? yield* Export.sentenceTransformers(rows, input.out)
              : yield* Export.flagEmbedding(rows, input.out)
          yield* Console.log(`wrote ${input.out} (${input.format}) from ${stage}: ${JSON.stringify(summary)}`)
          return
        }
        case "sft-query": {
          const stage2 = Artifact.find(runDir, "stage2")[0]
          const source = stage2 ?? (yield* latest(runDir, "stage1"))
          const d2q = yield* Jsonl.readAll(path.join(source.dir, "d2q.jsonl"), Pair.D2QGroup)
          const set = SftData.stage1(d2q, [])
          const written = yield* SftData.writeChatJsonl(set, input.out)
          yield* Console.log(
            `wrote ${written.rows} chat rows to ${input.out} (query-model SFT: ${stage2 ? "stage 1 D2Q + stage 2 survivors" : "stage 1 D2Q"})`
          )
          return
        }
        case "sft-score": {
          const prepared = yield* latest(runDir, "prepare")
          const labeled = yield* Jsonl.readAll(path.join(prepared.dir, "labeled.jsonl"), Pair.LabeledPair)
          const max = Math.max(1, ...labeled.map((p) => p.label)) as 1 | 2 | 3
          const written = yield* Sft.exportScoreSft(labeled, input.out, { scale: { max } })
          yield* Console.log(
            `wrote ${written.rows} chat rows to ${input.out} (score-model SFT, prompt ${written.promptVersion})`
          )
          return
        }
        case "batch": {
          if (model === undefined)
            return yield* usage(
              "--format batch needs --model (the model the batch runs on)",
              "e.g. --model gpt-4o-mini"
            )
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
          const written = yield* BatchJobs.writeInput(input.out, { model }, items)
          yield* Console.log(
            `wrote ${written.rows} batch requests to ${input.out} (OpenAI Batch API input; upload with ssra's @ssra/llm BatchJobs or the provider's CLI)`
          )
          return
        }
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
