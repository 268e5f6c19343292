/**
 * Dataset and run manifests: what a file holds and which component with which config produced it, so every
 * artifact of a run can be traced and reproduced.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category constants
 */
export const formatVersion = 1

/**
 * @since 0.1.0
 * @category schemas
 */
export const DatasetManifest = Schema.Struct({
  formatVersion: Schema.Int,
  kind: Schema.String,
  file: Schema.String,
  format: Schema.Literals(["jsonl", "parquet", "trec-qrels", "trec-run"]),
  rows: Schema.Int,
  sha256: Schema.String,
  producer: Schema.Struct({
    component: Schema.String,
    version: Schema.String,
    config: Schema.Unknown
  }),
  seed: Schema.optionalKey(Schema.Int),
  inputs: Schema.optionalKey(Schema.Array(Schema.Struct({ file: Schema.String, sha256: Schema.String }))),
  createdAt: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type DatasetManifest = typeof DatasetManifest.Type
