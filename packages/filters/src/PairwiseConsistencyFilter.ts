/**
 * SSRA Stage 2's pairwise consistency filter: per document, every two generated queries written for different
 * target grades are compared by a judge ("which query does this document satisfy better?") in both
 * presentation orders, which cancels a judge's position bias; a query whose judged order contradicts the
 * target order is dropped. Agreement statistics are reported.
 *
 * @since 0.1.0
 */

import { Models, Sampling } from "@ssra/core"
import { Effect } from "effect"
import * as Filter from "./Filter.js"
import { invalidOption } from "./FilterError.js"
import type { PairwiseAnswer, PairwiseJudge, PairwiseQuestion } from "./PairwiseJudge.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface PairwiseConsistencyOptions {
  readonly judge: PairwiseJudge
  /** The highest grade of the scale (default 3). Targets above it are rejected. */
  readonly scaleMax?: 1 | 2 | 3 | undefined
  /**
   * `any` (default): drop a query that takes part in at least one contradicted pair (the paper drops the
   * inconsistent pairs). `majority`: drop it only when its contradicted pairs outnumber its consistent ones.
   */
  readonly drop?: "any" | "majority" | undefined
  /** A query none of whose comparisons was decided (ties, position flips, unreadable answers): keep (default) or drop. */
  readonly undecided?: "keep" | "drop" | undefined
  /** A query with no partner of another target grade for its document: keep (default) or drop. */
  readonly unpaired?: "keep" | "drop" | undefined
  /** At most this many pairs per document (a seeded sample; default: all). Bounds LLM calls for large groups. */
  readonly maxPairsPerDocument?: number | undefined
  readonly seed?: number | undefined
  readonly name?: string | undefined
}

/**
 * The outcome of one pair after both orders.
 *
 * @since 0.1.0
 * @category models
 */
export type PairOutcome = "consistent" | "contradicted" | "tie" | "position-flip" | "invalid"

/**
 * Combines the two answers: `hiFirst` is the answer with the higher-target query shown first, `loFirst` with
 * it shown second.
 *
 * @since 0.1.0
 * @category combinators
 */
export const combine = (hiFirst: PairwiseAnswer, loFirst: PairwiseAnswer): PairOutcome => {
  if (hiFirst._tag === "Invalid" || loFirst._tag === "Invalid") return "invalid"
  const a = hiFirst._tag === "First" ? "hi" : hiFirst._tag === "Second" ? "lo" : "tie"
  const b = loFirst._tag === "Second" ? "hi" : loFirst._tag === "First" ? "lo" : "tie"
  if (a === "hi" && b === "hi") return "consistent"
  if (a === "lo" && b === "lo") return "contradicted"
  if (a === "tie" && b === "tie") return "tie"
  return "position-flip"
}

/**
 * Builds the filter. Judge transport failures fail the run with `ModelError`; unreadable judge answers are
 * counted (`invalidAnswers`) and leave the pair undecided.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: PairwiseConsistencyOptions): Filter.Filter<Models.ModelError> => {
  const name = options.name ?? "pairwise-consistency"
  const scaleMax = options.scaleMax ?? 3
  const dropPolicy = options.drop ?? "any"
  const undecidedPolicy = options.undecided ?? "keep"
  const unpairedPolicy = options.unpaired ?? "keep"
  const judge = options.judge
  const maxPairs = options.maxPairsPerDocument
  const seed = options.seed ?? 0
  if (maxPairs !== undefined && !(Number.isInteger(maxPairs) && maxPairs >= 1)) {
    throw invalidOption(name, `maxPairsPerDocument must be a positive integer, got ${maxPairs}`)
  }
  return {
    name,
    scope: "set",
    config: {
      judge: judge.id,
      promptVersion: judge.promptVersion,
      scaleMax,
      drop: dropPolicy,
      undecided: undecidedPolicy,
      unpaired: unpairedPolicy
    },
    apply: (items) =>
      Effect.gen(function* () {
        const decisions: Array<Filter.Decision | undefined> = items.map((c) => Filter.validate(c, { scaleMax }))
        const byDoc = new Map<string, Array<number>>()
        for (let i = 0; i < items.length; i++) {
          if (decisions[i] !== undefined) continue
          const list = byDoc.get(items[i]!.did)
          if (list) list.push(i)
          else byDoc.set(items[i]!.did, [i])
        }
        const pairs: Array<{ hi: number; lo: number }> = []
        let skippedPairs = 0
        for (const [did, list] of byDoc) {
          const forDoc: Array<{ hi: number; lo: number }> = []
          for (let x = 0; x < list.length; x++) {
            for (let y = x + 1; y < list.length; y++) {
              const i = list[x]!
              const j = list[y]!
              const ti = items[i]!.targetGrade
              const tj = items[j]!.targetGrade
              if (ti === tj) continue
              forDoc.push(ti > tj ? { hi: i, lo: j } : { hi: j, lo: i })
            }
          }
          if (maxPairs !== undefined && forDoc.length > maxPairs) {
            skippedPairs += forDoc.length - maxPairs
            pairs.push(...Sampling.sample(forDoc, maxPairs, Sampling.hashSeed(`${seed}/${did}`)))
          } else pairs.push(...forDoc)
        }
        const questions: Array<PairwiseQuestion> = []
        for (const p of pairs) {
          const doc = items[p.hi]!.doc
          questions.push({ doc, first: items[p.hi]!.query, second: items[p.lo]!.query })
          questions.push({ doc, first: items[p.lo]!.query, second: items[p.hi]!.query })
        }
        const answers = questions.length === 0 ? [] : yield* judge.compare(questions)
        if (answers.length !== questions.length) {
          return yield* new Models.ModelError({
            backend: judge.id,
            reason: "invalid-output",
            message: `judge returned ${answers.length} answers for ${questions.length} questions`
          })
        }
        const tally = { consistent: 0, contradicted: 0, tie: 0, "position-flip": 0, invalid: 0 }
        const perItem = new Map<
          number,
          { consistent: number; contradicted: number; undecided: number; against: Array<string> }
        >()
        const at = (i: number) => {
          let t = perItem.get(i)
          if (t === undefined) perItem.set(i, (t = { consistent: 0, contradicted: 0, undecided: 0, against: [] }))
          return t
        }
        let invalidAnswers = 0
        for (let k = 0; k < pairs.length; k++) {
          const p = pairs[k]!
          const a1 = answers[2 * k]!
          const a2 = answers[2 * k + 1]!
          if (a1._tag === "Invalid") invalidAnswers++
          if (a2._tag === "Invalid") invalidAnswers++
          const outcome = combine(a1, a2)
          tally[outcome]++
          for (const [i, other] of [
            [p.hi, p.lo],
            [p.lo, p.hi]
          ] as const) {
            const t = at(i)
            if (outcome === "consistent") t.consistent++
            else if (outcome === "contradicted") {
              t.contradicted++
              t.against.push(items[other]!.id)
            } else t.undecided++
          }
        }
        let unpaired = 0
        for (let i = 0; i < items.length; i++) {
          if (decisions[i] !== undefined) continue
          const t = perItem.get(i)
          if (t === undefined) {
            unpaired++
            decisions[i] =
              unpairedPolicy === "keep"
                ? Filter.keep("unpaired")
                : Filter.reject("unpaired", "no query of another target grade for this document")
            continue
          }
          const contradicted = dropPolicy === "any" ? t.contradicted > 0 : t.contradicted > t.consistent
          if (contradicted) {
            decisions[i] = Filter.reject(
              "order-contradiction",
              `judged against target order vs ${t.against.join(", ")}`
            )
          } else if (t.consistent === 0 && t.contradicted === 0) {
            decisions[i] =
              undecidedPolicy === "keep"
                ? Filter.keep(`undecided (${t.undecided} comparisons)`)
                : Filter.reject("undecided", `${t.undecided} comparisons, none decided`)
          } else decisions[i] = Filter.keep(`consistent ${t.consistent}, contradicted ${t.contradicted}`)
        }
        const decided = tally.consistent + tally.contradicted
        const readable = pairs.length - tally.invalid
        return Filter.collect(name, items, decisions as Array<Filter.Decision>, {
          pairs: pairs.length,
          skippedPairs,
          consistent: tally.consistent,
          contradicted: tally.contradicted,
          ties: tally.tie,
          positionFlips: tally["position-flip"],
          invalidPairs: tally.invalid,
          invalidAnswers,
          unpaired,
          agreement: Filter.rate(tally.consistent, decided),
          positionConsistency: Filter.rate(readable - tally["position-flip"], readable)
        })
      })
  }
}
