/**
 * @ssra/filters — the gates between the query model and the training data: score agreement, pairwise
 * consistency, duplicates, length, script, test leakage and grade quotas, all behind one `Filter` contract.
 *
 * @since 0.1.0
 */
export * as DuplicateFilter from "./DuplicateFilter.js"
export * as Filter from "./Filter.js"
export * as FilterError from "./FilterError.js"
export * as GradeQuota from "./GradeQuota.js"
export * as LengthFilter from "./LengthFilter.js"
export * as PairwiseConsistencyFilter from "./PairwiseConsistencyFilter.js"
export * as PairwiseJudge from "./PairwiseJudge.js"
export * as ScoreAgreementFilter from "./ScoreAgreementFilter.js"
export * as ScriptFilter from "./ScriptFilter.js"
export * as TestLeakageFilter from "./TestLeakageFilter.js"
