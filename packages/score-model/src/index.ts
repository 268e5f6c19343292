/**
 * @ssra/score-model — score models that grade (query, document) pairs with a grade, per-grade probabilities
 * and an expected grade: the embedded model (features + small ordinal-aware classifier), an LLM judge and a
 * fine-tuned judge, with training reports, baselines and SFT export.
 *
 * @since 0.1.0
 */
export * as Baselines from "./Baselines.js"
export * as EmbeddedScoreModel from "./EmbeddedScoreModel.js"
export * as Features from "./Features.js"
export * as FineTunedJudge from "./FineTunedJudge.js"
export * as LlmJudge from "./LlmJudge.js"
export * as ScoreModel from "./ScoreModel.js"
export * as ScoreModelError from "./ScoreModelError.js"
export * as ScorePrompt from "./ScorePrompt.js"
export * as Sft from "./Sft.js"
export * as TrainingReport from "./TrainingReport.js"
