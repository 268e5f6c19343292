/**
 * @ssra/core — the contract package: grades, documents, pairs, synthetic rows with provenance, training rows,
 * manifests, model shapes, text normalization, seeded sampling and streaming dataset I/O.
 *
 * @since 0.1.0
 */
export * as AtomicFile from "./AtomicFile.js"
export * as Dataset from "./Dataset.js"
export * as DatasetError from "./DatasetError.js"
export * as Delimited from "./Delimited.js"
export * as Document from "./Document.js"
export * as Failure from "./Failure.js"
export * as Grade from "./Grade.js"
export * as Hash from "./Hash.js"
export * as Jsonl from "./Jsonl.js"
export * as Manifest from "./Manifest.js"
export * as Models from "./Models.js"
export * as Pair from "./Pair.js"
export * as Parquet from "./Parquet.js"
export * as Sampling from "./Sampling.js"
export * as SyntheticQuery from "./SyntheticQuery.js"
export * as Text from "./Text.js"
export * as TrainingRow from "./TrainingRow.js"
export * as Trec from "./Trec.js"
