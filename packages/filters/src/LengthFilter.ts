/**
 * Keeps queries whose length, in characters (Unicode code points of the normalized text), lies within bounds:
 * real search queries are short, and a generator that answers with a sentence or a single character is off the
 * domain's query distribution.
 *
 * @since 0.1.0
 */

import { Text } from "@ssra/core"
import { Effect } from "effect"
import * as Filter from "./Filter.js"
import { invalidOption } from "./FilterError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface LengthOptions {
  /** Inclusive minimum length in characters (default 2). */
  readonly minChars?: number | undefined
  /** Inclusive maximum length in characters (default 64). */
  readonly maxChars?: number | undefined
  readonly name?: string | undefined
}

/**
 * The length the filter measures: code points of `Text.normalize(query)`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const lengthOf = (query: string): number => [...Text.normalize(query)].length

/**
 * Builds the length filter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: LengthOptions = {}): Filter.Filter => {
  const name = options.name ?? "length"
  const minChars = options.minChars ?? 2
  const maxChars = options.maxChars ?? 64
  if (!(Number.isInteger(minChars) && minChars >= 0 && Number.isInteger(maxChars) && maxChars >= minChars)) {
    throw invalidOption(
      name,
      `length bounds must be integers with 0 <= minChars <= maxChars, got ${minChars}..${maxChars}`
    )
  }
  return {
    name,
    scope: "item",
    config: { minChars, maxChars },
    apply: (items) =>
      Effect.sync(() =>
        Filter.collect(
          name,
          items,
          items.map((c) => {
            const invalid = Filter.validate(c, { needsDocument: false })
            if (invalid !== undefined) return invalid
            const n = lengthOf(c.query)
            if (n < minChars) return Filter.reject("too-short", `${n} < ${minChars} characters`)
            if (n > maxChars) return Filter.reject("too-long", `${n} > ${maxChars} characters`)
            return Filter.keep()
          })
        )
      )
  }
}
