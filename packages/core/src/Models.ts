/**
 * The shapes every model backend implements, so the pipeline, filters, evaluators and server can swap an
 * embedded model for an LLM judge or a remote endpoint without knowing which. Services bind these shapes in
 * their own packages (`@ssra/score-model`'s `ScoreModel`, `@ssra/query-model`'s `QueryModel`,
 * `@ssra/embedding`'s `TextEmbedder`).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Schema } from "effect"
import type { Document } from "./Document.js"
import * as Failure from "./Failure.js"
import type { Grade, GradeScale } from "./Grade.js"
import type { QueryDocument } from "./Pair.js"

/**
 * Why a model call failed: the backend, what happened, and whether retrying can help.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelError extends Schema.TaggedError<ModelError>()("ModelError", {
  backend: Schema.String,
  reason: Schema.Literals(["unavailable", "invalid-output", "invalid-input", "budget-exceeded", "internal"]),
  message: Schema.String,
  raw: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  /**
   * `unavailable` is an unreachable or failing backend (retryable unless its cause says otherwise, e.g. a
   * rejected API key), `budget-exceeded` a spent budget, the rest internal.
   */
  get [Failure.TypeId](): Failure.Classified {
    const label = `model backend ${this.backend} failed (${this.reason})`
    if (this.reason === "unavailable")
      return Failure.make("backend-unreachable", {
        retryable: Failure.isClassifiable(this.cause) ? Failure.classify(this.cause).retryable : true,
        label,
        hint: "check the endpoint is running and reachable (base URL, port, API key), then rerun the same command: finished work is kept"
      })
    if (this.reason === "budget-exceeded") return Failure.make("budget", { label })
    return Failure.make("internal", { label })
  }
}

/**
 * Whether an embedding is for a query or a document (asymmetric models embed them differently).
 *
 * @since 0.1.0
 * @category models
 */
export type TextKind = "query" | "document"

/**
 * A text embedder: L2-normalized vectors whose prefixes of `dimensions`' nested sizes are usable alone
 * (Matryoshka) when the model was trained so.
 *
 * @since 0.1.0
 * @category models
 */
export interface TextEmbedder {
  readonly id: string
  readonly dimensions: number
  readonly embed: (
    texts: ReadonlyArray<string>,
    options: { readonly kind: TextKind; readonly dimensions?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<Float32Array>, ModelError>
}

/**
 * A score model's judgment of one pair: the grade, a probability per grade of the scale, and the expected grade
 * `Σ g·p(g)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface GradeJudgment {
  readonly grade: Grade
  readonly probabilities: ReadonlyArray<number>
  readonly expected: number
}

/**
 * A score model: grades many (query, document) pairs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Grader {
  readonly id: string
  readonly scale: GradeScale
  readonly grade: (pairs: ReadonlyArray<QueryDocument>) => Effect.Effect<ReadonlyArray<GradeJudgment>, ModelError>
}

/**
 * A request to the query model: write `n` queries for `document` at `targetGrade`.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryRequest {
  readonly document: Document
  readonly targetGrade: Grade
  readonly n: number
  readonly seed: number
}

/**
 * One generated query before filtering.
 *
 * @since 0.1.0
 * @category models
 */
export interface GeneratedQuery {
  readonly query: string
  readonly targetGrade: Grade
  readonly generator: { readonly id: string; readonly promptVersion: string }
}

/**
 * A query model: writes queries for documents at chosen grades. Results are index-aligned with requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryWriter {
  readonly id: string
  readonly kind: "embedded" | "llm"
  readonly generate: (
    requests: ReadonlyArray<QueryRequest>
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<GeneratedQuery>>, ModelError>
}

/**
 * Expected grade from per-grade probabilities.
 *
 * @since 0.1.0
 * @category combinators
 */
export const expectedGrade = (probabilities: ReadonlyArray<number>): number => {
  let e = 0
  for (let g = 0; g < probabilities.length; g++) e += g * probabilities[g]!
  return e
}

/**
 * The most probable grade (ties go to the lower grade).
 *
 * @since 0.1.0
 * @category combinators
 */
export const argmaxGrade = (probabilities: ReadonlyArray<number>): Grade => {
  let best = 0
  for (let g = 1; g < probabilities.length; g++) if (probabilities[g]! > probabilities[best]!) best = g
  return best as Grade
}
