/**
 * Micro-batching of concurrent embedding requests: texts from requests arriving within `maxWaitMs` of each other
 * (or until `maxBatchSize` texts are collected) are embedded by one `embed` call per (kind, dimensions), and each
 * request gets back its own slice. One model call for many small requests is what keeps throughput up under load.
 *
 * @since 0.1.0
 */
import type { Models } from "@ssra/core"
import { type Cause, Context, Effect, Exit } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchingOptions {
  /** Flush once this many texts are waiting (a single larger request is embedded alone). */
  readonly maxBatchSize: number
  /** How long the first request of a batch waits for company; 0 collects only what arrives in the same tick. */
  readonly maxWaitMs: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultBatching: BatchingOptions = { maxBatchSize: 256, maxWaitMs: 0 }

/**
 * @since 0.1.0
 * @category models
 */
export interface EmbeddingBatcher {
  readonly embedder: Models.TextEmbedder
  readonly embed: (
    texts: ReadonlyArray<string>,
    kind: Models.TextKind,
    dimensions: number | undefined
  ) => Effect.Effect<ReadonlyArray<Float32Array>, Models.ModelError>
}

interface Pending {
  readonly texts: ReadonlyArray<string>
  readonly resume: (effect: Effect.Effect<ReadonlyArray<Float32Array>, Models.ModelError>) => void
  done: boolean
}

interface Bucket {
  readonly kind: Models.TextKind
  readonly dimensions: number | undefined
  items: Array<Pending>
  size: number
  cancel: () => void
}

/**
 * Creates a batcher over `embedder`; `onBatch` sees the size of every embedder call (for metrics).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  embedder: Models.TextEmbedder,
  options: BatchingOptions,
  onBatch: (size: number) => void = () => {}
): Effect.Effect<EmbeddingBatcher> =>
  Effect.map(Effect.context<never>(), (context) => {
    const buckets = new Map<string, Bucket>()
    const runFork = Effect.runForkWith(context)

    const flush = (key: string): void => {
      const bucket = buckets.get(key)
      if (bucket === undefined) return
      buckets.delete(key)
      bucket.cancel()
      const items = bucket.items.filter((item) => !item.done)
      if (items.length === 0) return
      const texts: Array<string> = []
      for (const item of items) for (const text of item.texts) texts.push(text)
      onBatch(texts.length)
      const fiber = runFork(
        embedder.embed(
          texts,
          bucket.dimensions === undefined
            ? { kind: bucket.kind }
            : {
                kind: bucket.kind,
                dimensions: bucket.dimensions
              }
        )
      )
      fiber.addObserver((exit) => {
        if (Exit.isSuccess(exit) && exit.value.length !== texts.length) {
          const error = Effect.die(
            new Error(`embedder ${embedder.id} returned ${exit.value.length} vectors for ${texts.length} texts`)
          )
          for (const item of items) item.resume(error)
          return
        }
        let offset = 0
        for (const item of items) {
          const start = offset
          offset += item.texts.length
          if (item.done) continue
          item.done = true
          item.resume(
            Exit.isSuccess(exit)
              ? Effect.succeed(exit.value.slice(start, start + item.texts.length))
              : Effect.failCause(exit.cause as Cause.Cause<Models.ModelError>)
          )
        }
      })
    }

    const embed = (texts: ReadonlyArray<string>, kind: Models.TextKind, dimensions: number | undefined) =>
      Effect.callback<ReadonlyArray<Float32Array>, Models.ModelError>((resume) => {
        const key = `${kind}:${dimensions ?? ""}`
        let bucket = buckets.get(key)
        if (bucket !== undefined && bucket.size + texts.length > options.maxBatchSize) {
          flush(key)
          bucket = undefined
        }
        if (bucket === undefined) {
          bucket = { kind, dimensions, items: [], size: 0, cancel: () => {} }
          buckets.set(key, bucket)
          if (options.maxWaitMs <= 0) {
            const immediate = setImmediate(() => flush(key))
            bucket.cancel = () => clearImmediate(immediate)
          } else {
            const timeout = setTimeout(() => flush(key), options.maxWaitMs)
            bucket.cancel = () => clearTimeout(timeout)
          }
        }
        const pending: Pending = { texts, resume, done: false }
        bucket.items.push(pending)
        bucket.size += texts.length
        if (bucket.size >= options.maxBatchSize) flush(key)
        return Effect.sync(() => {
          pending.done = true
        })
      })

    return { embedder, embed }
  })

/**
 * A batcher service for handlers.
 *
 * @since 0.1.0
 * @category services
 */
export class Batcher extends Context.Service<Batcher, EmbeddingBatcher>()("@ssra/app-server/EmbeddingBatcher") {}
