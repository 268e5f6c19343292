/**
 * @ssra/app-server — the ssra serving API over HTTP: embeddings, relevance grading, reranking, filtering and
 * query generation, with auth, limits, micro-batching, metrics and access logs.
 *
 * @since 0.1.0
 */
export * as Admission from "./Admission.js"
export * as EmbeddingBatcher from "./EmbeddingBatcher.js"
export * as Metrics from "./Metrics.js"
export * as ModelLoader from "./ModelLoader.js"
export * as ServeCommand from "./ServeCommand.js"
export * as Server from "./Server.js"
export * as ServerConfig from "./ServerConfig.js"
