/**
 * The server's configuration: where to listen, which bearer tokens to accept, the request limits, micro-batching
 * and logging. `validate` enforces the safety rule that a non-loopback address needs a token unless
 * `allowUnauthenticated` says otherwise.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"
import { type BatchingOptions, defaultBatching } from "./EmbeddingBatcher.js"

/**
 * Request limits. Batch size counts texts per request (`input`, `documents`, `pairs`, `candidates`); text
 * length counts UTF-16 code units of any one text.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly maxBodyBytes: number
  readonly maxBatchSize: number
  readonly maxTextLength: number
  readonly maxConcurrent: number
  readonly maxQueue: number
  /** Seconds sent in `Retry-After` with a 429. */
  readonly retryAfterSeconds: number
  /** Time to receive the request body after the headers. */
  readonly bodyTimeoutMs: number
  /** Time to answer once the body is in (queueing included). */
  readonly requestTimeoutMs: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Limits = {
  maxBodyBytes: 1024 * 1024,
  maxBatchSize: 256,
  maxTextLength: 8192,
  maxConcurrent: 64,
  maxQueue: 256,
  retryAfterSeconds: 1,
  bodyTimeoutMs: 10_000,
  requestTimeoutMs: 30_000
}

/**
 * Listening, auth, limits and logging options (models are separate: see `ModelLoader`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerConfig {
  /** Address to bind; default `127.0.0.1`. */
  readonly host?: string | undefined
  /** Port; default 8080, `0` picks a free one. */
  readonly port?: number | undefined
  /** Bearer tokens; when any is set every endpoint but `/healthz` requires one. */
  readonly tokens?: ReadonlyArray<string> | undefined
  /** Allow binding a non-loopback address without tokens. */
  readonly allowUnauthenticated?: boolean | undefined
  readonly limits?: Partial<Limits> | undefined
  readonly batching?: Partial<BatchingOptions> | undefined
  /**
   * Where access-log lines (JSON, one per request) go: `true`/absent → stdout (written in batches every 20 ms,
   * flushed on shutdown), `false` → nowhere, a function → called once per line, synchronously.
   */
  readonly accessLog?: boolean | ((line: string) => void) | undefined
  /** How long shutdown waits for in-flight requests; default 20 s. */
  readonly shutdownTimeoutMs?: number | undefined
  /**
   * Answer valid `/v1/embeddings` requests ahead of the HttpApi router (same limits, auth, metrics and logs; the
   * same response); default `true`. `false` sends every request through the router.
   */
  readonly fastPath?: boolean | undefined
}

/**
 * A configuration the server refuses to start with.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerConfigError extends Schema.TaggedError<ServerConfigError>()("ServerConfigError", {
  field: Schema.String,
  message: Schema.String
}) {
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("usage", { label: "server config" })
  }
}

/**
 * The configuration with defaults filled in.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedConfig {
  readonly host: string
  readonly port: number
  readonly tokens: ReadonlyArray<string>
  readonly limits: Limits
  readonly batching: BatchingOptions
  readonly accessLog: ((line: string) => void) | undefined
  readonly shutdownTimeoutMs: number
  readonly fastPath: boolean
}

/**
 * The default access-log sink: one line to stdout. The server batches lines sent here (one write every few
 * milliseconds instead of a synchronous write per request) and flushes them on shutdown and process exit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stdoutLog = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/**
 * Whether `host` only accepts connections from this machine.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLoopback = (host: string): boolean => {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1"
}

const positiveInt = (field: string, value: number): ServerConfigError | undefined =>
  Number.isInteger(value) && value > 0
    ? undefined
    : new ServerConfigError({ field, message: `${field} must be a positive integer, got ${value}` })

/**
 * Fills defaults and checks the configuration.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (config: ServerConfig): ResolvedConfig | ServerConfigError => {
  const host = config.host ?? "127.0.0.1"
  const port = config.port ?? 8080
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return new ServerConfigError({ field: "port", message: `port must be an integer 0..65535, got ${port}` })
  }
  const tokens = (config.tokens ?? []).map((t) => t.trim()).filter((t) => t.length > 0)
  if (tokens.length === 0 && !isLoopback(host) && config.allowUnauthenticated !== true) {
    return new ServerConfigError({
      field: "host",
      message:
        `refusing to bind ${host} without a bearer token: anyone who can reach it could use the models. ` +
        "Configure a token (--token-file or SSRA_SERVER_TOKENS), bind 127.0.0.1, or pass --allow-unauthenticated."
    })
  }
  const limits: Limits = { ...defaultLimits, ...config.limits }
  for (const [field, value] of Object.entries(limits)) {
    const error = positiveInt(`limits.${field}`, value)
    if (error !== undefined) return error
  }
  const batching: BatchingOptions = { ...defaultBatching, ...config.batching }
  const batchSizeError = positiveInt("batching.maxBatchSize", batching.maxBatchSize)
  if (batchSizeError !== undefined) return batchSizeError
  if (!(batching.maxWaitMs >= 0 && batching.maxWaitMs <= 1000)) {
    return new ServerConfigError({
      field: "batching.maxWaitMs",
      message: `batching.maxWaitMs must be within 0..1000, got ${batching.maxWaitMs}`
    })
  }
  const accessLog =
    config.accessLog === false ? undefined : typeof config.accessLog === "function" ? config.accessLog : stdoutLog
  return {
    host,
    port,
    tokens,
    limits,
    batching,
    accessLog,
    shutdownTimeoutMs: config.shutdownTimeoutMs ?? 20_000,
    fastPath: config.fastPath ?? true
  }
}
