/**
 * What a run will do before it does it (`--dry-run`, `ssra estimate`): the stages, the model calls each makes,
 * and for LLM-backed stages the tokens, cost and time estimated by `@ssra/llm`'s Estimate from real prompts of
 * this dataset — nothing is sent (whether the endpoint returns logprobs is the caller's: `Backends.logprobsOf`).
 *
 * @since 0.1.0
 */
import { type Grade, type Pair, Sampling } from "@ssra/core"
import { type ChatClient, Estimate, Presets } from "@ssra/llm"
import { EmbeddedQueryModel, PromptQueryModel } from "@ssra/query-model"
import { ScorePrompt } from "@ssra/score-model"
import { Schema } from "effect"
import type { Logprobs } from "./Backends.js"
import * as DocumentRewrite from "./DocumentRewrite.js"
import * as Generation from "./Generation.js"
import type * as Inputs from "./Inputs.js"
import { type Config, llmModel } from "./PipelineConfig.js"
import * as Stage1 from "./Stage1.js"
import * as Synthesis from "./Synthesis.js"
import * as Systems from "./Systems.js"

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
 * back is `backends.llm.logprobs` when set, else the preset's word, else `known`: the answer `Backends.logprobsOf`
 * got (a local GGUF returns none; an endpoint named by neither is asked once, which also tells a cap of `n` at 1).
 *
 * @since 0.1.0
 * @category constructors
 */
export const callsPerJudgment = (config: Config, known?: Pick<Logprobs, "value" | "maxN">): number => {
  const llm = config.backends.llm
  const named = llm?.preset !== undefined && Schema.is(Presets.PresetName)(llm.preset) ? llm.preset : undefined
  const preset = Presets.get(named ?? "vllm")
  const logprobs =
    llm?.logprobs ?? (named !== undefined ? preset.quirks.logprobs : (known?.value ?? preset.quirks.logprobs))
  const maxN = named !== undefined ? preset.quirks.maxN : (known?.maxN ?? preset.quirks.maxN)
  return logprobs ? 1 : Math.ceil(5 / Math.max(1, maxN))
}

/** The plan's words for `training.lexical`: the channel and how its α is chosen (every trained system has it). */
const lexicalWork = (lexical: Config["training"]["lexical"]): string =>
  lexical == null
    ? ""
    : lexical.weight === "auto"
      ? ` + lexical channel, α selected on a held-out ${Math.round(lexical.heldOutFraction * 100)}% of the labeled queries with ≥ ${lexical.heldOutMinCandidates} graded candidates (one more training per system)`
      : ` + lexical channel (α ${lexical.weight})`

const estimateOf = (
  config: Config,
  sample: ReadonlyArray<ChatClient.ChatRequest>,
  calls: number,
  completionTokens: number
) => {
  const llm = config.backends.llm
  return Estimate.fromSample(sample, {
    totalCalls: calls,
    model: llm !== undefined ? llmModel(llm) : "(no model configured)",
    prices: llm
      ? { [llmModel(llm)]: { inputPer1M: llm.pricePerMillionInput ?? 0, outputPer1M: llm.pricePerMillionOutput ?? 0 } }
      : {},
    throughput: { requestsPerSecond: llm?.requestsPerSecond ?? 4 },
    completionTokens
  })
}

/** What every stage of a plan is counted with: the run's config and data, and how a grading is counted. */
interface Planner {
  readonly config: Config
  readonly dataset: Inputs.Dataset
  /** Every grading is a chat call (`backends.scoreModel: llm`). */
  readonly llmJudge: boolean
  /** Chat calls per grading with the LLM judge (`callsPerJudgment`). */
  readonly perJudgment: number
  /** Grading prompts of this dataset, the sample the LLM judge's tokens are estimated from. */
  readonly judgeSample: ReadonlyArray<ChatClient.ChatRequest>
  /** The gradings a query model's training makes on a D2Q set, counted as training does. */
  readonly queryModelCalls: (d2q: ReadonlyArray<Pair.D2QGroup>) => number
}

const planner = (config: Config, dataset: Inputs.Dataset, logprobs: Logprobs | undefined): Planner => {
  const judgeSample = [...dataset.labeled.slice(0, 40)].map((p) => ({
    messages: ScorePrompt.messages(
      dataset.scale,
      p,
      ScorePrompt.fewShot(dataset.labeled, dataset.scale, 2, config.seed)
    ),
    maxTokens: 24
  }))
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
  return {
    config,
    dataset,
    llmJudge: config.backends.scoreModel === "llm",
    perJudgment: callsPerJudgment(config, logprobs),
    judgeSample,
    queryModelCalls
  }
}

/** Where a fine-tuned score model or query model runs: the team's own server, whose calls are counted, not priced. */
const externalNote = (config: Config, which: "scoreModel" | "vanilla" | "queryModelV1" | "queryModelV2") =>
  config.backends.external?.[which] !== undefined
    ? `served at ${config.backends.external[which]!.baseUrl}`
    : "no endpoint yet: the run writes its SFT kit and stops (hand-off)"

/** A stage whose model calls are gradings: chat calls with an LLM judge, in-process otherwise. */
const graded = (p: Planner, stage: string, work: string, judgments: number, note?: string): PlannedStage => {
  const { config, llmJudge } = p
  const calls = llmJudge ? judgments * p.perJudgment : judgments
  return config.backends.scoreModel === "fine-tuned"
    ? {
        stage,
        backend: "external",
        work,
        calls,
        note: note ?? `fine-tuned score model ${externalNote(config, "scoreModel")}`
      }
    : llmJudge
      ? {
          stage,
          backend: "llm",
          work,
          calls,
          estimate: estimateOf(config, p.judgeSample, calls, 8),
          ...(note !== undefined ? { note } : {})
        }
      : { stage, backend: "embedded", work, calls, ...(note !== undefined ? { note } : {}) }
}

/** A query-model stage: trained here (its training candidates are graded), or fine-tuned outside ssra. */
const queryModelStage = (
  p: Planner,
  stage: string,
  which: "vanilla" | "queryModelV1" | "queryModelV2",
  work: string,
  calls: number
): PlannedStage =>
  p.config.backends.queryModel === "fine-tuned"
    ? {
        stage,
        backend: "external",
        work: "fine-tuned query model (SFT outside ssra)",
        calls: 0,
        note: externalNote(p.config, which)
      }
    : graded(p, stage, work, calls)

const trainingWork = (config: Config, name: string, d2qDocs: number) =>
  `train ${name}: ≤ ${Math.min(config.queryModel.maxTrainingDocs, d2qDocs)} documents × (${config.queryModel.candidatesPerDoc} retrieved + key-phrase edits) graded candidates`

/** Validation and normalization of the inputs, plus with `documents.rewrite: llm` one call per OCR/ASR document. */
const prepareStage = ({ config, dataset }: Planner): PlannedStage => {
  const labeled =
    config.data.sample?.labeledQueries !== undefined ? `≤ ${config.data.sample.labeledQueries} queries of ` : ""
  const prepareWork = `validate + normalize ${labeled}${dataset.labeled.length} labeled, ${dataset.unlabeled.length} unlabeled pairs`
  if (config.documents.rewrite !== "llm") return { stage: "prepare", backend: "none", work: prepareWork, calls: 0 }
  // one call per document with OCR/ASR that a pair names (the sample is drawn before prepare, as the run does)
  const documents = DocumentRewrite.eligible(dataset)
  const sample = documents.slice(0, 40).map((d) => DocumentRewrite.request(d, config.seed))
  return {
    stage: "prepare",
    backend: "llm",
    work: `${prepareWork}; rewrite OCR + ASR of ${documents.length} documents (${DocumentRewrite.promptVersion})`,
    calls: documents.length,
    estimate: estimateOf(config, sample, documents.length, 120)
  }
}

/** The base model's training and the score model: trained here, or graded on its held-out check. */
const baseStages = (p: Planner): Array<PlannedStage> => {
  const { config, dataset } = p
  // the same held-out split the score-model stage draws, capped at 200 pairs
  const scoreHeldOut = Math.min(
    200,
    Sampling.splitByGroup(dataset.labeled, (q) => q.qid, config.scoreModel.devFraction, config.seed).second.length
  )
  return [
    {
      stage: "train:base",
      backend: "embedded",
      work: `dual encoder on the labeled pairs, ${config.training.epochs} epoch(s)${lexicalWork(config.training.lexical)}`,
      calls: 0
    },
    config.backends.scoreModel === "fine-tuned"
      ? graded(
          p,
          "score-model",
          `fine-tuned score model, checked on ${scoreHeldOut} held-out labeled pairs`,
          scoreHeldOut
        )
      : p.llmJudge
        ? graded(
            p,
            "score-model",
            `LLM judge (8-shot), checked on ${scoreHeldOut} held-out labeled pairs`,
            scoreHeldOut
          )
        : { stage: "score-model", backend: "embedded", work: "embedded score model on the labeled pairs", calls: 0 }
  ]
}

/**
 * Stage 2 and query model v2: the score gate over its candidates, with `stage2.judge: llm` the pairwise judge, and
 * v2's training, whose candidates are v1's (`v1Calls` gradings, answered by the response cache).
 */
const stage2Stages = (p: Planner, d2qDocs: number, v1Calls: number): Array<PlannedStage> => {
  const { config, dataset, llmJudge } = p
  const out: Array<PlannedStage> = []
  const unlabeledDocs = new Set(dataset.unlabeled.map((q) => q.did)).size
  const stage2Docs = Math.min(config.stage2.documents, unlabeledDocs)
  const stage2Grades = Generation.gradesOn(
    dataset.scale,
    config.stage2.grades.filter((g) => g > 0)
  )
  const candidates = stage2Docs * stage2Grades.length * config.stage2.perGrade
  out.push(
    graded(
      p,
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
      estimate: estimateOf(config, p.judgeSample, pairwise, 8),
      note: "upper bound: only pairs that passed the score gate are asked; tokens estimated from grading prompts"
    })
  // v2 trains on the same documents and pool as v1: its candidates are v1's, whose grades the response cache
  // holds; only the queries stage 2 added change a document's candidates
  out.push({
    ...queryModelStage(p, "query-model:v2", "queryModelV2", trainingWork(config, "query model v2", d2qDocs), 0),
    ...(config.backends.queryModel !== "fine-tuned" && llmJudge
      ? { upTo: v1Calls * p.perJudgment, note: "its candidates are v1's: their grades come from the response cache" }
      : {})
  })
  return out
}

/**
 * The query models the run builds, from the plan Pipeline runs: vanilla for its own systems (or as SSRA's writer
 * without stage 1), v1 after stage 1 (also as stage 2's writer) and v2 after stage 2.
 */
const queryModelStages = (p: Planner, built: ReadonlyArray<string>): Array<PlannedStage> => {
  const { config, dataset } = p
  const out: Array<PlannedStage> = []
  if (built.includes("vanilla")) {
    const d2q = Stage1.labeledD2Q(dataset.labeled)
    out.push(
      queryModelStage(
        p,
        "query-model:vanilla",
        "vanilla",
        trainingWork(config, "the labeled-only query model", d2q.length),
        p.queryModelCalls(d2q)
      )
    )
  }
  if (!built.includes("v1")) return out
  out.push(
    graded(p, "stage1", `grade ${dataset.unlabeled.length} unlabeled pairs, build D2Q`, dataset.unlabeled.length)
  )
  // stage 1's D2Q: the de-duplicated labeled pairs, then every unlabeled pair (its grade does not change the count)
  const d2q = Stage1.group([
    ...Stage1.dedupLabeled(dataset.labeled).map((q) => ({ ...q, grade: q.label, origin: "human" as const })),
    ...dataset.unlabeled.map((q) => ({ ...q, grade: 0, origin: "score-model" as const }))
  ])
  const v1Calls = p.queryModelCalls(d2q)
  out.push(
    queryModelStage(p, "query-model:v1", "queryModelV1", trainingWork(config, "query model v1", d2q.length), v1Calls)
  )
  if (built.includes("v2")) out.push(...stage2Stages(p, d2q.length, v1Calls))
  return out
}

/**
 * Synthesis: every built query model writes for the eligible documents behind the score gate, and the
 * `prompt-only` system's LLM writes (and, with an LLM judge, is gated) too.
 */
const synthesisStages = (
  p: Planner,
  built: ReadonlyArray<string>,
  systems: ReadonlyArray<Systems.SystemName>
): Array<PlannedStage> => {
  const { config, dataset, llmJudge } = p
  const out: Array<PlannedStage> = []
  const planGrades = Generation.gradesOn(
    dataset.scale,
    Object.entries(config.synthesis.gradePlan)
      .filter(([, s]) => s > 0)
      .map(([g]) => Number(g))
  )
  // test documents are never written for (Synthesis.eligibleDocumentIds): count only the eligible ones
  const synthDocs = Math.min(config.synthesis.documents, Synthesis.eligibleDocumentIds(dataset).length)
  const v2 = built.includes("v2")
  const writers = built.length
  if (writers > 0 && synthDocs > 0) {
    const perWriter = synthDocs * planGrades.length * config.synthesis.perDocument
    // v2 writes mostly what v1 wrote for the same documents, and the response cache answers those gradings
    const counted = writers - (v2 && llmJudge ? 1 : 0)
    const stage = graded(
      p,
      "synthesis",
      `${writers} query model(s) × ${synthDocs} documents × grades ${planGrades.join("/")}, score gate`,
      counted * perWriter,
      v2 && llmJudge ? "v2's queries that v1 also wrote are graded once (response cache)" : undefined
    )
    out.push(v2 && llmJudge ? { ...stage, upTo: writers * perWriter * p.perJudgment } : stage)
  }
  if (!systems.includes("prompt-only")) return out
  const calls = synthDocs * planGrades.length
  const docs = [...dataset.documents.values()].slice(0, 50)
  const sample = docs.flatMap((d) =>
    planGrades.map((g) => ({
      messages: PromptQueryModel.messages(
        { document: d, targetGrade: g as Grade.Grade, n: config.synthesis.perDocument },
        dataset.scale
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
        p,
        "synthesis:prompt-only gate",
        `score gate over the prompt-only candidates`,
        calls * config.synthesis.perDocument
      )
    )
  return out
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
 * `logprobs` is the backend's answer from `Backends.logprobsOf` when the caller resolved it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config,
  dataset: Inputs.Dataset,
  systems: ReadonlyArray<Systems.SystemName>,
  logprobs?: Logprobs
): Array<PlannedStage> => {
  const p = planner(config, dataset, logprobs)
  const built = Systems.plan(config, systems).queryModels
  return [
    prepareStage(p),
    ...baseStages(p),
    ...queryModelStages(p, built),
    ...synthesisStages(p, built, systems),
    {
      stage: "train + eval",
      backend: "embedded",
      work: `${systems.length} system(s), plus BM25 and char n-gram references`,
      calls: 0
    }
  ]
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

/**
 * A problem with a run's set-up, found before any work: an `error` stops the run (and fails `--dry-run`), a
 * `warning` is printed and the run goes on.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetupProblem {
  readonly level: "error" | "warning"
  readonly message: string
  readonly hint?: string | undefined
}

/**
 * Labeled pairs below which a run's comparison is too noisy to read without its intervals.
 *
 * @since 0.1.0
 * @category constants
 */
export const smallLabeledPairs = 300

/** The rows of a loaded (and split) dataset that the checks read. */
type CheckedData = {
  readonly files?: Inputs.DataFiles | undefined
  readonly labeled: ReadonlyArray<Pair.LabeledPair>
  readonly unlabeled: ReadonlyArray<Pair.UnlabeledPair>
  readonly retrievalTest: ReadonlyArray<Pair.LabeledPair>
  readonly pairTest: ReadonlyArray<Pair.LabeledPair>
}

const synthesisWriters = (config: Config, systems: ReadonlyArray<Systems.SystemName>) =>
  config.synthesis.documents > 0 && systems.some((s) => Systems.specs[s].queries !== "none")

/** Item: the documents synthesis can write for (test documents are excluded). */
const synthesisProblems = (config: Config, data: CheckedData, systems: ReadonlyArray<Systems.SystemName>) => {
  if (!synthesisWriters(config, systems)) return []
  const training = new Set([...data.labeled, ...data.unlabeled].map((p) => p.did)).size
  const eligible = Synthesis.eligibleDocumentIds(data).length
  const excluded = training - eligible
  const wanted = Math.min(config.synthesis.documents, training)
  if (eligible === 0 && training > 0 && config.synthesis.allowEmpty !== true)
    return [
      {
        level: "error",
        message: `synthesis has no document to write queries for: all ${training} training documents (labeled and unlabeled) also occur in the test files, and test documents are excluded from synthesis so that no synthetic query about a test document reaches training; every SSRA system would train on the labeled pairs alone`,
        hint: "add unlabeled pairs whose documents are not in the test files, or hold out test queries with --split-test 0.2 instead of test files; --allow-no-synthesis (synthesis.allowEmpty) runs anyway"
      } satisfies SetupProblem
    ]
  if (eligible < wanted && excluded > 0)
    return [
      {
        level: "warning",
        message: `synthesis will write for ${eligible} documents, not the ${wanted} requested (synthesis.documents ${config.synthesis.documents}): ${excluded} of the ${training} training documents also occur in the test files and are excluded from synthesis`
      } satisfies SetupProblem
    ]
  return []
}

/** A run with no test rows evaluates nothing: every table would be n/a. */
const evaluationProblems = (config: Config, data: CheckedData): Array<SetupProblem> => {
  if (config.evaluation.required === false) return []
  if (data.retrievalTest.length > 0 || data.pairTest.length > 0) {
    // one of the two tests alone: its half of every table is n/a, which a user should know before training
    const missing =
      data.retrievalTest.length === 0
        ? "no retrieval test (retrieval_test.jsonl / --retrieval-test): nDCG@10 will be n/a in every table"
        : data.pairTest.length === 0
          ? "no pair test (pair_test.jsonl / --pair-test): AP@≥t will be n/a in every table"
          : undefined
    return missing === undefined
      ? []
      : [
          {
            level: "warning",
            message: `${missing}; --split-test 0.2 holds out a share of the labeled queries as both tests instead`
          }
        ]
  }
  return [
    {
      level: "error",
      message:
        "no test set: no retrieval_test.jsonl or pair_test.jsonl was found and no --split-test was given, so nothing would be evaluated and every table of the report would be n/a",
      hint: "hold out a share of the labeled queries with --split-test 0.2 (data.split.testFraction), or give test files (--retrieval-test FILE, --pair-test FILE); --no-eval (evaluation.required: false) trains without evaluating"
    }
  ]
}

/**
 * Retrieval-test queries with fewer than `minCandidates` judged candidates: the evaluator drops them, and when
 * it drops every query the evaluation fails — after every model was trained. Shared by `data validate`.
 *
 * @since 0.1.0
 * @category validation
 */
export const candidateProblems = (
  retrievalTest: ReadonlyArray<Pair.LabeledPair>,
  minCandidates: number,
  file: string | undefined
): Array<SetupProblem> => {
  if (retrievalTest.length === 0) return []
  const perQuery = new Map<string, number>()
  for (const p of retrievalTest) perQuery.set(p.qid, (perQuery.get(p.qid) ?? 0) + 1)
  const counts = [...perQuery.values()]
  const kept = counts.filter((n) => n >= minCandidates).length
  const largest = Math.max(...counts)
  const source = file ?? "the retrieval test"
  const fix = `pass --min-candidates ${Math.max(2, Math.min(largest, minCandidates - 1))} (evaluation.minCandidates; nDCG@10 over fewer candidates is easier to score well on), or judge more candidates per query`
  if (kept === 0)
    return [
      {
        level: "error",
        message: `none of the ${counts.length} queries of ${source} has evaluation.minCandidates = ${minCandidates} judged candidates (the largest has ${largest}): the retrieval evaluation would drop every query and fail after all models are trained`,
        hint: fix
      }
    ]
  if (kept < counts.length)
    return [
      {
        level: "warning",
        message: `${counts.length - kept} of the ${counts.length} queries of ${source} have fewer than evaluation.minCandidates = ${minCandidates} judged candidates and are dropped from the retrieval evaluation (${fix})`
      }
    ]
  return []
}

const sizeProblems = (data: CheckedData): Array<SetupProblem> => {
  if (data.labeled.length === 0 || data.labeled.length >= smallLabeledPairs) return []
  const queries = new Set(data.labeled.map((p) => p.qid)).size
  return [
    {
      level: "warning",
      message: `only ${data.labeled.length} labeled pairs (${queries} queries) train this run: below a few hundred labeled pairs the differences between systems are noisy — read the 95% intervals in the report before concluding anything (README: "How much data is enough")`
    }
  ]
}

/**
 * Everything about a run's set-up that can be told from its config and data before any work: no document
 * eligible for synthesis, no test set, retrieval-test queries below `evaluation.minCandidates`, a small labeled
 * set. `--dry-run` prints them, and a run stops on an error before training.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (
  config: Config,
  data: CheckedData,
  systems: ReadonlyArray<Systems.SystemName>
): Array<SetupProblem> => [
  ...synthesisProblems(config, data, systems),
  ...evaluationProblems(config, data),
  ...candidateProblems(data.retrievalTest, config.evaluation.minCandidates, data.files?.retrievalTest),
  ...sizeProblems(data)
]

/**
 * Endpoints the config names that no stage of the run uses (the flag that makes a stage use each one is named),
 * told from the config alone.
 *
 * @since 0.1.0
 * @category validation
 */
export const unusedEndpoints = (config: Config, systems: ReadonlyArray<Systems.SystemName>): Array<SetupProblem> => {
  const out: Array<SetupProblem> = []
  const b = config.backends
  const llmUsed =
    b.scoreModel === "llm" ||
    (config.stage2.enabled && config.stage2.judge === "llm") ||
    config.documents.rewrite === "llm" ||
    systems.includes("prompt-only")
  if (b.llm !== undefined && !llmUsed)
    out.push({
      level: "warning",
      message: `the LLM endpoint ${b.llm.baseUrl ?? `of preset ${b.llm.preset ?? "vllm"}`} (--llm-base-url / --gguf / backends.llm) is given but no stage of this run uses it: pass --score-model llm (the LLM grades every pair), --judge llm (Stage 2's pairwise judge), or run \`ssra experiment\` (its prompt-only system)`
    })
  const external = b.external ?? {}
  if (external.scoreModel !== undefined && b.scoreModel !== "fine-tuned")
    out.push({
      level: "warning",
      message: `--score-model-endpoint ${external.scoreModel.baseUrl} (backends.external.scoreModel) is given but unused: pass --score-model fine-tuned to grade with it`
    })
  for (const [key, flag] of [
    ["vanilla", "--vanilla-query-model-endpoint"],
    ["queryModelV1", "--query-model-v1-endpoint"],
    ["queryModelV2", "--query-model-v2-endpoint"]
  ] as const) {
    const endpoint = external[key]
    if (endpoint !== undefined && b.queryModel !== "fine-tuned")
      out.push({
        level: "warning",
        message: `${flag} ${endpoint.baseUrl} (backends.external.${key}) is given but unused: pass --query-model fine-tuned to write queries with it`
      })
  }
  return out
}
