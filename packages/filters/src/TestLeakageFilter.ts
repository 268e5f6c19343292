/**
 * Never lets a query from an evaluation set into training data: a candidate whose normalized text (core
 * `Text.dedupKey`) equals an evaluation query's is rejected. Evaluation queries come as strings or from JSONL
 * files with a `query` field (the bundled `retrieval_test.jsonl` / `pair_test.jsonl`).
 *
 * @since 0.1.0
 */

import { type DatasetError, Jsonl, Text } from "@ssra/core"
import { Effect, Schema, Stream } from "effect"
import * as Filter from "./Filter.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface TestLeakageOptions {
  readonly evaluationQueries: Iterable<string>
  /** Also reject a candidate whose query contains an evaluation query of at least this many characters (off by default). */
  readonly containsMinChars?: number | undefined
  readonly name?: string | undefined
}

/**
 * Builds the leakage filter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: TestLeakageOptions): Filter.Filter => {
  const name = options.name ?? "test-leakage"
  const keys = new Set<string>()
  for (const q of options.evaluationQueries) {
    const k = Text.dedupKey(q)
    if (k !== "") keys.add(k)
  }
  const containsMin = options.containsMinChars
  const long = containsMin === undefined ? [] : [...keys].filter((k) => [...k].length >= containsMin)
  return {
    name,
    scope: "item",
    config: { evaluationQueries: keys.size, containsMinChars: containsMin ?? null },
    apply: (items) =>
      Effect.sync(() =>
        Filter.collect(
          name,
          items,
          items.map((c) => {
            const invalid = Filter.validate(c, { needsDocument: false })
            if (invalid !== undefined) return invalid
            const k = Text.dedupKey(c.query)
            if (keys.has(k)) return Filter.reject("test-leak", "matches an evaluation query (normalized)")
            for (const e of long)
              if (k.includes(e))
                return Filter.reject("test-leak-contains", `contains the evaluation query ${JSON.stringify(e)}`)
            return Filter.keep()
          })
        )
      )
  }
}

const QueryRow = Schema.Struct({ query: Schema.String })

/**
 * Builds the leakage filter from evaluation JSONL files (every row's `query`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFiles = (
  files: ReadonlyArray<string>,
  options: Omit<TestLeakageOptions, "evaluationQueries"> = {}
): Effect.Effect<Filter.Filter, DatasetError.DatasetError> =>
  Effect.map(
    Effect.forEach(files, (file) => Stream.runCollect(Stream.map(Jsonl.read(file, QueryRow), (r) => r.query))),
    (lists) => make({ ...options, evaluationQueries: lists.flat() })
  )
