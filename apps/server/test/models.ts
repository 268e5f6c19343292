// Real models for the HTTP tests: an untrained @ssra/embedding DualEncoder (small tables, seeded) and an
// @ssra/score-model EmbeddedScoreModel trained on a slice of the bundled QBQTC labels (a 0-2 scale).

import * as path from "node:path"
import { NodeServices } from "@effect/platform-node"
import type { Models } from "@ssra/core"
import { Jsonl, Pair } from "@ssra/core"
import { DualEncoder } from "@ssra/embedding"
import { EmbeddedScoreModel } from "@ssra/score-model"
import { Effect, Stream } from "effect"

export const dualEncoder = () =>
  DualEncoder.make({ dimensions: 32, featurizer: { ...DualEncoder.defaultConfig.featurizer, buckets: 4096 } }, 7)

/** Wraps an embedder to record each call's size and kind, and optionally delay it. */
export const recording = (embedder: Models.TextEmbedder, options: { readonly delayMs?: number } = {}) => {
  const calls: Array<{ readonly size: number; readonly kind: Models.TextKind }> = []
  const wrapped: Models.TextEmbedder & { readonly calls: typeof calls } = {
    id: embedder.id,
    dimensions: embedder.dimensions,
    calls,
    embed: (texts, opts) => {
      const run = Effect.suspend(() => {
        calls.push({ size: texts.length, kind: opts.kind })
        return embedder.embed(texts, opts)
      })
      return options.delayMs === undefined ? run : Effect.delay(run, options.delayMs)
    }
  }
  return wrapped
}

const labeledFile = path.resolve(import.meta.dirname, "../../../data/qbqtc/labeled.jsonl")

export const qbqtcScoreModel = (embedder: Models.TextEmbedder, n = 600): Effect.Effect<Models.Grader> =>
  Effect.gen(function* () {
    const pairs = yield* Jsonl.read(labeledFile, Pair.LabeledPair).pipe(Stream.take(n), Stream.runCollect)
    return yield* EmbeddedScoreModel.train({
      pairs: Array.from(pairs),
      embedder,
      seed: 1,
      classifier: { epochs: 8 },
      corpusSize: 500
    })
  }).pipe(Effect.provide(NodeServices.layer), Effect.orDie)
