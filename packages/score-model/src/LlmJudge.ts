/**
 * An LLM as the score model: the versioned grading prompt (`ScorePrompt`) sent through `@ssra/llm`'s chat
 * client, answers read as structured output `{"grade": n}`. Probabilities come from the token logprobs of the
 * grade digit (`top_logprobs`) when the server returns them, otherwise from n sampled answers (`n` in one
 * request, topped up by repeated seeded calls when the server ignores `n`). An answer off the scale ("4"), not
 * an integer ("two"), prose or nothing is a counted rejection with its reason and raw text — never a guess.
 *
 * @since 0.1.0
 */
import { Grade, Models } from "@ssra/core"
import { ChatClient, StructuredOutput } from "@ssra/llm"
import { Effect, Schema } from "effect"
import * as Features from "./Features.js"
import { ScoreOptionError } from "./ScoreModelError.js"
import * as ScorePrompt from "./ScorePrompt.js"

/**
 * Why an answer was rejected.
 *
 * @since 0.1.0
 * @category models
 */
export type RejectionReason =
  | "empty"
  | "no-json"
  | "missing-grade"
  | "not-an-integer"
  | "out-of-scale"
  | "no-valid-sample"
  | "no-logprobs"

/**
 * The judge's verdict on one pair: a judgment, or a rejection with its reason and the raw answer.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | {
      readonly _tag: "Judged"
      readonly judgment: Models.GradeJudgment
      readonly method: "logprobs" | "samples"
      /** Sampled answers that were valid / rejected (samples method; 1/0 for logprobs). */
      readonly validSamples: number
      readonly invalidSamples: number
    }
  | { readonly _tag: "Rejected"; readonly reason: RejectionReason; readonly detail: string; readonly raw: string }

/**
 * Counts over a batch of outcomes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly judged: number
  readonly rejected: number
  readonly byReason: Readonly<Partial<Record<RejectionReason, number>>>
  readonly byMethod: Readonly<{ logprobs: number; samples: number }>
  /** Individual sampled answers rejected inside judged pairs. */
  readonly invalidSamples: number
}

/**
 * Judge options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly client: ChatClient.ChatClientShape
  readonly scale: Grade.GradeScale
  /** In-domain examples (see `ScorePrompt.fewShot`); none by default. */
  readonly fewShot?: ReadonlyArray<ScorePrompt.Example> | undefined
  /** Recorded in the judge id; only `ScorePrompt.version` exists today. */
  readonly promptVersion?: typeof ScorePrompt.version | undefined
  /** Model override (e.g. a fine-tuned model id); the client's model otherwise. */
  readonly model?: string | undefined
  /** `auto` (default): logprobs when the server returns them, else samples. */
  readonly probabilities?: "auto" | "logprobs" | "samples" | undefined
  /** Samples per pair for the samples method (default 5; must be > 1). */
  readonly samples?: number | undefined
  /** Sampling temperature for the samples method (default 0.8). */
  readonly temperature?: number | undefined
  /** Alternatives per token requested for the logprobs method (default 10). */
  readonly topLogprobs?: number | undefined
  readonly seed?: number | undefined
  /** Completion token cap per answer (default 24; `{"grade": 2}` is ~6 tokens for real tokenizers). */
  readonly maxTokens?: number | undefined
  /** Pairs judged at once. Default: the client's `maxInFlight` (4 when it has none). */
  readonly concurrency?: number | undefined
  /**
   * Re-asks of a pair whose answer is no grade (prose, an off-scale number, broken JSON), each with new seeds and,
   * in "auto" mode, by sampling (default 2). A model's occasional bad answer then costs a call, not the run; a
   * pair still without a grade is rejected with the first answer's reason.
   */
  readonly invalidRetries?: number | undefined
  /** Usage/cost stage name (default "score"). */
  readonly stage?: string | undefined
  /** Id prefix (default "llm-judge"). */
  readonly idPrefix?: string | undefined
}

/**
 * An LLM judge: a core `Grader` whose `grade` fails with `ModelError` (`invalid-output`) when any pair is
 * rejected, plus `judge`, which returns every pair's outcome and the counts instead.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmJudge extends Models.Grader {
  readonly kind: "llm"
  readonly promptVersion: string
  readonly judge: (
    pairs: ReadonlyArray<{ readonly query: string; readonly doc: string }>
  ) => Effect.Effect<{ readonly outcomes: ReadonlyArray<Outcome>; readonly counts: Counts }, Models.ModelError>
}

type Parsed =
  | { readonly ok: true; readonly grade: Grade.Grade }
  | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string }

/**
 * Checks a decoded `grade` value against the scale.
 *
 * @since 0.1.0
 * @category parsing
 */
export const checkGrade = (value: unknown, scale: Grade.GradeScale): Parsed => {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return { ok: false, reason: "not-an-integer", detail: `grade ${JSON.stringify(value)} is not an integer` }
  }
  if (!Grade.isOnScale(scale, value))
    return { ok: false, reason: "out-of-scale", detail: `grade ${value} is outside 0..${scale.max}` }
  return { ok: true, grade: value }
}

/**
 * Reads one answer text: JSON (bare, fenced or inside prose) with an integer `grade` on the scale.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAnswer = (text: string, scale: Grade.GradeScale): Parsed => {
  if (text.trim() === "") return { ok: false, reason: "empty", detail: "the model returned no text" }
  const found = StructuredOutput.extractJson(text, { accept: StructuredOutput.isJsonObject })
  if (found._tag === "NotFound") return { ok: false, reason: "no-json", detail: "the answer is not a JSON object" }
  const value = found.value as Record<string, unknown>
  if (!("grade" in value)) return { ok: false, reason: "missing-grade", detail: "the JSON object has no grade field" }
  return checkGrade(value.grade, scale)
}

/**
 * Per-grade probabilities from the logprobs of the grade token: the first all-digit token after the text
 * `grade`, its alternatives' probability mass summed per on-scale grade and renormalized. `undefined` when the
 * response carries no such token.
 *
 * @since 0.1.0
 * @category parsing
 */
export const gradeProbabilities = (
  logprobs: ReadonlyArray<ChatClient.TokenLogprob> | undefined,
  scale: Grade.GradeScale
): Array<number> | undefined => {
  if (logprobs === undefined || logprobs.length === 0) return undefined
  let text = ""
  for (const t of logprobs) {
    const seenKey = text.includes("grade")
    text += t.token
    if (!seenKey || !/^\s*\d+\s*$/.test(t.token)) continue
    const mass = new Array<number>(scale.max + 1).fill(0)
    const alternatives = t.top.length > 0 ? t.top : [{ token: t.token, logprob: t.logprob }]
    const seen = new Set<string>()
    for (const a of alternatives) {
      if (seen.has(a.token)) continue
      seen.add(a.token)
      const trimmed = a.token.trim()
      if (!/^\d+$/.test(trimmed)) continue
      const g = Number(trimmed)
      if (Grade.isOnScale(scale, g) && Number.isFinite(a.logprob)) mass[g]! += Math.exp(a.logprob)
    }
    if (!seen.has(t.token) && /^\d+$/.test(t.token.trim())) {
      const g = Number(t.token.trim())
      if (Grade.isOnScale(scale, g) && Number.isFinite(t.logprob)) mass[g]! += Math.exp(t.logprob)
    }
    const total = mass.reduce((s, m) => s + m, 0)
    if (!(total > 0)) return undefined
    return mass.map((m) => m / total)
  }
  return undefined
}

/** The structured output: `{"grade": n}` with n an integer on the scale (its JSON Schema is sent to the model). */
const gradeObject = (scale: Grade.GradeScale) =>
  Schema.Struct({ grade: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: scale.max })) })

const judgment = (probabilities: ReadonlyArray<number>): Models.GradeJudgment => ({
  grade: Models.argmaxGrade(probabilities),
  probabilities,
  expected: Models.expectedGrade(probabilities)
})

/**
 * Counts a batch of outcomes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const count = (outcomes: ReadonlyArray<Outcome>): Counts => {
  const byReason: Partial<Record<RejectionReason, number>> = {}
  const byMethod = { logprobs: 0, samples: 0 }
  let judged = 0
  let invalidSamples = 0
  for (const o of outcomes) {
    if (o._tag === "Judged") {
      judged++
      byMethod[o.method]++
      invalidSamples += o.invalidSamples
    } else byReason[o.reason] = (byReason[o.reason] ?? 0) + 1
  }
  return { judged, rejected: outcomes.length - judged, byReason, byMethod, invalidSamples }
}

/** The judge's settings with their defaults, checked (`samples` > 1, `invalidRetries` ≥ 0). */
const settingsOf = (options: Options) => {
  const { client, scale } = options
  const examples = options.fewShot ?? []
  const promptVersion = options.promptVersion ?? ScorePrompt.version
  const samples = options.samples ?? 5
  if (!(Number.isInteger(samples) && samples > 1))
    throw new ScoreOptionError({ option: "samples", detail: `samples must be an integer > 1, got ${samples}` })
  const model = options.model ?? client.model
  const format = ScorePrompt.responseFormat(scale)
  const schema = gradeObject(scale)
  const invalidRetries = options.invalidRetries ?? 2
  if (!(Number.isInteger(invalidRetries) && invalidRetries >= 0))
    throw new ScoreOptionError({
      option: "invalidRetries",
      detail: `invalidRetries must be an integer >= 0, got ${invalidRetries}`
    })
  return {
    client,
    scale,
    examples,
    promptVersion,
    samples,
    mode: options.probabilities ?? "auto",
    seed: options.seed ?? 0,
    stage: options.stage ?? "score",
    model,
    maxTokens: options.maxTokens ?? 24,
    temperature: options.temperature ?? 0.8,
    topLogprobs: options.topLogprobs ?? 10,
    id: `${options.idPrefix ?? "llm-judge"}:${model}:${promptVersion}:${examples.length}-shot`,
    format,
    schema,
    invalidRetries
  }
}

type Settings = ReturnType<typeof settingsOf>

/** One ask by the logprobs method: a greedy structured answer, probabilities from the grade token's logprobs. */
const viaLogprobs = (s: Settings, pair: { readonly query: string; readonly doc: string }, index: number, offset = 0) =>
  s.client
    .completeObject(
      {
        messages: ScorePrompt.messages(s.scale, pair, s.examples),
        model: s.model,
        temperature: 0,
        maxTokens: s.maxTokens,
        seed: s.seed + index + offset,
        topLogprobs: s.topLogprobs,
        responseFormat: s.format,
        stage: s.stage
      },
      s.schema
    )
    .pipe(
      Effect.map(({ response, value }): Outcome | "no-logprobs" => {
        const checked = checkGrade(value.grade, s.scale)
        const raw = response.choices[0]?.text ?? ""
        if (!checked.ok) return { _tag: "Rejected", reason: checked.reason, detail: checked.detail, raw }
        const probabilities = gradeProbabilities(response.choices[0]?.logprobs, s.scale)
        if (probabilities === undefined) return "no-logprobs"
        return {
          _tag: "Judged",
          judgment: judgment(probabilities),
          method: "logprobs",
          validSamples: 1,
          invalidSamples: 0
        }
      }),
      Effect.catchIf(
        (e) => e.reason === "invalid-output",
        (e) => {
          const raw = e.raw ?? ""
          const parsed = parseAnswer(raw, s.scale)
          // completeObject already made its one repair attempt; name the reason from the final raw answer
          return Effect.succeed<Outcome>(
            parsed.ok
              ? { _tag: "Rejected", reason: "no-json", detail: e.message, raw }
              : {
                  _tag: "Rejected",
                  reason: parsed.reason,
                  detail: `${parsed.detail} (after one repair attempt)`,
                  raw
                }
          )
        }
      )
    )

/**
 * The outcome of a pair from its sampled answers (the first `samples`): the share of each grade among the valid
 * ones, or a rejection naming the first problem when none is valid.
 */
const tallySamples = (texts: ReadonlyArray<string>, samples: number, scale: Grade.GradeScale): Outcome => {
  const counts = new Array<number>(scale.max + 1).fill(0)
  let invalid = 0
  let firstProblem: { reason: RejectionReason; detail: string; raw: string } | undefined
  for (const text of texts.slice(0, samples)) {
    const parsed = parseAnswer(text, scale)
    if (parsed.ok) counts[parsed.grade]!++
    else {
      invalid++
      firstProblem ??= { reason: parsed.reason, detail: parsed.detail, raw: text }
    }
  }
  const valid = counts.reduce((s, c) => s + c, 0)
  if (valid === 0) {
    return {
      _tag: "Rejected",
      reason: texts.length === 1 && firstProblem ? firstProblem.reason : "no-valid-sample",
      detail: `none of ${texts.length} sampled answers was a grade on 0..${scale.max}${firstProblem ? `; first: ${firstProblem.reason}: ${firstProblem.detail}` : ""}`,
      raw: firstProblem?.raw ?? ""
    }
  }
  return {
    _tag: "Judged",
    judgment: judgment(counts.map((c) => c / valid)),
    method: "samples",
    validSamples: valid,
    invalidSamples: invalid
  }
}

/** One ask by the samples method: `samples` answers (one call, or one per answer when the server ignores `n`). */
const viaSamples = (s: Settings, pair: { readonly query: string; readonly doc: string }, index: number, offset = 0) =>
  Effect.gen(function* () {
    const request = {
      messages: ScorePrompt.messages(s.scale, pair, s.examples),
      model: s.model,
      temperature: s.temperature,
      maxTokens: s.maxTokens,
      responseFormat: s.format,
      stage: s.stage
    }
    const texts: Array<string> = []
    const first = yield* s.client.complete({ ...request, n: s.samples, seed: s.seed + index + offset })
    for (const c of first.choices) texts.push(c.text)
    // The server ignored n: repeated calls with derived seeds until n answers (one call per missing answer).
    for (let k = 1; texts.length < s.samples && k < s.samples * 2; k++) {
      const more = yield* s.client.complete({ ...request, n: 1, seed: s.seed + index + offset + k * 7919 })
      if (more.choices.length === 0) break
      texts.push(more.choices[0]!.text)
    }
    return tallySamples(texts, s.samples, s.scale)
  })

/**
 * Builds an LLM judge over a chat client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): LlmJudge => {
  const settings = settingsOf(options)
  const { client, scale, promptVersion, mode, id, invalidRetries } = settings
  const fail = (e: ChatClient.LlmError) => ChatClient.toModelError(id, e)
  // Monotonic: once a response comes back without logprobs, auto mode stops asking for them.
  let logprobsAvailable = mode !== "samples"
  // seeds of re-ask k: shifted by a prime well past any index, so no two (pair, attempt) share a seed
  const RESEED = 104_729

  const askOnce = (
    pair: { readonly query: string; readonly doc: string },
    index: number,
    attempt: number
  ): Effect.Effect<Outcome, ChatClient.LlmError> =>
    Effect.gen(function* () {
      const offset = attempt * RESEED
      // the first ask (and every ask in "logprobs" mode) reads the grade token's probabilities; re-asks in "auto"
      // mode sample instead, which tolerates some bad answers among the samples
      if (logprobsAvailable && (attempt === 0 || mode === "logprobs")) {
        const outcome = yield* viaLogprobs(settings, pair, index, offset)
        if (outcome !== "no-logprobs") return outcome
        if (mode === "logprobs") {
          return {
            _tag: "Rejected",
            reason: "no-logprobs",
            detail:
              'the server returned no logprobs for the grade token and probabilities: "logprobs" was required (use "auto" to fall back to samples)',
            raw: ""
          } satisfies Outcome as Outcome
        }
        logprobsAvailable = false
      }
      return yield* viaSamples(settings, pair, index, offset)
    })

  const judgeOne = (
    pair: { readonly query: string; readonly doc: string },
    index: number
  ): Effect.Effect<Outcome, ChatClient.LlmError> =>
    Effect.gen(function* () {
      let first: Extract<Outcome, { _tag: "Rejected" }> | undefined
      for (let attempt = 0; attempt <= invalidRetries; attempt++) {
        const outcome = yield* askOnce(pair, index, attempt)
        if (outcome._tag === "Judged") return outcome
        // a missing capability (no logprobs where required) does not change with a new seed
        if (outcome.reason === "no-logprobs") return outcome
        first ??= outcome
      }
      return invalidRetries === 0
        ? first!
        : ({
            ...first!,
            detail: `${first!.detail}; ${invalidRetries} re-ask${invalidRetries === 1 ? "" : "s"} with new seeds gave no grade either`
          } satisfies Outcome as Outcome)
    })

  const judge = (pairs: ReadonlyArray<{ readonly query: string; readonly doc: string }>) =>
    Effect.andThen(
      Features.requireText(id, pairs),
      Effect.forEach(pairs, (pair, i) => judgeOne(pair, i), {
        concurrency: ChatClient.concurrencyOf(client, options.concurrency)
      }).pipe(
        Effect.map((outcomes) => ({ outcomes, counts: count(outcomes) })),
        Effect.mapError(fail)
      )
    )

  const grade = (pairs: ReadonlyArray<{ readonly query: string; readonly doc: string }>) =>
    Effect.flatMap(judge(pairs), ({ outcomes, counts }) => {
      const firstBad = outcomes.findIndex((o) => o._tag === "Rejected")
      if (firstBad < 0) return Effect.succeed(outcomes.map((o) => (o as Extract<Outcome, { _tag: "Judged" }>).judgment))
      const bad = outcomes[firstBad] as Extract<Outcome, { _tag: "Rejected" }>
      return Effect.fail(
        new Models.ModelError({
          backend: id,
          reason: "invalid-output",
          message: `${counts.rejected} of ${pairs.length} pairs got no valid grade (${JSON.stringify(counts.byReason)}); first: pair ${firstBad}: ${bad.reason}: ${bad.detail}. The model does not answer the grading prompt reliably: check it follows instructions (a chat/instruct model, the right chat template) or raise invalidRetries; judge() keeps the valid ones`,
          raw: bad.raw
        })
      )
    })

  return { id, kind: "llm", scale, promptVersion, judge, grade }
}
