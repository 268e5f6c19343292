/**
 * OpenAI-compatible batch jobs for massive runs: write the Batch JSONL (one `/v1/chat/completions` body per
 * `custom_id`), upload it (`/v1/files`), create the batch (`/v1/batches`), poll, download the output and join the
 * answers back by custom id. Every step is recorded in a state file (written atomically), so a rerun after a crash
 * resumes instead of uploading or paying twice.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import { AtomicFile, Hash } from "@ssra/core"
import { Effect, type Redacted } from "effect"
import type { HttpClient } from "effect/http"
import type { ChatRequest, ChatResponse } from "./ChatClient.js"
import { LlmError } from "./ChatClient.js"
import { decodeOr, download, upload } from "./internal/files.js"
import * as Transport from "./internal/transport.js"
import * as Wire from "./internal/wire.js"
import { fromWire, resolve, toWireBody } from "./OpenAiCompatible.js"
import type * as Presets from "./Presets.js"
import * as Retry from "./Retry.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchRequest {
  readonly customId: string
  readonly request: ChatRequest
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchJobsConfig {
  readonly preset?: Presets.PresetName | undefined
  readonly baseUrl?: string | undefined
  readonly model: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeoutMs?: number | undefined
  /** Default 30 s. */
  readonly pollIntervalMs?: number | undefined
  /** Default "24h". */
  readonly completionWindow?: string | undefined
  readonly retry?: Retry.RetryPolicy | undefined
}

/**
 * What the state file records.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchState {
  readonly inputFile: string
  readonly inputSha256: string
  readonly inputFileId?: string | undefined
  readonly batchId?: string | undefined
  readonly status?: string | undefined
  readonly outputFileId?: string | undefined
  readonly errorFileId?: string | undefined
  readonly outputFile?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchResult {
  readonly batchId: string
  readonly status: string
  readonly results: ReadonlyMap<string, ChatResponse>
  readonly errors: ReadonlyMap<string, string>
}

/**
 * One JSONL line of the Batch input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toLine = (config: BatchJobsConfig, item: BatchRequest): string => {
  const { quirks } = resolve(config)
  return JSON.stringify({
    custom_id: item.customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: toWireBody(config.model, item.request, quirks, Math.max(1, item.request.n ?? 1))
  })
}

/**
 * Writes the Batch input file atomically; custom ids must be unique.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeInput = (
  file: string,
  config: BatchJobsConfig,
  items: Iterable<BatchRequest>
): Effect.Effect<{ readonly rows: number }, LlmError> =>
  Effect.try({
    try: () => {
      const seen = new Set<string>()
      const writer = AtomicFile.openSync(file)
      let rows = 0
      try {
        for (const item of items) {
          if (seen.has(item.customId)) throw new Error(`duplicate custom_id "${item.customId}" (row ${rows + 1})`)
          seen.add(item.customId)
          writer.write(`${toLine(config, item)}\n`)
          rows++
        }
        writer.commit()
      } catch (error) {
        writer.abort()
        throw error
      }
      return { rows }
    },
    catch: (error) =>
      new LlmError({
        reason: "bad-request",
        endpoint: `file:${file}`,
        message: (error as Error).message,
        retryable: false
      })
  })

/**
 * Joins a Batch output JSONL back by custom id (answers with a non-2xx status and per-line errors go to `errors`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseOutput = (
  text: string,
  model: string
): { readonly results: Map<string, ChatResponse>; readonly errors: Map<string, string> } => {
  const results = new Map<string, ChatResponse>()
  const errors = new Map<string, string>()
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "") continue
    let row: unknown
    try {
      row = JSON.parse(line)
    } catch (error) {
      errors.set(`<line ${i + 1}>`, `malformed output line: ${(error as Error).message}`)
      continue
    }
    const decoded = Effect.runSync(
      Effect.result(decodeOr(Wire.BatchOutputLine, "batch-output", "a batch output line")(row))
    )
    if (decoded._tag === "Failure") {
      errors.set(`<line ${i + 1}>`, decoded.failure.message)
      continue
    }
    const out = decoded.success
    if (out.error) {
      errors.set(out.custom_id, out.error.message)
      continue
    }
    if (!out.response || out.response.status_code < 200 || out.response.status_code >= 300) {
      errors.set(
        out.custom_id,
        `status ${out.response?.status_code ?? "missing"}: ${JSON.stringify(out.response?.body ?? null).slice(0, 300)}`
      )
      continue
    }
    const body = Effect.runSync(
      Effect.result(decodeOr(Wire.ChatCompletion, "batch-output", "a chat completion")(out.response.body))
    )
    if (body._tag === "Failure") errors.set(out.custom_id, body.failure.message)
    else results.set(out.custom_id, fromWire(body.success, model))
  }
  return { results, errors }
}

const TERMINAL = new Set(["completed", "failed", "expired", "cancelled"])

const readState = (stateFile: string): BatchState | undefined => {
  if (!fs.existsSync(stateFile)) return undefined
  return JSON.parse(fs.readFileSync(stateFile, "utf8")) as BatchState
}

/**
 * Uploads, creates, polls, downloads and joins — resuming from `stateFile` when it exists for the same input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  config: BatchJobsConfig,
  options: {
    readonly inputFile: string
    readonly stateFile: string
    readonly outputFile: string
    readonly onStatus?: ((batch: Wire.Batch) => void) | undefined
  }
): Effect.Effect<BatchResult, LlmError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { preset, baseUrl, timeoutMs } = resolve(config)
    const transport = yield* Transport.make({
      baseUrl,
      apiKey: config.apiKey,
      auth: preset.auth,
      headers: config.headers,
      timeoutMs: config.timeoutMs ?? timeoutMs
    })
    const retry = <A>(effect: Effect.Effect<A, LlmError>) => Retry.retrying(config.retry ?? {}, effect)
    const stateError = (message: string) =>
      new LlmError({ reason: "bad-request", endpoint: `file:${options.stateFile}`, message, retryable: false })
    const inputSha256 = yield* Hash.hashFile(options.inputFile).pipe(
      Effect.mapError((e) => stateError(`cannot read the batch input: ${e.message}`))
    )
    const previous = yield* Effect.try({
      try: () => readState(options.stateFile),
      catch: (e) => stateError(`unreadable state file: ${(e as Error).message}; delete it to start over`)
    })
    if (previous !== undefined && previous.inputSha256 !== inputSha256) {
      return yield* Effect.fail(
        stateError(
          `the state file belongs to a different input (${previous.inputFile}); delete it or use another state file`
        )
      )
    }
    let state: BatchState = previous ?? { inputFile: options.inputFile, inputSha256 }
    const save = (patch: Partial<BatchState>) =>
      Effect.suspend(() => {
        state = { ...state, ...patch }
        return AtomicFile.writeJson(options.stateFile, state).pipe(Effect.mapError((e) => stateError(e.message)))
      })

    if (state.inputFileId === undefined) {
      const id = yield* retry(upload(transport, options.inputFile, "batch"))
      yield* save({ inputFileId: id })
    }
    if (state.batchId === undefined) {
      const json = yield* retry(
        transport.postJson("/batches", {
          input_file_id: state.inputFileId,
          endpoint: "/v1/chat/completions",
          completion_window: config.completionWindow ?? "24h"
        })
      )
      const batch = yield* decodeOr(Wire.Batch, transport.endpoint("/batches"), "a batch object")(json)
      yield* save({ batchId: batch.id, status: batch.status })
    }
    const batchId = state.batchId!
    let batch: Wire.Batch | undefined
    while (batch === undefined || !TERMINAL.has(batch.status)) {
      if (batch !== undefined) yield* Effect.sleep(config.pollIntervalMs ?? 30_000)
      const json = yield* retry(transport.getJson(`/batches/${encodeURIComponent(batchId)}`))
      batch = yield* decodeOr(Wire.Batch, transport.endpoint(`/batches/${batchId}`), "a batch object")(json)
      options.onStatus?.(batch)
      if (batch.status !== state.status) yield* save({ status: batch.status })
    }
    const results = new Map<string, ChatResponse>()
    const errors = new Map<string, string>()
    if (batch.output_file_id) {
      let text: string
      if (
        state.outputFile === options.outputFile &&
        state.outputFileId === batch.output_file_id &&
        fs.existsSync(options.outputFile)
      ) {
        text = fs.readFileSync(options.outputFile, "utf8")
      } else {
        text = yield* retry(download(transport, batch.output_file_id))
        yield* AtomicFile.writeFile(options.outputFile, text).pipe(Effect.mapError((e) => stateError(e.message)))
        yield* save({ outputFileId: batch.output_file_id, outputFile: options.outputFile })
      }
      const joined = parseOutput(text, config.model)
      for (const [k, v] of joined.results) results.set(k, v)
      for (const [k, v] of joined.errors) errors.set(k, v)
    }
    if (batch.error_file_id) {
      const text = yield* retry(download(transport, batch.error_file_id))
      const joined = parseOutput(text, config.model)
      for (const [k, v] of joined.errors) errors.set(k, v)
      yield* save({ errorFileId: batch.error_file_id })
    }
    return { batchId, status: batch.status, results, errors }
  })
