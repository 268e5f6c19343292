/**
 * @ssra/llm — LLM and embedding clients that survive a million calls: OpenAI-compatible HTTP and local GGUF
 * backends behind one `ChatClient`, with retries, limits, a circuit breaker, an on-disk cache, cost accounting,
 * batch and fine-tuning jobs, and adapters to `effect/ai`.
 *
 * @since 0.1.0
 */
export * as BatchJobs from "./BatchJobs.js"
export * as ChatClient from "./ChatClient.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as ClientStack from "./ClientStack.js"
export * as CostTracker from "./CostTracker.js"
export * as EffectAi from "./EffectAi.js"
export * as Estimate from "./Estimate.js"
export * as FineTuningJobs from "./FineTuningJobs.js"
export * as KitDirectory from "./KitDirectory.js"
export * as LlamaCpp from "./LlamaCpp.js"
export * as OpenAiCompatible from "./OpenAiCompatible.js"
export * as Presets from "./Presets.js"
export * as Progress from "./Progress.js"
export * as RateLimiter from "./RateLimiter.js"
export * as RemoteEmbedder from "./RemoteEmbedder.js"
export * as ResponseCache from "./ResponseCache.js"
export * as Retry from "./Retry.js"
export * as SftKit from "./SftKit.js"
export * as StructuredOutput from "./StructuredOutput.js"
export * as Traffic from "./Traffic.js"
