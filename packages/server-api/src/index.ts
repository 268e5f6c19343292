/**
 * @ssra/server-api — the HttpApi specification of the ssra serving API (endpoints, request/response schemas,
 * RFC 9457 problems), importable by typed clients without pulling in server code.
 *
 * @since 0.1.0
 */
export * as Api from "./Api.js"
export * as Embeddings from "./Embeddings.js"
export * as Filter from "./Filter.js"
export * as Problems from "./Problems.js"
export * as Queries from "./Queries.js"
export * as Relevance from "./Relevance.js"
export * as Rerank from "./Rerank.js"
