/**
 * Keeps queries written in the expected script: the share of letters in that script (core `Text.hanRatio` for
 * Han) must reach a minimum. A Chinese-domain generator that drifts into English or pinyin is caught here.
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
export interface ScriptOptions {
  /** A Unicode script name (`Han` by default; e.g. `Latin`, `Cyrillic`). */
  readonly script?: string | undefined
  /** Minimum share of letters in the script (default 0.5). A query with no letters is rejected. */
  readonly minRatio?: number | undefined
  readonly name?: string | undefined
}

/**
 * Share of letters of `text` in `script` (0 when it has no letters).
 *
 * @since 0.1.0
 * @category combinators
 */
export const scriptRatio = (text: string, script: string): number => {
  if (script === "Han") return Text.hanRatio(text)
  const inScript = new RegExp(`\\p{Script=${script}}`, "u")
  let letters = 0
  let hits = 0
  for (const ch of text) {
    if (/\p{L}/u.test(ch)) {
      letters++
      if (inScript.test(ch)) hits++
    }
  }
  return letters === 0 ? 0 : hits / letters
}

/**
 * Builds the script filter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ScriptOptions = {}): Filter.Filter => {
  const name = options.name ?? "script"
  const script = options.script ?? "Han"
  const minRatio = options.minRatio ?? 0.5
  try {
    new RegExp(`\\p{Script=${script}}`, "u")
  } catch {
    throw invalidOption(name, `unknown Unicode script ${JSON.stringify(script)} (use e.g. Han, Latin, Cyrillic)`)
  }
  if (!(minRatio >= 0 && minRatio <= 1)) throw invalidOption(name, `minRatio must be in [0, 1], got ${minRatio}`)
  return {
    name,
    scope: "item",
    config: { script, minRatio },
    apply: (items) =>
      Effect.sync(() =>
        Filter.collect(
          name,
          items,
          items.map((c) => {
            const invalid = Filter.validate(c, { needsDocument: false })
            if (invalid !== undefined) return invalid
            if (!/\p{L}/u.test(c.query)) return Filter.reject("no-letters", "the query has no letters")
            const r = scriptRatio(c.query, script)
            return r >= minRatio
              ? Filter.keep()
              : Filter.reject("wrong-script", `${script} share ${r.toFixed(2)} < ${minRatio}`)
          })
        )
      )
  }
}
