/**
 * The one contract every filter implements: candidates (core `SyntheticQuery` rows) in, the same rows out split
 * into kept and rejected, each with this filter's `FilterVerdict` appended, plus counts per reason. A rejection
 * always carries a reason code, so nothing is ever dropped silently.
 *
 * @since 0.1.0
 */

import type { SyntheticQuery } from "@ssra/core"
import { Effect, Stream } from "effect"
import { FilterError } from "./FilterError.js"

/**
 * What a filter reads and writes: a synthetic query with its provenance and the verdicts so far.
 *
 * @since 0.1.0
 * @category models
 */
export type Candidate = SyntheticQuery.SyntheticQuery

/**
 * Counts of one filter run: how many came in, were kept, were rejected, and the rejections per reason code.
 *
 * @since 0.1.0
 * @category models
 */
export interface FilterCounts {
  readonly filter: string
  readonly input: number
  readonly kept: number
  readonly rejected: number
  readonly reasons: Readonly<Record<string, number>>
}

/**
 * One filter run's result. `statistics` holds filter-specific numbers (agreement rates, achieved shares…);
 * a rate whose denominator is zero is `null`, never NaN.
 *
 * @since 0.1.0
 * @category models
 */
export interface FilterResult {
  readonly kept: ReadonlyArray<Candidate>
  readonly rejected: ReadonlyArray<Candidate>
  readonly counts: FilterCounts
  readonly statistics?: Readonly<Record<string, number | null>> | undefined
}

/**
 * A filter. `scope` says whether each candidate is judged on its own (`item`: the filter may run chunk by chunk
 * over a stream) or against the whole set (`set`: duplicates, per-document comparisons, quotas).
 *
 * @since 0.1.0
 * @category models
 */
export interface Filter<E = never> {
  readonly name: string
  readonly scope: "item" | "set"
  readonly config: Readonly<Record<string, unknown>>
  readonly apply: (items: ReadonlyArray<Candidate>) => Effect.Effect<FilterResult, E>
}

/**
 * A decision about one candidate: keep, or reject with a reason code (e.g. `grade-mismatch`) and a detail.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly keep: true; readonly note?: string | undefined }
  | { readonly keep: false; readonly code: string; readonly detail?: string | undefined }

/**
 * Keeps a candidate.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keep = (note?: string): Decision => (note === undefined ? { keep: true } : { keep: true, note })

/**
 * Rejects a candidate with a reason code and an optional detail.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reject = (code: string, detail?: string): Decision =>
  detail === undefined ? { keep: false, code } : { keep: false, code, detail }

/**
 * Appends `name`'s verdict for `decision` to the candidate. A rejection's reason reads `code: detail`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withVerdict = (candidate: Candidate, name: string, decision: Decision): Candidate => {
  const reason = decision.keep
    ? decision.note
    : decision.detail === undefined
      ? decision.code
      : `${decision.code}: ${decision.detail}`
  return {
    ...candidate,
    verdicts: [
      ...candidate.verdicts,
      reason === undefined ? { filter: name, keep: decision.keep } : { filter: name, keep: decision.keep, reason }
    ]
  }
}

/**
 * Builds a result from index-aligned decisions, preserving input order in both lists. Throws a `FilterError`
 * (`decisions`) when there are not as many decisions as candidates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const collect = (
  name: string,
  items: ReadonlyArray<Candidate>,
  decisions: ReadonlyArray<Decision>,
  statistics?: Readonly<Record<string, number | null>>
): FilterResult => {
  if (decisions.length !== items.length) {
    throw new FilterError({
      filter: name,
      reason: "decisions",
      detail: `${decisions.length} decisions for ${items.length} candidates`
    })
  }
  const kept: Array<Candidate> = []
  const rejected: Array<Candidate> = []
  const reasons: Record<string, number> = {}
  for (let i = 0; i < items.length; i++) {
    const d = decisions[i]!
    const row = withVerdict(items[i]!, name, d)
    if (d.keep) kept.push(row)
    else {
      rejected.push(row)
      reasons[d.code] = (reasons[d.code] ?? 0) + 1
    }
  }
  const counts: FilterCounts = {
    filter: name,
    input: items.length,
    kept: kept.length,
    rejected: rejected.length,
    reasons
  }
  return statistics === undefined ? { kept, rejected, counts } : { kept, rejected, counts, statistics }
}

/**
 * A rate that is `null` (undefined) rather than NaN when the denominator is zero.
 *
 * @since 0.1.0
 * @category combinators
 */
export const rate = (numerator: number, denominator: number): number | null =>
  denominator === 0 ? null : numerator / denominator

/**
 * Checks the fields every filter relies on: a non-blank query, a non-blank document and, when a scale is given,
 * a target grade on it. Returns the rejection, or undefined when the candidate is well-formed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const validate = (
  candidate: Candidate,
  options: { readonly scaleMax?: 1 | 2 | 3 | undefined; readonly needsDocument?: boolean | undefined } = {}
): Decision | undefined => {
  if (typeof candidate.query !== "string" || candidate.query.trim() === "")
    return reject("empty-query", "the query has no text")
  if (options.needsDocument !== false && (typeof candidate.doc !== "string" || candidate.doc.trim() === "")) {
    return reject("empty-document", `document ${candidate.did} has no text`)
  }
  const g = candidate.targetGrade as number
  const max = options.scaleMax ?? 3
  if (!Number.isInteger(g) || g < 0 || g > max) {
    return reject("target-off-scale", `target grade ${String(g)} is outside the scale 0..${max}`)
  }
  return undefined
}

/**
 * The result of a chain of filters: what survived every filter, everything any filter rejected (with the
 * verdicts so far) and each filter's counts in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChainResult {
  readonly kept: ReadonlyArray<Candidate>
  readonly rejected: ReadonlyArray<Candidate>
  readonly steps: ReadonlyArray<
    FilterCounts & { readonly statistics?: Readonly<Record<string, number | null>> | undefined }
  >
}

/**
 * Runs filters one after the other, each on the previous one's survivors.
 *
 * @since 0.1.0
 * @category combinators
 */
export const chain = <E>(
  filters: ReadonlyArray<Filter<E>>,
  items: ReadonlyArray<Candidate>
): Effect.Effect<ChainResult, E> =>
  Effect.gen(function* () {
    let current = items
    const rejected: Array<Candidate> = []
    const steps: Array<ChainResult["steps"][number]> = []
    for (const filter of filters) {
      const result = yield* filter.apply(current)
      rejected.push(...result.rejected)
      steps.push(result.statistics === undefined ? result.counts : { ...result.counts, statistics: result.statistics })
      current = result.kept
    }
    return { kept: current, rejected, steps }
  })

/**
 * Runs a filter over a stream. An `item`-scope filter runs chunk by chunk (`chunkSize` candidates at a time,
 * constant memory); a `set`-scope filter needs the whole set, so the stream is collected first. Emits every
 * candidate with its verdict appended, per chunk the kept ones first, then the rejected ones (read `verdicts`
 * to tell them apart).
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyStream = <E, E2, R>(
  filter: Filter<E>,
  candidates: Stream.Stream<Candidate, E2, R>,
  chunkSize = 512
): Stream.Stream<Candidate, E | E2, R> => {
  const run = (chunk: ReadonlyArray<Candidate>) =>
    Effect.map(filter.apply(chunk), (r): ReadonlyArray<Candidate> => [...r.kept, ...r.rejected])
  return filter.scope === "item"
    ? candidates.pipe(Stream.grouped(chunkSize), Stream.mapEffect(run), Stream.flattenIterable)
    : Stream.unwrap(Effect.map(Effect.flatMap(Stream.runCollect(candidates), run), (all) => Stream.fromIterable(all)))
}
