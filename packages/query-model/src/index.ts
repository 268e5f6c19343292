/**
 * @ssra/query-model — query models that write a query for a document at a chosen grade: the embedded model (real
 * query pool + key-phrase edits + a learned per-grade selector; no LLM), the prompt-only LLM baseline and the
 * fine-tuned LLM, plus the SFT data builders (vanilla, Stage 1, Stage 2) in chat JSONL.
 *
 * @since 0.1.0
 */
export * as EmbeddedQueryModel from "./EmbeddedQueryModel.js"
export * as FineTunedQueryModel from "./FineTunedQueryModel.js"
export * as PromptQueryModel from "./PromptQueryModel.js"
export * as QueryModel from "./QueryModel.js"
export * as QueryModelError from "./QueryModelError.js"
export * as SftData from "./SftData.js"
