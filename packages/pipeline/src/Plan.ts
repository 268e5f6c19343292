/**
 * What a run will do before it does it (`--dry-run`, `ssra estimate`): the stages, the model calls each makes,
 * and for LLM-backed stages the tokens, cost and time estimated by `@ssra/llm`'s Estimate from real prompts of
 * this dataset — nothing is sent.
 *
 * @since 0.1.0
 */
import { type Grade, type Pair, Sampling } from "@ssra/core"
import { type ChatClient, Estimate, Presets } from "@ssra/llm"
import { EmbeddedQueryModel, PromptQueryModel } from "@ssra/query-model"
import { ScorePrompt } from "@ssra/score-model"
import { Schema } from "effect"
import * as Generation from "./Generation.js"
import type * as Inputs from "./Inputs.js"
import type { SystemName } from "./Pipeline.js"
import type { Config } from "./PipelineConfig.js"
import * as Stage1 from "./Stage1.js"

/**
 * One planned stage.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedStage {
  readonly stage: string
  readonly backend: "embedded" | "llm" | "external" | "none"
  readonly work: string
  /** The calls expected to reach the model (answers the run's response cache already holds are not counted). */
  readonly calls: number
  /** When the count depends on answers not known before the run (gates, cache hits): the most it can be. */
  readonly upTo?: number | undefined
  readonly estimate?: Estimate.EstimateResult | undefined
  readonly note?: string | undefined
}

/**
 * Chat calls per grading with the LLM judge: one when the endpoint returns logprobs; otherwise the judge samples 5
 * answers, which a server that caps `n` (the preset's `maxN`) gets as ⌈5 / maxN⌉ requests. Whether logprobs come
 * back is `backends.llm.logprobs` when set (ask the endpoint once with `Estimate.probe`), else the preset's word.
 *
 * @since 0.1.0
 * @category constructors
 */
export const callsPerJudgment = (config: Config): number => {
  const llm = config.backends.llm
  const preset = Presets.get(
    llm?.preset !== undefined && Schema.is(Presets.PresetName)(llm.preset) ? llm.preset : "vllm"
  )
  const logprobs = llm?.logprobs ?? preset.quirks.logprobs
  return logprobs ? 1 : Math.ceil(5 / Math.max(1, preset.quirks.maxN))
}

const estimateOf = (
  config: Config,
  sample: ReadonlyArray<ChatClient.ChatRequest>,
  calls: number,
  completionTokens: number
) => {
  const llm = config.backends.llm
  return Estimate.fromSample(sample, {
    totalCalls: calls,
    model: llm?.model ?? "(no model configured)",
    prices: llm
      ? { [llm.model]: { inputPer1M: llm.pricePerMillionInput ?? 0, outputPer1M: llm.pricePerMillionOutput ?? 0 } }
      : {},
    throughput: { requestsPerSecond: llm?.requestsPerSecond ?? 4 },
    completionTokens
  })
}

/**
 * The plan of a run over a loaded dataset. With an LLM judge as the score model (`backends.scoreModel: llm`) every
 * grading anywhere is a chat call — the score model's held-out check, stage 1's pool, the query models' training
 * candidates, stage 2's and synthesis's score gates — and with `stage2.judge: llm` the pairwise gate asks about
 * every pair of a document's candidates of different target grades, in both orders: all of them are counted
 * (upper bounds where a gate runs on what an earlier one kept). A grading costs `callsPerJudgment` requests. The
 * query models grade each training document's retrieved and key-phrase-edited candidates (`trainingGradings`,
 * more than `candidatesPerDoc`); v2's candidates and most of its synthesis gradings are v1's, answered by the
 * response cache, so they count in `upTo` only. `prepare.rewrite` is one call per document with OCR/ASR text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config,
  dataset: Inputs.Dataset,
  systems: ReadonlyArray<SystemName>
): Array<PlannedStage> => {
  const scale = dataset.scale
  const llmJudge = config.backends.scoreModel === "llm"
  // a fine-tuned score model or query model runs on the team's own server: calls are counted, not priced
  const external = (which: "scoreModel" | "vanilla" | "queryModelV1" | "queryModelV2") =>
    config.backends.external?.[which] !== undefined
      ? `served at ${config.backends.external[which]!.baseUrl}`
      : "no endpoint yet: the run writes its SFT kit and stops (hand-off)"
  const labeled =
    config.data.sample?.labeledQueries !== undefined ? `≤ ${config.data.sample.labeledQueries} queries of ` : ""
  const unlabeledDocs = new Set(dataset.unlabeled.map((p) => p.did)).size
  const stage2Docs = Math.min(config.stage2.documents, unlabeledDocs)
  const stage2Grades = Generation.gradesOn(
    scale,
    config.stage2.grades.filter((g) => g > 0)
  )
  const planGrades = Generation.gradesOn(
    scale,
    Object.entries(config.synthesis.gradePlan)
      .filter(([, s]) => s > 0)
      .map(([g]) => Number(g))
  )
  const synthDocs = Math.min(config.synthesis.documents, dataset.documents.size)
  // the same held-out split the score-model stage draws, capped at 200 pairs
  const scoreHeldOut = Math.min(
    200,
    Sampling.splitByGroup(dataset.labeled, (p) => p.qid, config.scoreModel.devFraction, config.seed).second.length
  )
  const out: Array<PlannedStage> = []
  const judgeSample = [...dataset.labeled.slice(0, 40)].map((p) => ({
    messages: ScorePrompt.messages(scale, p, ScorePrompt.fewShot(dataset.labeled, scale, 2, config.seed)),
    maxTokens: 24
  }))
  /** A stage whose model calls are gradings: chat calls with an LLM judge, in-process otherwise. */
  const perJudgment = callsPerJudgment(config)
  const graded = (stage: string, work: string, judgments: number, note?: string): PlannedStage => {
    const calls = llmJudge ? judgments * perJudgment : judgments
    return config.backends.scoreModel === "fine-tuned"
      ? { stage, backend: "external", work, calls, note: note ?? `fine-tuned score model ${external("scoreModel")}` }
      : llmJudge
        ? {
            stage,
            backend: "llm",
            work,
            calls,
            estimate: estimateOf(config, judgeSample, calls, 8),
            ...(note !== undefined ? { note } : {})
          }
        : { stage, backend: "embedded", work, calls, ...(note !== undefined ? { note } : {}) }
  }
  // the query model grades each training document's retrieved and edited candidates: counted as training does
  const pool = Stage1.queryPool(dataset.labeled, dataset.unlabeled)
  const queryModelCalls = (d2q: ReadonlyArray<Pair.D2QGroup>) =>
    EmbeddedQueryModel.trainingGradings({
      d2q,
      queryPool: pool,
      seed: config.seed,
      maxTrainingDocs: config.queryModel.maxTrainingDocs,
      candidatesPerDoc: config.queryModel.candidatesPerDoc
    })
  // stage 1's D2Q: the de-duplicated labeled pairs, then every unlabeled pair (its grade does not change the count)
  const stage1D2Q = () =>
    Stage1.group([
      ...Stage1.dedupLabeled(dataset.labeled).map((p) => ({ ...p, grade: p.label, origin: "human" as const })),
      ...dataset.unlabeled.map((p) => ({ ...p, grade: 0, origin: "score-model" as const }))
    ])

  out.push({
    stage: "prepare",
    backend: "none",
    work: `validate + normalize ${labeled}${dataset.labeled.length} labeled, ${dataset.unlabeled.length} unlabeled pairs`,
    calls: 0
  })
  if (config.prepare.rewrite) {
    // one call per document of the run with OCR or ASR text, as prepare asks
    const used = new Set(
      [...dataset.labeled, ...dataset.unlabeled, ...dataset.retrievalTest, ...dataset.pairTest].map((p) => p.did)
    )
    const documents = [...dataset.documents.values()].filter(
      (d) => used.has(d.id) && ((d.ocr ?? "").trim() !== "" || (d.asr ?? "").trim() !== "")
    )
    const sample = documents.slice(0, 40).map((d) => ({
      messages: [{ role: "user" as const, content: `${d.title}\n${d.ocr ?? ""}\n${d.asr ?? ""}` }],
      maxTokens: 320
    }))
    out.push({
      stage: "prepare:rewrite",
      backend: "llm",
      work: `rewrite OCR + ASR of ${documents.length} documents into descriptions`,
      calls: documents.length,
      estimate: estimateOf(config, sample, documents.length, 160)
    })
  }
  out.push({
    stage: "train:base",
    backend: "embedded",
    work: `dual encoder on the labeled pairs, ${config.training.epochs} epoch(s)`,
    calls: 0
  })
  out.push(
    config.backends.scoreModel === "fine-tuned"
      ? graded("score-model", `fine-tuned score model, checked on ${scoreHeldOut} held-out labeled pairs`, scoreHeldOut)
      : llmJudge
        ? graded("score-model", `LLM judge (8-shot), checked on ${scoreHeldOut} held-out labeled pairs`, scoreHeldOut)
        : { stage: "score-model", backend: "embedded", work: "embedded score model on the labeled pairs", calls: 0 }
  )
  /** A query-model stage: trained here (its training candidates are graded), or fine-tuned outside ssra. */
  const queryModelStage = (
    stage: string,
    which: "vanilla" | "queryModelV1" | "queryModelV2",
    work: string,
    calls: number
  ): PlannedStage =>
    config.backends.queryModel === "fine-tuned"
      ? {
          stage,
          backend: "external",
          work: "fine-tuned query model (SFT outside ssra)",
          calls: 0,
          note: external(which)
        }
      : graded(stage, work, calls)
  // the query models the run builds, as Pipeline decides: vanilla for its own systems (or as SSRA's writer without
  // stage 1), v1 for stage 1 and v2 for stage 2
  const ssraWanted = systems.includes("ssra") || systems.includes("ssra-binary")
  const stage1On = config.stage1.enabled
  const stage2On = config.stage2.enabled && stage1On
  const vanilla = systems.includes("vanilla-sft") || systems.includes("ssra-no-stage1-2") || (ssraWanted && !stage1On)
  const v2 = ssraWanted && stage2On
  const v1 = systems.includes("ssra-no-stage2") || (ssraWanted && stage1On)
  const trainingWork = (name: string, d2qDocs: number) =>
    `train ${name}: ≤ ${Math.min(config.queryModel.maxTrainingDocs, d2qDocs)} documents × (${config.queryModel.candidatesPerDoc} retrieved + key-phrase edits) graded candidates`
  if (vanilla) {
    const d2q = Stage1.labeledD2Q(dataset.labeled)
    out.push(
      queryModelStage(
        "query-model:vanilla",
        "vanilla",
        trainingWork("the labeled-only query model", d2q.length),
        queryModelCalls(d2q)
      )
    )
  }
  if (v1 || v2) {
    out.push(graded("stage1", `grade ${dataset.unlabeled.length} unlabeled pairs, build D2Q`, dataset.unlabeled.length))
    const d2q = stage1D2Q()
    const v1Calls = queryModelCalls(d2q)
    out.push(queryModelStage("query-model:v1", "queryModelV1", trainingWork("query model v1", d2q.length), v1Calls))
    if (v2) {
      const candidates = stage2Docs * stage2Grades.length * config.stage2.perGrade
      out.push(
        graded(
          "stage2",
          `${stage2Docs} documents × grades ${stage2Grades.join("/")} × ${config.stage2.perGrade}, score gate`,
          candidates
        )
      )
      // every pair of a document's candidates with different target grades, asked in both orders
      const pairwise =
        stage2Docs * config.stage2.perGrade ** 2 * ((stage2Grades.length * (stage2Grades.length - 1)) / 2) * 2
      if (config.stage2.judge === "llm")
        out.push({
          stage: "stage2:pairwise",
          backend: "llm",
          work: `pairwise judge: ≤ ${pairwise / 2 / Math.max(1, stage2Docs)} candidate pairs per document, both orders`,
          calls: pairwise,
          upTo: pairwise,
          estimate: estimateOf(config, judgeSample, pairwise, 8),
          note: "upper bound: only pairs that passed the score gate are asked; tokens estimated from grading prompts"
        })
      // v2 trains on the same documents and pool as v1: its candidates are v1's, whose grades the response cache
      // holds; only the queries stage 2 added change a document's candidates
      out.push({
        ...queryModelStage("query-model:v2", "queryModelV2", trainingWork("query model v2", d2q.length), 0),
        ...(config.backends.queryModel !== "fine-tuned" && llmJudge
          ? { upTo: v1Calls * perJudgment, note: "its candidates are v1's: their grades come from the response cache" }
          : {})
      })
    }
  }
  const writers = [vanilla, v1 || v2, v2].filter(Boolean).length
  if (writers > 0 && synthDocs > 0) {
    const perWriter = synthDocs * planGrades.length * config.synthesis.perDocument
    // v2 writes mostly what v1 wrote for the same documents, and the response cache answers those gradings
    const counted = writers - (v2 && llmJudge ? 1 : 0)
    const stage = graded(
      "synthesis",
      `${writers} query model(s) × ${synthDocs} documents × grades ${planGrades.join("/")}, score gate`,
      counted * perWriter,
      v2 && llmJudge ? "v2's queries that v1 also wrote are graded once (response cache)" : undefined
    )
    out.push(v2 && llmJudge ? { ...stage, upTo: writers * perWriter * perJudgment } : stage)
  }
  if (systems.includes("prompt-only")) {
    const calls = synthDocs * planGrades.length
    const docs = [...dataset.documents.values()].slice(0, 50)
    const sample = docs.flatMap((d) =>
      planGrades.map((g) => ({
        messages: PromptQueryModel.messages(
          { document: d, targetGrade: g as Grade.Grade, n: config.synthesis.perDocument },
          scale
        ),
        maxTokens: 64
      }))
    )
    const llm = config.backends.llm
    const estimate = estimateOf(config, sample, calls, 24 * config.synthesis.perDocument)
    out.push({
      stage: "synthesis:prompt-only",
      backend: "llm",
      work: `${synthDocs} documents × grades ${planGrades.join("/")}`,
      calls,
      estimate,
      ...(llm === undefined ? { note: "needs an LLM backend: not configured, the row will say so" } : {})
    })
    if (llmJudge)
      out.push(
        graded(
          "synthesis:prompt-only gate",
          `score gate over the prompt-only candidates`,
          calls * config.synthesis.perDocument
        )
      )
  }
  out.push({
    stage: "train + eval",
    backend: "embedded",
    work: `${systems.length} system(s), plus BM25 and char n-gram references`,
    calls: 0
  })
  return out
}

/**
 * The sums over a plan's LLM stages: what `ssra estimate` prints as its total row.
 *
 * @since 0.1.0
 * @category combinators
 */
export const totals = (
  plan: ReadonlyArray<PlannedStage>
): {
  readonly llmCalls: number
  /** The most LLM calls the run can make (stages with `upTo` at their bound). */
  readonly llmCallsUpTo: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cost: number
  readonly seconds: number
} => {
  let llmCalls = 0
  let llmCallsUpTo = 0
  let promptTokens = 0
  let completionTokens = 0
  let cost = 0
  let seconds = 0
  for (const s of plan) {
    if (s.backend !== "llm") continue
    llmCalls += s.calls
    llmCallsUpTo += Math.max(s.calls, s.upTo ?? 0)
    if (s.estimate === undefined) continue
    promptTokens += s.estimate.promptTokens
    completionTokens += s.estimate.completionTokens
    cost += s.estimate.cost
    seconds += s.estimate.seconds
  }
  return { llmCalls, llmCallsUpTo, promptTokens, completionTokens, cost, seconds }
}
