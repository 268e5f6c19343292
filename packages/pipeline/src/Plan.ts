/**
 * What a run will do before it does it (`--dry-run`, `ssra estimate`): the stages, the model calls each makes,
 * and for LLM-backed stages the tokens, cost and time estimated by `@ssra/llm`'s Estimate from real prompts of
 * this dataset — nothing is sent.
 *
 * @since 0.1.0
 */
import type { Grade } from "@ssra/core"
import { type ChatClient, Estimate } from "@ssra/llm"
import { PromptQueryModel } from "@ssra/query-model"
import { ScorePrompt } from "@ssra/score-model"
import * as Generation from "./Generation.js"
import type * as Inputs from "./Inputs.js"
import type { SystemName } from "./Pipeline.js"
import type { Config } from "./PipelineConfig.js"

/**
 * One planned stage.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedStage {
  readonly stage: string
  readonly backend: "embedded" | "llm" | "none"
  readonly work: string
  readonly calls: number
  readonly estimate?: Estimate.EstimateResult | undefined
  readonly note?: string | undefined
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
 * The plan of a run over a loaded dataset.
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
  const out: Array<PlannedStage> = [
    {
      stage: "prepare",
      backend: "none",
      work: `validate + normalize ${labeled}${dataset.labeled.length} labeled, ${dataset.unlabeled.length} unlabeled pairs`,
      calls: 0
    },
    {
      stage: "train:base",
      backend: "embedded",
      work: `dual encoder on the labeled pairs, ${config.training.epochs} epoch(s)`,
      calls: 0
    },
    config.backends.scoreModel === "llm"
      ? {
          stage: "score-model",
          backend: "llm",
          work: "LLM judge (8-shot), measured on ≤ 200 held-out labeled pairs",
          calls: 200
        }
      : { stage: "score-model", backend: "embedded", work: "embedded score model on the labeled pairs", calls: 0 }
  ]
  // With an LLM judge every grading is a chat call (5 samples per call when the server gives no logprobs).
  const judgeSample = [...dataset.labeled.slice(0, 40)].map((p) => ({
    messages: ScorePrompt.messages(scale, p, ScorePrompt.fewShot(dataset.labeled, scale, 2, config.seed)),
    maxTokens: 24
  }))
  const judged = (calls: number): Partial<PlannedStage> =>
    config.backends.scoreModel === "llm" ? { backend: "llm", estimate: estimateOf(config, judgeSample, calls, 8) } : {}
  const ssra = systems.some((s) => s.startsWith("ssra"))
  if (ssra && config.stage1.enabled) {
    out.push({
      stage: "stage1",
      backend: "embedded",
      work: `grade ${dataset.unlabeled.length} unlabeled pairs, build D2Q, train query model v1`,
      calls: dataset.unlabeled.length,
      ...judged(dataset.unlabeled.length)
    })
    if (config.stage2.enabled) {
      out.push({
        stage: "stage2",
        backend: "embedded",
        work: `${stage2Docs} documents × grades ${stage2Grades.join("/")} × ${config.stage2.perGrade}, score + pairwise gates, query model v2`,
        calls: stage2Docs * stage2Grades.length,
        ...judged(stage2Docs * stage2Grades.length * config.stage2.perGrade)
      })
    }
  }
  const writers =
    (systems.includes("vanilla-sft") || systems.includes("ssra-no-stage1-2") ? 1 : 0) +
    (systems.includes("ssra-no-stage2") ? 1 : 0) +
    (systems.includes("ssra") || systems.includes("ssra-binary") ? 1 : 0)
  if (writers > 0 && synthDocs > 0) {
    out.push({
      stage: "synthesis",
      backend: "embedded",
      work: `${writers} query model(s) × ${synthDocs} documents × grades ${planGrades.join("/")}`,
      calls: writers * synthDocs * planGrades.length
    })
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
    const estimate = Estimate.fromSample(sample, {
      totalCalls: calls,
      model: llm?.model ?? "(no model configured)",
      prices: llm
        ? { [llm.model]: { inputPer1M: llm.pricePerMillionInput ?? 0, outputPer1M: llm.pricePerMillionOutput ?? 0 } }
        : {},
      throughput: { requestsPerSecond: llm?.requestsPerSecond ?? 4 },
      completionTokens: 24 * config.synthesis.perDocument
    })
    out.push({
      stage: "synthesis:prompt-only",
      backend: "llm",
      work: `${synthDocs} documents × grades ${planGrades.join("/")}`,
      calls,
      estimate,
      ...(llm === undefined ? { note: "needs an LLM backend: not configured, the row will say so" } : {})
    })
  }
  out.push({
    stage: "train + eval",
    backend: "embedded",
    work: `${systems.length} system(s), plus BM25 and char n-gram references`,
    calls: 0
  })
  return out
}
