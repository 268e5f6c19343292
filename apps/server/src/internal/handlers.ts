// The endpoint implementations: validate runtime limits with field paths, call the models (embeddings through
// the micro-batcher), and shape the wire responses.

import { randomUUID, timingSafeEqual } from "node:crypto"
import { endianness } from "node:os"
import type { Document, Grade, Models } from "@ssra/core"
import {
  Api,
  type Embeddings,
  type Filter,
  Problems,
  type Queries,
  type Relevance,
  type Rerank
} from "@ssra/server-api"
import { Effect, Layer, Redacted } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import type { EmbeddingBatcher } from "../EmbeddingBatcher.js"
import type * as Metrics from "../Metrics.js"
import type { ServerModels } from "../ModelLoader.js"
import type { Limits } from "../ServerConfig.js"

type Path = ReadonlyArray<string | number>
interface Issue {
  readonly path: Path
  readonly message: string
}

const badRequest = (issues: ReadonlyArray<Issue>) =>
  new Problems.BadRequest({
    detail: issues.length === 1 ? issues[0]!.message : "Request validation failed",
    errors: issues.map((i) => ({ path: i.path, message: i.message }))
  })

/** Collects limit violations with their field paths. */
class Checker {
  readonly issues: Array<Issue> = []
  constructor(readonly limits: Limits) {}
  batch(path: Path, size: number, what: string): void {
    if (size === 0) this.issues.push({ path, message: `Expected at least one ${what}` })
    else if (size > this.limits.maxBatchSize) {
      this.issues.push({ path, message: `Too many ${what}s: ${size} > limit ${this.limits.maxBatchSize}` })
    }
  }
  text(path: Path, text: string): void {
    if (this.issues.length >= 20) return
    if (text.length > this.limits.maxTextLength) {
      this.issues.push({
        path,
        message: `Text too long: ${text.length} > limit ${this.limits.maxTextLength} characters`
      })
    } else if (text.trim().length === 0) {
      this.issues.push({ path, message: "Expected a non-empty text" })
    }
  }
  fail(): Effect.Effect<void, Problems.BadRequest> {
    return this.issues.length === 0 ? Effect.void : Effect.fail(badRequest(this.issues))
  }
}

const notConfigured = (model: "embedder" | "score-model" | "query-model", endpoint: string) =>
  new Problems.ModelNotConfigured({
    model,
    detail: `${endpoint} needs a ${model === "embedder" ? "embedding model (--checkpoint)" : model === "score-model" ? "score model (--score-model)" : "query model (--query-model)"}, which this server was not started with`
  })

const modelFailed = (error: Models.ModelError): Effect.Effect<never, Problems.BadRequest | Problems.ModelFailed> =>
  error.reason === "invalid-input"
    ? Effect.fail(badRequest([{ path: ["payload"], message: error.message }]))
    : Effect.fail(new Problems.ModelFailed({ backend: error.backend, reason: error.reason, detail: error.message }))

const littleEndian = endianness() === "LE"
const toBase64 = (vector: Float32Array): string => {
  if (littleEndian) return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64")
  const bytes = Buffer.alloc(vector.length * 4)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4)
  return bytes.toString("base64")
}

const cosine = (a: Float32Array, b: Float32Array): number => {
  let ab = 0
  let aa = 0
  let bb = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    ab += a[i]! * b[i]!
    aa += a[i]! * a[i]!
    bb += b[i]! * b[i]!
  }
  const denominator = Math.sqrt(aa * bb)
  return denominator > 0 ? ab / denominator : 0
}

const codePoints = (text: string): number => {
  let n = 0
  for (const _ of text) n++
  return n
}

// The body is typed by the schema, so it is encoded without re-validating every float.
const embeddingsResponse = (
  model: string,
  texts: ReadonlyArray<string>,
  vectors: ReadonlyArray<Float32Array>,
  base64: boolean
): HttpServerResponse.HttpServerResponse => {
  let tokens = 0
  for (const t of texts) tokens += codePoints(t)
  const body: Embeddings.EmbeddingsResponse = {
    object: "list",
    data: vectors.map((v, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? toBase64(v) : Array.from(v)
    })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens }
  }
  return HttpServerResponse.jsonUnsafe(body)
}

const validText = (text: unknown, limits: Limits): text is string =>
  typeof text === "string" && text.length <= limits.maxTextLength && text.trim().length > 0

const optionalString = (value: unknown): boolean => value === undefined || typeof value === "string"

/**
 * The `/v1/embeddings` hot path, run by the server's middleware ahead of the HttpApi router: for a JSON body that
 * the endpoint's schema and every limit accept as it is (checked here by hand, stricter than the schema), it
 * embeds and answers exactly as the endpoint handler would. Anything else (invalid fields, models not loaded, a
 * model failure) returns `undefined` or fails with `undefined`, and the middleware hands the request to the
 * HttpApi endpoint, which answers with its problem details.
 */
export const fastEmbeddings = (deps: HandlerDeps) => {
  const { limits } = deps
  return (bodyText: string): Effect.Effect<HttpServerResponse.HttpServerResponse, undefined> | undefined => {
    const models = deps.models()
    const embedder = models?.embedder
    const batcher = deps.batcher()
    if (embedder === undefined || batcher === undefined) return undefined
    let payload: unknown
    try {
      payload = JSON.parse(bodyText)
    } catch {
      return undefined
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined
    const { input, model, dimensions, encoding_format, input_type, user } = payload as Record<string, unknown>
    let texts: ReadonlyArray<string>
    if (typeof input === "string") {
      if (!validText(input, limits)) return undefined
      texts = [input]
    } else if (Array.isArray(input) && input.length > 0 && input.length <= limits.maxBatchSize) {
      for (const text of input) if (!validText(text, limits)) return undefined
      texts = input as ReadonlyArray<string>
    } else return undefined
    if (!optionalString(model) || !optionalString(user)) return undefined
    if (
      dimensions !== undefined &&
      !(
        Number.isSafeInteger(dimensions) &&
        (dimensions as number) >= 1 &&
        (dimensions as number) <= embedder.dimensions
      )
    ) {
      return undefined
    }
    if (encoding_format !== undefined && encoding_format !== "float" && encoding_format !== "base64") return undefined
    if (input_type !== undefined && input_type !== "query" && input_type !== "document") return undefined
    const kind: Models.TextKind = input_type ?? "query"
    const truncate = dimensions !== undefined && (dimensions as number) < embedder.dimensions
    return batcher.embed(texts, kind, truncate ? (dimensions as number) : undefined).pipe(
      Effect.mapError(() => undefined),
      Effect.map((vectors) => embeddingsResponse(embedder.id, texts, vectors, encoding_format === "base64"))
    )
  }
}

/** One scored pair: with a grader, `score` is expected grade / max grade. */
interface Scored {
  readonly score: number
  readonly grade?: Grade.Grade
  readonly probabilities?: ReadonlyArray<number>
  readonly expected?: number
}

const gradeFields = (s: Scored) =>
  s.grade === undefined ? {} : { grade: s.grade, probabilities: s.probabilities ?? [], expected_grade: s.expected ?? 0 }

export interface HandlerDeps {
  readonly models: () => ServerModels | undefined
  readonly batcher: () => EmbeddingBatcher | undefined
  readonly limits: Limits
  readonly metrics: Metrics.Registry
  readonly tokens: ReadonlyArray<string>
}

const notReady = new Problems.NotReady({ detail: "models are still loading" })

/** What the endpoint handlers share: the limits, the loaded models, embedding through the batcher, pair scoring. */
const modelAccess = (deps: HandlerDeps) => {
  const { limits } = deps

  const requireModels = Effect.suspend(() => {
    const models = deps.models()
    return models === undefined ? Effect.fail(notReady) : Effect.succeed(models)
  })

  const embedWith = (
    texts: ReadonlyArray<string>,
    kind: Models.TextKind,
    dimensions?: number
  ): Effect.Effect<
    ReadonlyArray<Float32Array>,
    Problems.BadRequest | Problems.ModelFailed | Problems.ModelNotConfigured
  > =>
    Effect.suspend(() => {
      const batcher = deps.batcher()
      return batcher === undefined
        ? Effect.fail(notConfigured("embedder", "this endpoint"))
        : Effect.catchTag(batcher.embed(texts, kind, dimensions), "ModelError", modelFailed)
    })

  // Scores (query_i, document_i) pairs with the grader, or the embedder's cosine similarity.
  const scorePairs = (
    models: ServerModels,
    pairs: ReadonlyArray<{ readonly query: string; readonly doc: string }>,
    endpoint: string
  ) => {
    const grader = models.grader
    if (grader !== undefined) {
      const max = grader.scale.max
      return grader.grade(pairs).pipe(
        Effect.catchTag("ModelError", modelFailed),
        Effect.map((judgments) =>
          judgments.map(
            (j): Scored => ({
              score: j.expected / max,
              grade: j.grade,
              probabilities: j.probabilities,
              expected: j.expected
            })
          )
        ),
        Effect.map((scored) => ({ scored, scoring: "score-model" as const, model: grader.id, maxGrade: max }))
      )
    }
    const embedder = models.embedder
    if (embedder === undefined) return Effect.fail(notConfigured("embedder", endpoint))
    // Deduplicate queries: rerank and filter send one query for many documents.
    const queries = [...new Set(pairs.map((p) => p.query))]
    return Effect.all(
      [
        embedWith(queries, "query"),
        embedWith(
          pairs.map((p) => p.doc),
          "document"
        )
      ],
      {
        concurrency: 2
      }
    ).pipe(
      Effect.map(([queryVectors, docVectors]) => {
        const byQuery = new Map(queries.map((q, i) => [q, queryVectors[i]!]))
        return {
          scored: pairs.map((p, i): Scored => ({ score: cosine(byQuery.get(p.query)!, docVectors[i]!) })),
          scoring: "cosine" as const,
          model: embedder.id,
          maxGrade: undefined
        }
      })
    )
  }

  return { limits, requireModels, embedWith, scorePairs }
}

type ModelAccess = ReturnType<typeof modelAccess>

/** `/v1/embeddings` (requests the middleware's fast path did not answer). */
const embeddings =
  (access: ModelAccess) =>
  ({ payload }: { readonly payload: Embeddings.EmbeddingsRequest }) =>
    Effect.gen(function* () {
      const models = yield* access.requireModels
      const embedder = models.embedder
      if (embedder === undefined) return yield* notConfigured("embedder", "/v1/embeddings")
      const texts = typeof payload.input === "string" ? [payload.input] : payload.input
      const check = new Checker(access.limits)
      if (typeof payload.input === "string") check.text(["payload", "input"], payload.input)
      else {
        check.batch(["payload", "input"], texts.length, "input text")
        texts.forEach((t, i) => {
          check.text(["payload", "input", i], t)
        })
      }
      if (payload.dimensions !== undefined && payload.dimensions > embedder.dimensions) {
        check.issues.push({
          path: ["payload", "dimensions"],
          message: `dimensions ${payload.dimensions} exceeds the model's ${embedder.dimensions}`
        })
      }
      yield* check.fail()
      const dimensions =
        payload.dimensions !== undefined && payload.dimensions < embedder.dimensions ? payload.dimensions : undefined
      const vectors = yield* access.embedWith(texts, payload.input_type ?? "query", dimensions)
      return embeddingsResponse(embedder.id, texts, vectors, payload.encoding_format === "base64")
    })

/** `/v1/rerank`: the documents ordered by their score against the query. */
const rerank =
  (access: ModelAccess) =>
  ({ payload }: { readonly payload: Rerank.RerankRequest }) =>
    Effect.gen(function* () {
      const models = yield* access.requireModels
      const docs = payload.documents.map((d) => (typeof d === "string" ? d : d.text))
      const check = new Checker(access.limits)
      check.text(["payload", "query"], payload.query)
      check.batch(["payload", "documents"], docs.length, "document")
      docs.forEach((d, i) => {
        check.text(
          typeof payload.documents[i] === "string" ? ["payload", "documents", i] : ["payload", "documents", i, "text"],
          d
        )
      })
      yield* check.fail()
      const result = yield* access.scorePairs(
        models,
        docs.map((doc) => ({ query: payload.query, doc })),
        "/v1/rerank"
      )
      const order = result.scored.map((s, index) => ({ s, index }))
      order.sort((a, b) => b.s.score - a.s.score || a.index - b.index)
      const top = payload.top_n !== undefined ? order.slice(0, payload.top_n) : order
      return {
        id: randomUUID(),
        model: result.model,
        results: top.map(({ s, index }) => ({
          index,
          relevance_score: s.score,
          ...(payload.return_documents === true ? { document: { text: docs[index]! } } : {}),
          ...gradeFields(s)
        })),
        meta: {
          scoring: result.scoring,
          ...(result.maxGrade !== undefined ? { max_grade: result.maxGrade } : {})
        }
      }
    })

/** `/v1/relevance`: a score for each (query, document) pair. */
const relevance =
  (access: ModelAccess) =>
  ({ payload }: { readonly payload: Relevance.RelevanceRequest }) =>
    Effect.gen(function* () {
      const models = yield* access.requireModels
      const check = new Checker(access.limits)
      check.batch(["payload", "pairs"], payload.pairs.length, "pair")
      payload.pairs.forEach((p, i) => {
        check.text(["payload", "pairs", i, "query"], p.query)
        check.text(["payload", "pairs", i, "document"], p.document)
      })
      yield* check.fail()
      const result = yield* access.scorePairs(
        models,
        payload.pairs.map((p) => ({ query: p.query, doc: p.document })),
        "/v1/relevance"
      )
      return {
        model: result.model,
        scoring: result.scoring,
        ...(result.maxGrade !== undefined ? { max_grade: result.maxGrade } : {}),
        results: result.scored.map((s, index) => ({ index, score: s.score, ...gradeFields(s) }))
      }
    })

/** `/v1/filter`: which candidates reach the minimum grade or score. */
const filter =
  (access: ModelAccess) =>
  ({ payload }: { readonly payload: Filter.FilterRequest }) =>
    Effect.gen(function* () {
      const models = yield* access.requireModels
      const check = new Checker(access.limits)
      check.text(["payload", "query"], payload.query)
      check.batch(["payload", "candidates"], payload.candidates.length, "candidate")
      payload.candidates.forEach((c, i) => {
        check.text(["payload", "candidates", i, "text"], c.text)
      })
      const hasGrade = payload.min_grade !== undefined
      const hasScore = payload.min_score !== undefined
      if (hasGrade === hasScore) {
        check.issues.push({ path: ["payload"], message: "Expected exactly one of min_grade or min_score" })
      }
      if (hasGrade && models.grader !== undefined && payload.min_grade! > models.grader.scale.max) {
        check.issues.push({
          path: ["payload", "min_grade"],
          message: `min_grade ${payload.min_grade} exceeds the score model's max grade ${models.grader.scale.max}`
        })
      }
      yield* check.fail()
      if (hasGrade && models.grader === undefined) {
        return yield* notConfigured("score-model", "/v1/filter with min_grade (use min_score for cosine)")
      }
      const result = yield* access.scorePairs(
        models,
        payload.candidates.map((c) => ({ query: payload.query, doc: c.text })),
        "/v1/filter"
      )
      const decisions = payload.candidates.map((c, i) => {
        const s = result.scored[i]!
        const kept = hasGrade ? (s.grade ?? 0) >= payload.min_grade! : s.score >= payload.min_score!
        return { id: c.id, kept, score: s.score, ...gradeFields(s) }
      })
      return {
        model: result.model,
        scoring: result.scoring,
        criterion: hasGrade ? { min_grade: payload.min_grade! } : { min_score: payload.min_score! },
        kept: decisions.filter((d) => d.kept).map((d) => d.id),
        decisions
      }
    })

/** `/v1/queries`: queries written for a document at a target grade. */
const queries =
  (access: ModelAccess) =>
  ({ payload }: { readonly payload: Queries.QueriesRequest }) =>
    Effect.gen(function* () {
      const models = yield* access.requireModels
      const writer = models.queryWriter
      const input = typeof payload.document === "string" ? { text: payload.document } : payload.document
      const check = new Checker(access.limits)
      check.text(
        typeof payload.document === "string" ? ["payload", "document"] : ["payload", "document", "text"],
        input.text
      )
      if (input.title !== undefined && input.title.length > access.limits.maxTextLength) {
        check.issues.push({
          path: ["payload", "document", "title"],
          message: `Text too long: ${input.title.length} > limit ${access.limits.maxTextLength} characters`
        })
      }
      yield* check.fail()
      if (writer === undefined) return yield* notConfigured("query-model", "/v1/queries")
      const document: Document.Document = {
        id: input.id !== undefined && input.id.length > 0 ? input.id : "request",
        title: input.title ?? "",
        text: input.text
      }
      const targetGrade = payload.target_grade as Grade.Grade
      const generated = yield* writer
        .generate([{ document, targetGrade, n: payload.n ?? 1, seed: payload.seed ?? 0 }])
        .pipe(Effect.catchTag("ModelError", modelFailed))
      return {
        model: writer.id,
        target_grade: targetGrade,
        queries: (generated[0] ?? []).map((q) => ({
          query: q.query,
          generator: { id: q.generator.id, prompt_version: q.generator.promptVersion }
        }))
      }
    })

export const handlersLayer = (deps: HandlerDeps) => {
  const access = modelAccess(deps)

  const v1 = HttpApiBuilder.group(Api.Api, "v1", (handlers) =>
    handlers
      .handle("embeddings", embeddings(access))
      .handle("rerank", rerank(access))
      .handle("relevance", relevance(access))
      .handle("filter", filter(access))
      .handle("queries", queries(access))
  )

  const operations = HttpApiBuilder.group(Api.Api, "operations", (handlers) =>
    handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        Effect.suspend(() => {
          const models = deps.models()
          return models === undefined
            ? Effect.fail(notReady)
            : Effect.succeed({
                status: "ready" as const,
                models: {
                  embedder: models.embedder?.id ?? null,
                  score_model: models.grader?.id ?? null,
                  query_model: models.queryWriter?.id ?? null
                }
              })
        })
      )
      .handle("metrics", () => Effect.sync(() => deps.metrics.render()))
  )

  const authorization = Layer.succeed(Api.Authorization, {
    bearer: (httpEffect, { credential }) =>
      deps.tokens.length === 0 || tokenMatches(deps.tokens, Redacted.value(credential))
        ? httpEffect
        : Effect.fail(new Problems.Unauthorized({ detail: "Missing or unknown bearer token" }))
  })

  return Layer.mergeAll(v1, operations).pipe(Layer.provide(authorization))
}

/** Constant-time comparison against every configured token. */
export const tokenMatches = (tokens: ReadonlyArray<string>, candidate: string): boolean => {
  const given = Buffer.from(candidate)
  let ok = false
  for (const token of tokens) {
    const expected = Buffer.from(token)
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true
  }
  return ok
}
