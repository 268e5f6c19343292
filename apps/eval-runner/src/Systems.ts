/**
 * Turns a suite's system entries into pair scorers (and embedders where there is one): the lexical reference
 * scorers, a trained `@ssra/embedding` DualEncoder checkpoint, or a remote OpenAI-compatible embeddings endpoint.
 *
 * @since 0.1.0
 */
import type { Models } from "@ssra/core"
import { DualEncoder } from "@ssra/embedding"
import { EvaluationError, PairScorer } from "@ssra/evaluation"
import { RemoteEmbedder } from "@ssra/llm"
import { Effect, Redacted } from "effect"
import type { HttpClient } from "effect/http"
import type * as Suite from "./Suite.js"

/**
 * A ready system.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadySystem {
  readonly name: string
  readonly kind: Suite.System["kind"]
  readonly scorer: PairScorer.PairScorer
  readonly embedder?: Models.TextEmbedder | undefined
  readonly description: Record<string, unknown>
}

/**
 * Builds one system. Checkpoints are loaded from disk; remote endpoints read their API key from the environment
 * variable the suite names (never from the suite file itself).
 *
 * @since 0.1.0
 * @category constructors
 */
export const build = (
  system: Suite.System,
  resolve: (path: string) => string,
  env: Readonly<Record<string, string | undefined>> = process.env
): Effect.Effect<ReadySystem, EvaluationError.EvaluationError, HttpClient.HttpClient> => {
  switch (system.kind) {
    case "bm25": {
      const options = { k1: system.k1 ?? 1.2, b: system.b ?? 0.75, tokenizer: system.tokenizer ?? "char-1-2" } as const
      return Effect.succeed({
        name: system.name,
        kind: system.kind,
        scorer: PairScorer.bm25(options),
        description: { kind: "bm25", ...options, idf: "from the evaluated file's own titles" }
      })
    }
    case "char-ngram": {
      const grams = system.grams ?? "1-2"
      return Effect.succeed({
        name: system.name,
        kind: system.kind,
        scorer: PairScorer.charNgram(grams),
        description: { kind: "char-ngram", grams, weighting: "term frequency", similarity: "cosine" }
      })
    }
    case "checkpoint": {
      const dir = resolve(system.path)
      return Effect.map(
        Effect.mapError(
          DualEncoder.load(dir),
          (e) =>
            new EvaluationError.EvaluationError({
              reason: "model",
              file: dir,
              id: system.name,
              detail: `cannot load checkpoint: ${e.message}`,
              cause: e
            })
        ),
        (model) => ({
          name: system.name,
          kind: system.kind,
          scorer: PairScorer.fromEmbedder(model),
          embedder: model,
          description: { kind: "checkpoint", path: dir, id: model.id, dimensions: model.dimensions }
        })
      )
    }
    case "remote": {
      const key = system.apiKeyEnv === undefined ? undefined : env[system.apiKeyEnv]
      if (system.apiKeyEnv !== undefined && (key === undefined || key === "")) {
        return Effect.fail(
          new EvaluationError.EvaluationError({
            reason: "model",
            id: system.name,
            detail: `environment variable ${system.apiKeyEnv} is not set`,
            hint: "export the API key before running the suite"
          })
        )
      }
      return Effect.map(
        Effect.mapError(
          // the HTTP client is the caller's, provided around the whole run: it outlives construction
          RemoteEmbedder.make({
            model: system.model,
            ...(system.preset === undefined ? {} : { preset: system.preset }),
            ...(system.baseUrl === undefined ? {} : { baseUrl: system.baseUrl }),
            ...(key === undefined ? {} : { apiKey: Redacted.make(key) }),
            ...(system.dimensions === undefined ? {} : { dimensions: system.dimensions }),
            ...(system.queryInstruction === undefined ? {} : { queryInstruction: system.queryInstruction }),
            ...(system.documentPrefix === undefined ? {} : { documentPrefix: system.documentPrefix }),
            ...(system.batchSize === undefined ? {} : { batchSize: system.batchSize })
          }),
          (e) =>
            new EvaluationError.EvaluationError({
              reason: "model",
              id: system.name,
              detail: `remote embedder: ${e.message}`,
              cause: e
            })
        ),
        (embedder) => ({
          name: system.name,
          kind: system.kind,
          scorer: PairScorer.fromEmbedder(embedder),
          embedder,
          description: { kind: "remote", id: embedder.id, model: system.model, dimensions: embedder.dimensions }
        })
      )
    }
  }
}
