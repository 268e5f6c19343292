/**
 * The model backends a config names, resolved at the edge of a run: the LLM chat client (an OpenAI-compatible
 * endpoint, or a local GGUF run in-process by node-llama-cpp, both through `@ssra/llm` with retries, a disk
 * response cache under the run directory and cost accounting), or a clear "needs an LLM backend" when none is
 * configured. Every HTTP request (completions, the reachability check, the logprobs probe) goes through the
 * `HttpClient` the caller provides: the application chooses it (`NodeHttpClient.layerUndici` in the `ssra` CLI).
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Hash } from "@ssra/core"
import {
  type ChatClient,
  ClientStack,
  CostTracker,
  LlamaCpp,
  OpenAiCompatible,
  Presets,
  ResponseCache,
  Traffic
} from "@ssra/llm"
import { Duration, Effect, Redacted, Schema, type Scope } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { type LlmBackend, llmModel } from "./PipelineConfig.js"
import { PipelineError } from "./PipelineError.js"

/**
 * The message systems print when they need an LLM and none is configured.
 *
 * @since 0.1.0
 * @category constants
 */
export const needsLlm = "needs an LLM backend"

/**
 * An LLM client and its cost tracker.
 *
 * @since 0.1.0
 * @category models
 */
export interface Llm {
  readonly client: ChatClient.ChatClientShape
  readonly cost: CostTracker.CostTracker
  /** Attempts, retries by cause, waits and set-aside calls (also in `cost.report().traffic`). */
  readonly traffic: Traffic.Traffic
  /** Whether the backend returns logprobs (`logprobsOf`), when the run resolved it: the judge's strategy. */
  readonly logprobs?: Logprobs | undefined
}

/**
 * The set-aside defaults: a call that exhausts its retries waits this long before its second round, and a stage
 * may leave out this share of its items (retried on the next run) before the run stops.
 *
 * @since 0.1.0
 * @category constants
 */
export const setAsideDefaults = { coolDownMs: 30_000, maxFailedFraction: 0.01 } as const

/**
 * Builds the configured LLM client, or fails with `backend-missing` saying what to configure. An endpoint's client
 * sends through the provided `HttpClient`, which must outlive the scope's use of the client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const llm = (
  config: LlmBackend | undefined,
  runDir: string,
  what: string,
  /** What earlier invocations on this run directory spent (USD): `maxCostUsd` caps the run, not one invocation. */
  spentBefore = 0
): Effect.Effect<Llm, PipelineError, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    if (config === undefined) {
      return yield* new PipelineError({
        reason: "backend-missing",
        detail: `${what} ${needsLlm}: none is configured`,
        hint: 'set backends.llm in the config file (e.g. { preset: "vllm", baseUrl: "http://127.0.0.1:8000/v1", model: "Qwen2.5-7B-Instruct" }) or a local model file { gguf: "models/qwen2.5-7b-instruct-q4_k_m.gguf" } (--gguf FILE), or SSRA_LLM_BASE_URL + SSRA_LLM_MODEL'
      })
    }
    const base = config.gguf !== undefined ? yield* ggufClient(config, config.gguf) : yield* endpointClient(config)
    return yield* stack(config, base, runDir, spentBefore)
  })

// The API key's variable: the config's apiKeyEnv, else SSRA_LLM_API_KEY when set (the flags-only way, beside
// SSRA_LLM_BASE_URL / SSRA_LLM_MODEL), else the preset's own (VLLM_API_KEY, OPENAI_API_KEY, …); and its value.
const apiKeyOf = (config: LlmBackend): { readonly keyEnv: string | undefined; readonly key: string | undefined } => {
  const preset = knownPreset(config)
  const keyEnv =
    config.apiKeyEnv ?? ((process.env.SSRA_LLM_API_KEY ?? "") !== "" ? "SSRA_LLM_API_KEY" : preset?.apiKeyEnv)
  return { keyEnv, key: keyEnv !== undefined ? process.env[keyEnv] : undefined }
}

const knownPreset = (config: LlmBackend) =>
  config.preset !== undefined && Schema.is(Presets.PresetName)(config.preset) ? Presets.get(config.preset) : undefined

const baseUrlOf = (config: LlmBackend) =>
  (config.baseUrl ?? knownPreset(config)?.baseUrl ?? Presets.get("vllm").baseUrl).replace(/\/+$/, "")

// An OpenAI-compatible endpoint's client, after the preset and API key checks.
const endpointClient = (
  config: LlmBackend
): Effect.Effect<ChatClient.ChatClientShape, PipelineError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const preset = config.preset
    if (preset !== undefined && !Schema.is(Presets.PresetName)(preset)) {
      return yield* new PipelineError({
        reason: "config",
        detail: `backends.llm.preset "${preset}" is not a known preset`,
        hint: `use one of ${Presets.PresetName.literals.join(", ")}`
      })
    }
    const { keyEnv, key } = apiKeyOf(config)
    if (preset !== undefined && Presets.get(preset).requiresApiKey && (key === undefined || key === "")) {
      return yield* new PipelineError({
        reason: "config",
        detail: `the ${preset} preset needs an API key in $${keyEnv}, which is not set`,
        hint: `export ${keyEnv}=... (keys are read from the environment, never from config files)`
      })
    }
    return yield* OpenAiCompatible.make({
      model: llmModel(config),
      ...(preset !== undefined ? { preset } : {}),
      ...(config.baseUrl !== undefined ? { baseUrl: config.baseUrl } : {}),
      ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
      ...(key !== undefined && key !== "" ? { apiKey: Redacted.make(key) } : {})
    })
  })

// Retries, limits, the run's response cache and cost accounting around a base client; the budget cap is the run's.
const stack = (config: LlmBackend, base: ChatClient.ChatClientShape, runDir: string, spentBefore: number) =>
  Effect.gen(function* () {
    const cache = yield* ResponseCache.make({ dir: path.join(runDir, "llm-cache") }).pipe(
      Effect.mapError(
        (e) =>
          new PipelineError({
            reason: "io",
            detail: `LLM response cache: ${e.message}`,
            hint: `check ${path.join(runDir, "llm-cache")} is writable`
          })
      )
    )
    // Usage is always tracked (tokens per stage in the manifest); cost needs prices, the budget cap needs maxCostUsd.
    // The cap is the run's: what earlier invocations spent (before a crash or a budget stop) counts against it.
    if (config.maxCostUsd !== undefined && spentBefore >= config.maxCostUsd) {
      return yield* new PipelineError({
        reason: "budget",
        detail: `the budget cap backends.llm.maxCostUsd ${config.maxCostUsd} was already spent by earlier invocations on ${runDir} (${spentBefore.toFixed(4)} USD, see llmCumulative in its manifest.json)`,
        hint: "raise backends.llm.maxCostUsd to go on: finished work and cached answers are kept and cost nothing"
      })
    }
    const traffic = Traffic.make()
    const cost = CostTracker.make({
      traffic,
      prices: {
        [base.model]: { inputPer1M: config.pricePerMillionInput ?? 0, outputPer1M: config.pricePerMillionOutput ?? 0 }
      },
      // the configured cap, with what earlier invocations spent counted against it (the message names the cap)
      ...(config.maxCostUsd !== undefined ? { budget: config.maxCostUsd, spentBefore } : {})
    })
    const client = ClientStack.wrap(base, {
      limits: { maxInFlight: config.maxInFlight ?? 16 },
      retry: { maxAttempts: config.maxAttempts ?? 6 },
      coolDownMs: config.coolDownMs ?? setAsideDefaults.coolDownMs,
      traffic,
      cache,
      cost
    })
    return { client, cost, traffic } satisfies Llm
  })

const ggufMagic = "GGUF"

const ggufError = (file: string, detail: string) =>
  new PipelineError({
    reason: "config",
    detail: `backends.llm.gguf ${file}: ${detail}`,
    hint: "point backends.llm.gguf / --gguf at a GGUF model file (e.g. a Qwen2.5-Instruct Q4_K_M .gguf); nothing was run yet"
  })

/**
 * Checks that a local model file exists and starts like a GGUF file (magic bytes "GGUF"), without loading it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkGguf = (file: string): Effect.Effect<void, PipelineError> =>
  Effect.gen(function* () {
    const stat = yield* Effect.try({
      try: () => fs.statSync(file),
      catch: () => ggufError(file, "no such file")
    })
    if (!stat.isFile()) return yield* ggufError(file, "is not a file")
    const head = Buffer.alloc(4)
    const read = yield* Effect.try({
      try: () => {
        const fd = fs.openSync(file, "r")
        try {
          return fs.readSync(fd, head, 0, 4, 0)
        } finally {
          fs.closeSync(fd)
        }
      },
      catch: (e) => ggufError(file, `cannot be read (${(e as Error).message})`)
    })
    if (read < 4 || head.toString("latin1") !== ggufMagic)
      return yield* ggufError(file, `is not a GGUF file (it does not start with the bytes "GGUF")`)
  })

/**
 * The SHA-256 of a file, streamed (a GGUF can be gigabytes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fileSha256 = (file: string): Effect.Effect<string, PipelineError> =>
  Hash.hashFile(file).pipe(Effect.mapError((e) => ggufError(file, `cannot be read (${e.message})`)))

// A local GGUF run in-process: checked, hashed, then loaded by node-llama-cpp, which is imported only now.
const ggufClient = (
  config: LlmBackend,
  file: string
): Effect.Effect<ChatClient.ChatClientShape, PipelineError, Scope.Scope> =>
  Effect.gen(function* () {
    if (config.baseUrl !== undefined || config.preset !== undefined) {
      return yield* new PipelineError({
        reason: "config",
        detail: `backends.llm names both a local GGUF (gguf: ${file}) and an endpoint (${config.baseUrl ?? `preset ${config.preset}`})`,
        hint: "keep one: drop backends.llm.gguf / --gguf to use the endpoint, or baseUrl / preset (and --llm-base-url / --llm-preset) to run the GGUF in-process"
      })
    }
    yield* checkGguf(file)
    const sha256 = yield* fileSha256(file)
    // the hash is part of the model name: judges and artifact keys name the model, so another file under the same
    // name never reuses their answers or artifacts, and the manifest records which bytes ran
    const model = `${llmModel(config)}@sha256:${sha256}`
    return yield* LlamaCpp.make({
      modelPath: file,
      id: `llama.cpp:${model}`,
      model,
      contextSize: config.contextSize ?? 4096,
      ...(config.threads !== undefined ? { threads: config.threads } : {})
    }).pipe(
      Effect.mapError((e) =>
        e.reason === "not-installed"
          ? new PipelineError({
              reason: "backend-missing",
              detail: `backends.llm.gguf ${file} needs node-llama-cpp, which is not installed (${e.message})`,
              hint: `${LlamaCpp.installCommand} (in the folder you run ssra from), or serve the model (llama-server -m ${file}) and use --llm-preset llamacpp-server; nothing was run yet`
            })
          : ggufError(file, `node-llama-cpp cannot load it (${e.message})`)
      )
    )
  })

/**
 * Fails fast, before any work, when the configured LLM endpoint cannot be reached at all (connection refused,
 * DNS failure, timeout; any HTTP answer counts as reachable), or when a configured GGUF file is missing or is not
 * a GGUF file. Sends no completion request and loads no model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const preflight = (config: LlmBackend): Effect.Effect<void, PipelineError, HttpClient.HttpClient> => {
  if (config.gguf !== undefined) return checkGguf(config.gguf)
  const baseUrl = baseUrlOf(config)
  const unreachable = (reason: string) =>
    new PipelineError({
      reason: "backend-unreachable",
      detail: `cannot reach the LLM endpoint ${baseUrl} (${reason})`,
      hint: "start the server or fix backends.llm.baseUrl / --llm-base-url; nothing was run yet"
    })
  return HttpClient.get(`${baseUrl}/models`).pipe(
    // any HTTP answer counts: the body is read (and dropped) so the connection is released
    Effect.flatMap((response) => Effect.ignore(response.text)),
    Effect.mapError((error) => unreachable(failureCode(error))),
    Effect.timeoutOrElse({
      duration: Duration.millis(5000),
      orElse: () => Effect.fail(unreachable("no answer within 5 s"))
    })
  )
}

/**
 * What a failed request's causes say: the first system error code (`ECONNREFUSED`, `ENOTFOUND`, …) anywhere in the
 * chain of `cause`s (and an `AggregateError`'s `errors`), else the innermost message.
 */
const failureCode = (error: unknown): string => {
  let message: string | undefined
  const seen = new Set<unknown>()
  const queue: Array<unknown> = [error]
  while (queue.length > 0) {
    const next = queue.shift()
    if (typeof next !== "object" || next === null || seen.has(next)) continue
    seen.add(next)
    const e = next as { code?: unknown; message?: unknown; cause?: unknown; reason?: unknown; errors?: unknown }
    if (typeof e.code === "string" && /^E[A-Z_]+$/.test(e.code)) return e.code
    if (typeof e.message === "string" && e.message !== "") message = e.message
    queue.push(e.reason, e.cause, ...(Array.isArray(e.errors) ? e.errors : []))
  }
  return message ?? String(error)
}

/**
 * Whether the LLM backend returns logprobs, and who said so: `backends.llm.logprobs` ("config"), else the named
 * preset ("preset"), else a local GGUF (node-llama-cpp returns none: "gguf"), else the endpoint itself, asked once
 * with one tiny chat request (`logprobs: true, top_logprobs: 5, n: 2, max_tokens: 1`, "probe"), which also tells
 * whether the server caps `n` at 1 (one choice back). A probe that gets no usable answer (unreachable, an HTTP
 * error other than 400/422) is "assumed": no logprobs, the plan's upper bound.
 *
 * @since 0.1.0
 * @category models
 */
export interface Logprobs {
  readonly value: boolean
  readonly source: "config" | "preset" | "gguf" | "probe" | "assumed"
  /** The probe got one choice for `n: 2`: the server answers one sample per request. */
  readonly maxN?: number | undefined
  /** Why the probe's answer was not usable ("assumed" only). */
  readonly detail?: string | undefined
}

/**
 * Resolves `Logprobs` for a backend; sends at most one probe request (three on a flaky endpoint), each reported
 * to `onAttempt` (the run's traffic counts it), and never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const logprobsOf = (
  config: LlmBackend,
  onAttempt: () => void = () => {}
): Effect.Effect<Logprobs, never, HttpClient.HttpClient> => {
  if (config.logprobs !== undefined) return Effect.succeed({ value: config.logprobs, source: "config" })
  if (config.gguf !== undefined) return Effect.succeed({ value: false, source: "gguf" })
  const preset = knownPreset(config)
  if (preset !== undefined) return Effect.succeed({ value: preset.quirks.logprobs, source: "preset" })
  // a flaky endpoint gets three tries before the answer is assumed
  const attempt = (left: number): Effect.Effect<Logprobs, never, HttpClient.HttpClient> =>
    Effect.sync(onAttempt).pipe(
      Effect.andThen(probeLogprobs(config)),
      Effect.flatMap((answer) => (answer.source === "assumed" && left > 1 ? attempt(left - 1) : Effect.succeed(answer)))
    )
  return attempt(3)
}

interface ProbeAnswer {
  readonly choices?: Array<{ logprobs?: { content?: Array<{ top_logprobs?: Array<unknown> | null }> | null } | null }>
}

const probeLogprobs = (config: LlmBackend): Effect.Effect<Logprobs, never, HttpClient.HttpClient> => {
  const { key } = apiKeyOf(config)
  const timeoutMs = config.timeoutMs ?? 30_000
  const request = HttpClientRequest.post(`${baseUrlOf(config)}/chat/completions`).pipe(
    HttpClientRequest.setHeaders(key !== undefined && key !== "" ? { authorization: `Bearer ${key}` } : {}),
    HttpClientRequest.bodyJsonUnsafe({
      model: llmModel(config),
      messages: [{ role: "user", content: "Answer with one digit: 1" }],
      logprobs: true,
      top_logprobs: 5,
      n: 2,
      max_tokens: 1
    })
  )
  return HttpClient.execute(request).pipe(
    Effect.flatMap((response): Effect.Effect<Logprobs, unknown> => {
      // a server that rejects the logprobs parameters answers 400 / 422: it returns none
      if (response.status === 400 || response.status === 422) return Effect.succeed({ value: false, source: "probe" })
      if (response.status < 200 || response.status >= 300)
        return Effect.succeed({ value: false, source: "assumed", detail: `the probe got HTTP ${response.status}` })
      return Effect.map(response.json, (json): Logprobs => {
        const body = json as ProbeAnswer
        // a 200 without choices is no answer (a proxy's error page, a misbehaving server): assume, don't conclude
        if ((body.choices?.length ?? 0) === 0)
          return { value: false, source: "assumed", detail: "the probe's answer had no choices" }
        const first = body.choices?.[0]?.logprobs?.content?.[0]
        const value = (first?.top_logprobs?.length ?? 0) > 0
        return { value, source: "probe", ...((body.choices?.length ?? 0) < 2 ? { maxN: 1 } : {}) }
      })
    }),
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail(new Error(`no answer within ${timeoutMs} ms`))
    }),
    Effect.catch((cause) =>
      Effect.succeed<Logprobs>({ value: false, source: "assumed", detail: `the probe failed (${failureCode(cause)})` })
    )
  )
}
