/**
 * The serving API as one `HttpApi` value: the server implements it and typed clients
 * (`HttpApiClient.make(Api)`) are derived from it, so both sides share one definition. Request validation
 * failures answer RFC 9457 problems with the path of every offending field (`HttpApiMiddleware.ProblemDetails`).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
import { EmbeddingsRequest, EmbeddingsResponse } from "./Embeddings.js"
import { FilterRequest, FilterResponse } from "./Filter.js"
import {
  ModelFailed,
  ModelNotConfigured,
  NotReady,
  PayloadTooLarge,
  ProcessingTimeout,
  RequestTimeout,
  TooManyRequests,
  Unauthorized
} from "./Problems.js"
import { QueriesRequest, QueriesResponse } from "./Queries.js"
import { RelevanceRequest, RelevanceResponse } from "./Relevance.js"
import { RerankRequest, RerankResponse } from "./Rerank.js"

/**
 * Bearer-token authorization. When the server is configured with tokens every endpoint but `/healthz` needs
 * one; with none configured the check passes. Clients provide it with `HttpApiMiddleware.layerClient`.
 *
 * @since 0.1.0
 * @category middleware
 */
export class Authorization extends HttpApiMiddleware.Service<Authorization>()("@ssra/server-api/Authorization", {
  security: { bearer: HttpApiSecurity.bearer },
  error: Unauthorized
}) {}

const modelErrors = [
  PayloadTooLarge,
  TooManyRequests,
  RequestTimeout,
  ProcessingTimeout,
  ModelNotConfigured,
  ModelFailed,
  NotReady
] as const

/**
 * The model endpoints under `/v1`.
 *
 * @since 0.1.0
 * @category groups
 */
export class V1 extends HttpApiGroup.make("v1")
  .add(
    HttpApiEndpoint.post("embeddings", "/v1/embeddings", {
      payload: EmbeddingsRequest,
      success: EmbeddingsResponse,
      error: modelErrors
    }).annotateMerge(OpenApi.annotations({ summary: "Embed texts (OpenAI-compatible)" })),
    HttpApiEndpoint.post("rerank", "/v1/rerank", {
      payload: RerankRequest,
      success: RerankResponse,
      error: modelErrors
    }).annotateMerge(OpenApi.annotations({ summary: "Rerank documents for a query (Cohere/Jina-compatible)" })),
    HttpApiEndpoint.post("relevance", "/v1/relevance", {
      payload: RelevanceRequest,
      success: RelevanceResponse,
      error: modelErrors
    }).annotateMerge(OpenApi.annotations({ summary: "Grade (query, document) pairs" })),
    HttpApiEndpoint.post("filter", "/v1/filter", {
      payload: FilterRequest,
      success: FilterResponse,
      error: modelErrors
    }).annotateMerge(OpenApi.annotations({ summary: "Keep the candidates relevant to a query" })),
    HttpApiEndpoint.post("queries", "/v1/queries", {
      payload: QueriesRequest,
      success: QueriesResponse,
      error: modelErrors
    }).annotateMerge(OpenApi.annotations({ summary: "Generate queries for a document at a target grade" }))
  )
  .middleware(Authorization)
  .annotateMerge(OpenApi.annotations({ title: "v1", description: "Model endpoints" })) {}

/**
 * Which models the server holds, by id (`null` when absent).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LoadedModels = Schema.Struct({
  embedder: Schema.NullOr(Schema.String),
  score_model: Schema.NullOr(Schema.String),
  query_model: Schema.NullOr(Schema.String)
})

/**
 * Health (`/healthz`, never authenticated), readiness (`/readyz`) and Prometheus metrics (`/metrics`).
 *
 * @since 0.1.0
 * @category groups
 */
export class Operations extends HttpApiGroup.make("operations", { topLevel: true })
  .add(
    HttpApiEndpoint.get("healthz", "/healthz", {
      success: Schema.Struct({ status: Schema.Literal("ok") })
    }),
    HttpApiEndpoint.get("readyz", "/readyz", {
      success: Schema.Struct({ status: Schema.Literal("ready"), models: LoadedModels }),
      error: [NotReady, Unauthorized]
    }).middleware(Authorization),
    HttpApiEndpoint.get("metrics", "/metrics", {
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4; charset=utf-8" })),
      error: Unauthorized
    }).middleware(Authorization)
  )
  .annotateMerge(OpenApi.annotations({ title: "operations", description: "Health, readiness and metrics" })) {}

/**
 * The whole serving API.
 *
 * @since 0.1.0
 * @category api
 */
export class Api extends HttpApi.make("ssra")
  .add(V1)
  .add(Operations)
  .middleware(HttpApiMiddleware.ProblemDetails)
  // Report every offending field, not just the first.
  .annotate(HttpApi.PayloadParseOptions, { errors: "all" })
  .annotateMerge(
    OpenApi.annotations({
      title: "ssra serving API",
      version: "0.1.0",
      description: "Embeddings, relevance grading, reranking, filtering and query generation for SSRA models"
    })
  ) {}
