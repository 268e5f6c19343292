/**
 * A persistent response cache on disk for any chat client, keyed by SHA-256 of (endpoint, model, messages,
 * parameters, seed): a rerun costs nothing and resumes where it stopped. Entries are appended to segment files,
 * each written atomically (temp + fsync + rename) every `flushEvery` new entries and when the scope closes; every
 * entry carries a checksum, and a corrupt or truncated entry is skipped on load so the call is made again.
 *
 * @since 0.1.0
 */

import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Hash } from "@ssra/core"
import { Effect, type Scope } from "effect"
import type { ChatClientShape, ChatRequest, ChatResponse, LlmError } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ResponseCacheOptions {
  readonly dir: string
  /** New entries buffered before a segment is written. Default 512. */
  readonly flushEvery?: number | undefined
  /** Segments on disk above which they are merged into one at open. Default 64. */
  readonly compactAbove?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResponseCacheStats {
  readonly entries: number
  readonly hits: number
  readonly misses: number
  /** Entries found corrupt (bad checksum, truncated line) at load; those calls are made again. */
  readonly corrupt: number
  readonly segments: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResponseCache {
  readonly dir: string
  readonly keyOf: (clientId: string, model: string, request: ChatRequest) => string
  readonly get: (key: string) => ChatResponse | undefined
  readonly put: (key: string, response: ChatResponse) => Effect.Effect<void, LlmError>
  readonly flush: Effect.Effect<void, LlmError>
  readonly stats: () => ResponseCacheStats
  readonly wrap: (client: ChatClientShape) => ChatClientShape
}

/**
 * The cache key of a request: everything that changes the answer (not the accounting `stage`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const keyOf = (clientId: string, model: string, request: ChatRequest): string =>
  Hash.hashValue({
    endpoint: clientId,
    model: request.model ?? model,
    messages: request.messages.map((m) => [m.role, m.content]),
    parameters: {
      temperature: request.temperature ?? null,
      topP: request.topP ?? null,
      maxTokens: request.maxTokens ?? null,
      n: request.n ?? 1,
      topLogprobs: request.topLogprobs ?? null,
      responseFormat: request.responseFormat ?? null,
      stop: request.stop ?? null
    },
    seed: request.seed ?? null
  })

const checksum = (key: string, value: string) => Hash.sha256(`${key}\n${value}`)

const ioError = (dir: string, error: unknown) =>
  new ChatClient.LlmError({
    reason: "unavailable",
    endpoint: `cache:${dir}`,
    message: `response cache I/O failed: ${(error as Error)?.message ?? String(error)} (check the directory is writable)`,
    retryable: false
  })

const loadSegment = (file: string, into: Map<string, string>): { loaded: number; corrupt: number } => {
  let loaded = 0
  let corrupt = 0
  const text = fs.readFileSync(file, "utf8")
  for (const line of text.split("\n")) {
    if (line.length === 0) continue
    try {
      const entry = JSON.parse(line) as { k?: unknown; c?: unknown; v?: unknown }
      if (typeof entry.k !== "string" || typeof entry.v !== "string" || entry.c !== checksum(entry.k, entry.v)) {
        corrupt++
        continue
      }
      JSON.parse(entry.v)
      into.set(entry.k, entry.v)
      loaded++
    } catch {
      corrupt++
    }
  }
  return { loaded, corrupt }
}

/**
 * Opens (or creates) the cache in `dir`; pending entries are written when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ResponseCacheOptions): Effect.Effect<ResponseCache, LlmError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = path.resolve(options.dir)
    const flushEvery = options.flushEvery ?? 512
    const entries = new Map<string, string>()
    let corrupt = 0
    let segments: Array<string> = []
    yield* Effect.try({
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        segments = fs
          .readdirSync(dir)
          .filter((f) => f.startsWith("segment-") && f.endsWith(".jsonl"))
          .sort()
          .map((f) => path.join(dir, f))
        for (const file of segments) corrupt += loadSegment(file, entries).corrupt
        if (segments.length > (options.compactAbove ?? 64)) {
          const merged = path.join(dir, segmentName())
          AtomicFile.writeFileSync(merged, serialize(entries.entries()))
          for (const file of segments) fs.rmSync(file, { force: true })
          segments = [merged]
        }
      },
      catch: (error) => ioError(dir, error)
    })
    let pending: Array<[string, string]> = []
    let hits = 0
    let misses = 0

    const flushSync = () => {
      if (pending.length === 0) return
      const batch = pending
      pending = []
      const file = path.join(dir, segmentName())
      AtomicFile.writeFileSync(file, serialize(batch))
      segments.push(file)
    }
    const flush = Effect.try({ try: flushSync, catch: (error) => ioError(dir, error) })
    yield* Effect.addFinalizer(() => Effect.ignore(flush))

    const get = (key: string): ChatResponse | undefined => {
      const value = entries.get(key)
      if (value === undefined) return undefined
      return { ...(JSON.parse(value) as ChatResponse), cached: true }
    }
    const put = (key: string, response: ChatResponse) =>
      Effect.suspend(() => {
        const value = JSON.stringify({ ...response, cached: false })
        entries.set(key, value)
        pending.push([key, value])
        return pending.length >= flushEvery ? flush : Effect.void
      })

    const cache: ResponseCache = {
      dir,
      keyOf,
      get,
      put,
      flush,
      stats: () => ({ entries: entries.size, hits, misses, corrupt, segments: segments.length }),
      wrap: (client) =>
        ChatClient.mapComplete(
          client,
          (complete) => (request) =>
            Effect.suspend(() => {
              const key = keyOf(client.id, client.model, request)
              const found = get(key)
              if (found !== undefined) {
                hits++
                return Effect.succeed(found)
              }
              misses++
              return Effect.tap(complete(request), (response) => put(key, response))
            })
        )
    }
    return cache
  })

const segmentName = () =>
  `segment-${Date.now().toString().padStart(14, "0")}-${process.pid}-${randomBytes(4).toString("hex")}.jsonl`

const serialize = (items: Iterable<[string, string]>): string => {
  const lines: Array<string> = []
  for (const [k, v] of items) lines.push(JSON.stringify({ k, c: checksum(k, v), v }))
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
