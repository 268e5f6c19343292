/**
 * @ssra/evaluation — exact IR metrics (trec_eval nDCG, scikit-learn AP), lexical reference scorers (BM25,
 * character n-gram cosine, from `@ssra/text`), evaluators, paired statistics, result files and reports.
 *
 * @since 0.1.0
 */
export * as Charts from "./Charts.js"
export * as ClassifierEvaluator from "./ClassifierEvaluator.js"
export * as Comparison from "./Comparison.js"
export * as DiversityEvaluator from "./DiversityEvaluator.js"
export * as EvaluationError from "./EvaluationError.js"
export * as EvaluationResult from "./EvaluationResult.js"
export * as LabelAlignmentEvaluator from "./LabelAlignmentEvaluator.js"
export * as Metrics from "./Metrics.js"
export * as PairClassificationEvaluator from "./PairClassificationEvaluator.js"
export * as PairScorer from "./PairScorer.js"
export * as Report from "./Report.js"
export * as ResultFile from "./ResultFile.js"
export * as RetrievalEvaluator from "./RetrievalEvaluator.js"
export * as Statistics from "./Statistics.js"
export * as Trec from "./Trec.js"
