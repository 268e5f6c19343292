/**
 * OpenAI-compatible fine-tuning jobs: upload the chat JSONL (`/v1/files`, purpose `fine-tune`), create the job
 * (`/v1/fine_tuning/jobs`), poll until it ends, and return the fine-tuned model id to serve the query or score
 * model from.
 *
 * @since 0.1.0
 */
import { Effect, type Redacted } from "effect"
import type { HttpClient } from "effect/http"
import { LlmError } from "./ChatClient.js"
import { decodeOr, upload } from "./internal/files.js"
import * as Transport from "./internal/transport.js"
import * as Wire from "./internal/wire.js"
import { resolve } from "./OpenAiCompatible.js"
import type * as Presets from "./Presets.js"
import * as Retry from "./Retry.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface FineTuningConfig {
  readonly preset?: Presets.PresetName | undefined
  readonly baseUrl?: string | undefined
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeoutMs?: number | undefined
  /** Default 30 s. */
  readonly pollIntervalMs?: number | undefined
  readonly retry?: Retry.RetryPolicy | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FineTuningRequest {
  /** Base model to fine-tune. */
  readonly model: string
  readonly trainingFile: string
  readonly validationFile?: string | undefined
  readonly suffix?: string | undefined
  readonly seed?: number | undefined
  readonly hyperparameters?:
    | {
        readonly n_epochs?: number | "auto"
        readonly batch_size?: number | "auto"
        readonly learning_rate_multiplier?: number | "auto"
      }
    | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FineTuningResult {
  readonly jobId: string
  readonly status: string
  readonly fineTunedModel: string
  readonly trainedTokens: number | undefined
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"])

/**
 * Uploads the files, creates the job, polls until it ends; fails unless it succeeded with a model id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  config: FineTuningConfig,
  request: FineTuningRequest,
  options: { readonly onStatus?: ((job: Wire.FineTuningJob) => void) | undefined } = {}
): Effect.Effect<FineTuningResult, LlmError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { preset, baseUrl, timeoutMs } = resolve({ ...config, model: request.model })
    const transport = yield* Transport.make({
      baseUrl,
      apiKey: config.apiKey,
      auth: preset.auth,
      headers: config.headers,
      timeoutMs
    })
    const retry = <A>(effect: Effect.Effect<A, LlmError>) => Retry.retrying(config.retry ?? {}, effect)
    const trainingId = yield* retry(upload(transport, request.trainingFile, "fine-tune"))
    const validationId =
      request.validationFile === undefined
        ? undefined
        : yield* retry(upload(transport, request.validationFile, "fine-tune"))
    const created = yield* retry(
      transport.postJson("/fine_tuning/jobs", {
        model: request.model,
        training_file: trainingId,
        ...(validationId !== undefined ? { validation_file: validationId } : {}),
        ...(request.suffix !== undefined ? { suffix: request.suffix } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.hyperparameters !== undefined ? { hyperparameters: request.hyperparameters } : {})
      })
    ).pipe(Effect.flatMap(decodeOr(Wire.FineTuningJob, transport.endpoint("/fine_tuning/jobs"), "a fine-tuning job")))
    let job = created
    options.onStatus?.(job)
    while (!TERMINAL.has(job.status)) {
      yield* Effect.sleep(config.pollIntervalMs ?? 30_000)
      job = yield* retry(transport.getJson(`/fine_tuning/jobs/${encodeURIComponent(created.id)}`)).pipe(
        Effect.flatMap(
          decodeOr(Wire.FineTuningJob, transport.endpoint(`/fine_tuning/jobs/${created.id}`), "a fine-tuning job")
        )
      )
      options.onStatus?.(job)
    }
    if (job.status !== "succeeded" || !job.fine_tuned_model) {
      return yield* Effect.fail(
        new LlmError({
          reason: "unavailable",
          endpoint: transport.endpoint(`/fine_tuning/jobs/${created.id}`),
          message: `fine-tuning job ${created.id} ended "${job.status}"${job.error?.message ? `: ${job.error.message}` : ""}; check the training file format and the provider console`,
          retryable: false
        })
      )
    }
    return {
      jobId: created.id,
      status: job.status,
      fineTunedModel: job.fine_tuned_model,
      trainedTokens: job.trained_tokens ?? undefined
    }
  })
