/**
 * Hand-offs to training outside ssra: a stage whose model is `fine-tuned` either finds its served endpoint
 * (`backends.external.*`) and goes on with it, or writes the SFT kit for that model into the run directory,
 * records the hand-off in the manifest and stops the run with the commands to train, serve and go on.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Hash } from "@ssra/core"
import { SftKit } from "@ssra/llm"
import { Duration, Effect, type Scope } from "effect"
import { HttpClient } from "effect/http"
import * as Backends from "./Backends.js"
import type { RunContext } from "./internal/context.js"
import type { Endpoint } from "./PipelineConfig.js"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"

/**
 * The models a run can hand off.
 *
 * @since 0.1.0
 * @category models
 */
export type Which = "scoreModel" | "vanilla" | "queryModelV1" | "queryModelV2"

interface Described {
  readonly model: string
  readonly flag: string
  readonly kit: string
  readonly task: "score-model" | "query-model"
}

/**
 * What each hand-off is called, its resume flag and its kit's directory name.
 *
 * @since 0.1.0
 * @category constants
 */
export const described: Readonly<Record<Which, Described>> = {
  scoreModel: { model: "score model", flag: "--score-model-endpoint", kit: "score-model", task: "score-model" },
  vanilla: {
    model: "vanilla SFT query model",
    flag: "--vanilla-query-model-endpoint",
    kit: "query-model-vanilla",
    task: "query-model"
  },
  queryModelV1: {
    model: "query model v1",
    flag: "--query-model-v1-endpoint",
    kit: "query-model-v1",
    task: "query-model"
  },
  queryModelV2: {
    model: "query model v2",
    flag: "--query-model-v2-endpoint",
    kit: "query-model-v2",
    task: "query-model"
  }
}

/**
 * The endpoint configured for a model, if any.
 *
 * @since 0.1.0
 * @category accessors
 */
export const endpointOf = (ctx: RunContext, which: Which): Endpoint | undefined => ctx.config.backends.external?.[which]

/**
 * An endpoint's model id: the configured one, else the only id its `/models` route lists.
 *
 * @since 0.1.0
 * @category constructors
 */
export const modelOf = (
  endpoint: Endpoint,
  which: Which
): Effect.Effect<string, PipelineError, HttpClient.HttpClient> => {
  if (endpoint.model !== undefined) return Effect.succeed(endpoint.model)
  const cannotTell = (why: string) =>
    new PipelineError({
      reason: "config",
      detail: `cannot tell which model to ask ${endpoint.baseUrl} for (the ${described[which].model}): ${why}`,
      hint: `name it: ${described[which].flag} '${endpoint.baseUrl}#MODEL' (config backends.external.${which}.model)`
    })
  return HttpClient.get(`${endpoint.baseUrl.replace(/\/+$/, "")}/models`).pipe(
    Effect.mapError((error) => cannotTell(error.message)),
    Effect.flatMap((response) =>
      response.status < 200 || response.status >= 300
        ? Effect.fail(cannotTell(`GET /models answered ${response.status}`))
        : Effect.mapError(response.json, (error) => cannotTell(error.message))
    ),
    Effect.flatMap((json) => {
      const body = json as { data?: Array<{ id?: unknown }> } | null
      const ids = (body?.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string")
      return ids.length === 1
        ? Effect.succeed(ids[0]!)
        : Effect.fail(cannotTell(`/models lists ${ids.length} models (${ids.slice(0, 5).join(", ")})`))
    }),
    Effect.timeoutOrElse({
      duration: Duration.millis(10_000),
      orElse: () => Effect.fail(cannotTell("GET /models gave no answer within 10 s"))
    })
  )
}

/**
 * Fails with `backend-unreachable`, naming the flag and the served model, when nothing answers at `endpoint`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reachable = (
  which: Which,
  endpoint: Endpoint
): Effect.Effect<void, PipelineError, HttpClient.HttpClient> =>
  Backends.preflight({ baseUrl: endpoint.baseUrl, model: "" }).pipe(
    Effect.mapError(
      (e) =>
        new PipelineError({
          ...e,
          detail: `${e.detail}: the served ${described[which].model}`,
          hint: `start the server (the kit's serve.sh) or fix ${described[which].flag} / backends.external.${which}.baseUrl; nothing was run yet`
        })
    )
  )

/**
 * A chat client for a served fine-tuned model (reachability checked first), through the same client stack as
 * `backends.llm`: retries, the run's response cache, usage accounting.
 *
 * @since 0.1.0
 * @category constructors
 */
export const client = (
  ctx: RunContext,
  which: Which,
  endpoint: Endpoint
): Effect.Effect<
  { readonly llm: Backends.Llm; readonly model: string },
  PipelineError,
  Scope.Scope | HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const backend = {
      baseUrl: endpoint.baseUrl,
      model: "",
      ...(endpoint.apiKeyEnv !== undefined ? { apiKeyEnv: endpoint.apiKeyEnv } : {}),
      ...(endpoint.maxInFlight !== undefined ? { maxInFlight: endpoint.maxInFlight } : {})
    }
    yield* reachable(which, endpoint)
    const model = yield* modelOf(endpoint, which)
    const llm = yield* Backends.llm({ ...backend, model }, ctx.runDir, `the ${described[which].model}`)
    yield* markServed(ctx, which, `${endpoint.baseUrl}#${model}`)
    return { llm, model }
  })

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

/**
 * Writes the SFT kit of a model that has no endpoint yet (content-addressed: the same data reuses the same kit
 * directory, so a kit a team is training in is never overwritten), records the hand-off and stops the run with
 * `awaiting-training`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const handoff = (
  ctx: RunContext,
  which: Which,
  stage: string,
  rows: ReadonlyArray<SftKit.ChatRow>
): Effect.Effect<never, PipelineError> =>
  Effect.gen(function* () {
    const what = described[which]
    const dir = path.join(ctx.runDir, "handoff", `${what.kit}-${Hash.hashValue(rows).slice(0, 12)}`)
    if (!fs.existsSync(path.join(dir, "launch.sh"))) {
      const baseModel = ctx.config.backends.external?.baseModel
      yield* SftKit.write(dir, {
        task: what.task,
        ...(which === "vanilla"
          ? { variant: "vanilla" as const }
          : which === "queryModelV1"
            ? { variant: "v1" as const }
            : which === "queryModelV2"
              ? { variant: "v2" as const }
              : {}),
        rows,
        ...(baseModel !== undefined ? { config: { model: baseModel } } : {})
      }).pipe(
        Effect.mapError(
          (e) =>
            new PipelineError({
              reason: e.reason === "io" ? "io" : "internal",
              stage,
              detail: `cannot write the SFT kit for the ${what.model} into ${dir}: ${e.message}`,
              ...(e.reason === "io" ? { hint: "check the disk has space, then rerun: finished stages are kept" } : {})
            })
        )
      )
    }
    const quoted = shellQuote(dir)
    const served = servedName(dir)
    const train = `cd ${quoted} && ./launch.sh   # NPROC=8 for 8 GPUs; --model to change the base model`
    const serve = `cd ${quoted} && ./serve.sh    # or on GPUs: vllm serve ${quoted}/output/merged${served ? ` --served-model-name ${served}` : ""} --port 8000`
    const resume = `${what.flag} http://127.0.0.1:8000/v1${served ? `#${served}` : ""}`
    yield* ctx.recorder.setHandoff({
      stage,
      model: what.model,
      kit: dir,
      rows: rows.length,
      train,
      serve,
      resume,
      status: "awaiting"
    })
    yield* Progress.note(stage, `the ${what.model} is trained outside ssra: kit written to ${dir}`)
    return yield* new PipelineError({
      reason: "awaiting-training",
      stage,
      detail: `the ${what.model} is fine-tuned outside ssra and has no endpoint yet: its SFT kit (${rows.length} chat rows) is in ${dir}`,
      hint: `1. train: ${train}\n     2. serve: ${serve}\n     3. rerun the same command with ${resume} (config backends.external.${which}); finished stages are kept`
    })
  })

/** The model name the kit's serve.sh serves under (its sft_config.json), if it names one. */
const servedName = (dir: string): string | undefined => {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, "sft_config.json"), "utf8")) as {
      served_model_name?: unknown
    }
    return typeof config.served_model_name === "string" ? config.served_model_name : undefined
  } catch {
    return undefined
  }
}

/** Marks an earlier hand-off of this model as served by `endpoint`. */
const markServed = (ctx: RunContext, which: Which, endpoint: string) => {
  const found = (ctx.recorder.current().handoffs ?? []).find((h) => h.model === described[which].model)
  return found === undefined || (found.status === "served" && found.endpoint === endpoint)
    ? Effect.void
    : ctx.recorder.setHandoff({ ...found, status: "served", endpoint })
}
