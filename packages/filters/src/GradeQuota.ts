/**
 * Fills a target grade distribution from the candidates: either a distribution of the kept set itself
 * (`shares` over the grades it should contain), or — with `existing` counts, e.g. the labeled training set's
 * histogram — enough synthetic queries of the quota grades that they reach their shares of existing + kept
 * ("lift grades 1 and 2 to 15% each"). Which candidates of a grade are kept is a seeded random choice.
 *
 * @since 0.1.0
 */

import { Sampling } from "@ssra/core"
import { Effect } from "effect"
import * as Filter from "./Filter.js"
import { invalidOption } from "./FilterError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface GradeQuotaOptions {
  /** Target share per grade (keys 0..3). Without `existing` they are normalized to sum to 1. */
  readonly shares: Readonly<Partial<Record<0 | 1 | 2 | 3, number>>>
  /** Counts per grade already in the training set. Turns on "lift" mode: shares are of existing + kept. */
  readonly existing?: Readonly<Partial<Record<0 | 1 | 2 | 3, number>>> | undefined
  /** Candidates of grades without a share: kept as they are (default) or dropped. */
  readonly others?: "keep" | "drop" | undefined
  /** Cap on the number of quota-grade candidates kept (distribution mode). */
  readonly total?: number | undefined
  readonly seed?: number | undefined
  readonly name?: string | undefined
}

const GRADES: ReadonlyArray<0 | 1 | 2 | 3> = [0, 1, 2, 3]

/**
 * Largest-remainder rounding of `total · shares` (shares sum to 1).
 *
 * @since 0.1.0
 * @category combinators
 */
export const apportion = (total: number, shares: ReadonlyArray<number>): Array<number> => {
  const exact = shares.map((s) => s * total)
  const out = exact.map(Math.floor)
  let left = total - out.reduce((a, b) => a + b, 0)
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1])
  for (const [, i] of order) {
    if (left <= 0) break
    out[i]!++
    left--
  }
  return out
}

/**
 * How many candidates of each grade to keep (index = grade), given how many are available.
 *
 * @since 0.1.0
 * @category combinators
 */
export const quotas = (
  available: ReadonlyArray<number>,
  options: Pick<GradeQuotaOptions, "shares" | "existing" | "total" | "others">
): Array<number | undefined> => {
  const share = GRADES.map((g) => options.shares[g])
  if (options.existing === undefined) {
    const sum = share.reduce<number>((a, s) => a + (s ?? 0), 0)
    const active = GRADES.filter((g) => (share[g] ?? 0) > 0)
    let t = Number.POSITIVE_INFINITY
    for (const g of active) t = Math.min(t, Math.floor(available[g]! / (share[g]! / sum) + 1e-9))
    if (options.total !== undefined) t = Math.min(t, options.total)
    if (!Number.isFinite(t)) t = 0
    // rounding can put one more in a grade than it has: shrink until every quota fits
    for (; t > 0; t--) {
      const q = apportion(
        t,
        active.map((g) => share[g]! / sum)
      )
      if (active.every((g, i) => q[i]! <= available[g]!)) {
        const out: Array<number | undefined> = GRADES.map((g) => (share[g] === undefined ? undefined : 0))
        active.forEach((g, i) => {
          out[g] = q[i]!
        })
        return out
      }
    }
    return GRADES.map((g) => (share[g] === undefined ? undefined : 0))
  }
  const existing = GRADES.map((g) => options.existing?.[g] ?? 0)
  const quotaGrades = GRADES.filter((g) => share[g] !== undefined)
  const S = quotaGrades.reduce<number>((a, g) => a + share[g]!, 0)
  const othersKept =
    options.others === "drop"
      ? 0
      : GRADES.filter((g) => share[g] === undefined).reduce<number>((a, g) => a + available[g]!, 0)
  const rest = GRADES.filter((g) => share[g] === undefined).reduce<number>((a, g) => a + existing[g]!, 0) + othersKept
  // N = rest + S·N  ⇒  N = rest / (1 − S): the final size at which each quota grade has exactly its share
  const N = rest / (1 - S)
  return GRADES.map((g) =>
    share[g] === undefined ? undefined : Math.max(0, Math.min(available[g]!, Math.round(share[g]! * N) - existing[g]!))
  )
}

/**
 * Builds the quota filter. Statistics report each grade's kept count and, in lift mode, its achieved share.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: GradeQuotaOptions): Filter.Filter => {
  const name = options.name ?? "grade-quota"
  const seed = options.seed ?? 0
  const others = options.others ?? "keep"
  for (const [g, s] of Object.entries(options.shares)) {
    if (!GRADES.includes(Number(g) as 0)) throw invalidOption(name, `share for grade ${g}: grades are 0..3`)
    if (!(typeof s === "number" && s >= 0 && s <= 1))
      throw invalidOption(name, `share for grade ${g} must be in [0, 1], got ${s}`)
  }
  const shareSum = Object.values(options.shares).reduce<number>((a, s) => a + (s ?? 0), 0)
  if (shareSum <= 0) throw invalidOption(name, "at least one grade needs a positive share")
  if (options.existing !== undefined && shareSum >= 1) {
    throw invalidOption(
      name,
      `in lift mode (existing counts given) the shares must sum to less than 1, got ${shareSum}`
    )
  }
  if (options.total !== undefined && !(Number.isInteger(options.total) && options.total >= 0)) {
    throw invalidOption(name, `total must be a non-negative integer, got ${options.total}`)
  }
  return {
    name,
    scope: "set",
    config: { shares: options.shares, existing: options.existing ?? null, others, total: options.total ?? null, seed },
    apply: (items) =>
      Effect.sync(() => {
        const decisions: Array<Filter.Decision | undefined> = items.map((c) =>
          Filter.validate(c, { needsDocument: false })
        )
        const byGrade: Array<Array<number>> = [[], [], [], []]
        for (let i = 0; i < items.length; i++) if (decisions[i] === undefined) byGrade[items[i]!.targetGrade]!.push(i)
        const q = quotas(
          byGrade.map((l) => l.length),
          options
        )
        const rng = new Sampling.SeededRandom(seed)
        const keptPerGrade = [0, 0, 0, 0]
        // in distribution mode a share-bearing grade without candidates zeroes every quota: name it in the reason
        const empty =
          options.existing === undefined
            ? GRADES.filter((g) => (options.shares[g] ?? 0) > 0 && byGrade[g]!.length === 0)
            : []
        const why =
          empty.length > 0
            ? ` (grade${empty.length > 1 ? "s" : ""} ${empty.join(", ")} ha${empty.length > 1 ? "ve" : "s"} no candidates, and the shares fix the ratio between grades)`
            : ""
        for (const g of GRADES) {
          const list = byGrade[g]!
          const quota = q[g]
          if (quota === undefined) {
            for (const i of list) {
              decisions[i] =
                others === "keep"
                  ? Filter.keep("grade not quota-controlled")
                  : Filter.reject("grade-not-in-quota", `no share for grade ${g}`)
            }
            if (others === "keep") keptPerGrade[g] = list.length
            continue
          }
          const chosen = new Set(Sampling.sample(list, quota, rng.fork(g)))
          for (const i of list)
            decisions[i] = chosen.has(i)
              ? Filter.keep(`quota ${quota} for grade ${g}`)
              : Filter.reject("over-quota", `grade ${g} quota is ${quota}${why}`)
          keptPerGrade[g] = chosen.size
        }
        const statistics: Record<string, number | null> = {}
        for (const g of GRADES) {
          statistics[`kept.${g}`] = keptPerGrade[g]!
          if (q[g] !== undefined) statistics[`quota.${g}`] = q[g]!
        }
        if (empty.length > 0) statistics.emptyQuotaGrades = empty.length
        if (options.existing !== undefined) {
          const existing = GRADES.map((g) => options.existing?.[g] ?? 0)
          const final = GRADES.map((g) => existing[g]! + keptPerGrade[g]!)
          const total = final.reduce((a, b) => a + b, 0)
          for (const g of GRADES) statistics[`share.${g}`] = Filter.rate(final[g]!, total)
        }
        return Filter.collect(name, items, decisions as Array<Filter.Decision>, statistics)
      })
  }
}
