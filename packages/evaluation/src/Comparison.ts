/**
 * Compares systems evaluated on the same task: for each task, every system against the first (the baseline),
 * metric by metric: per-query metrics with the sign-flip randomization test (exact for up to 20 differing
 * queries) and the 95% interval that inverts it (so the interval holds 0 exactly when p ≥ 0.05), with how many
 * queries differ; AP over pairs with paired-bootstrap intervals and p-values.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { EvaluationError } from "./EvaluationError.js"
import type { TaskResult } from "./ResultFile.js"
import * as Statistics from "./Statistics.js"

/**
 * One metric's difference between a system and the baseline on a task.
 *
 * @since 0.1.0
 * @category models
 */
export interface Delta {
  readonly task: string
  readonly metric: string
  readonly baseline: string
  readonly system: string
  readonly a: number | null
  readonly b: number | null
  readonly difference: number | null
  readonly ci: readonly [number, number] | null
  readonly pValue: number | null
  readonly method: "randomization" | "bootstrap" | "none"
  readonly n: number
  /** Randomization: queries whose two values differ (the only ones the sign-flip test sees). */
  readonly differing?: number
  /** Randomization: the smallest p-value attainable with `differing` queries (`2^(1 − differing)`, at most 1). */
  readonly minPValue?: number
  /** Why no test was possible, when `method` is "none". */
  readonly note?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CompareOptions {
  readonly metrics?: ReadonlyArray<string> | undefined
  readonly resamples?: number | undefined
  readonly permutations?: number | undefined
  readonly seed?: number | undefined
}

const defaultMetrics: Partial<Record<TaskResult["ssra"]["evaluator"], ReadonlyArray<string>>> = {
  retrieval: ["ndcg_at_10", "ndcg_at_5", "map_at_10", "mrr_at_10"],
  "pair-classification": ["ap_ge_1", "ap_ge_2", "ap_ge_3", "ap_mean"]
}

/**
 * A metric name as the result files key it: `ndcg@10` → `ndcg_at_10`, `p@5` → `precision_at_5`, `ap@>=2` →
 * `ap_ge_2`; a key is returned as it is.
 *
 * @since 0.1.0
 * @category comparison
 */
export const metricKey = (name: string): string => {
  const m = /^(ndcg|map|mrr|recall|p|precision)@(\d+)$/i.exec(name.trim())
  if (m !== null) return `${m[1]!.toLowerCase() === "p" ? "precision" : m[1]!.toLowerCase()}_at_${m[2]}`
  const ap = /^ap@(?:>=|≥)?(\d)$/i.exec(name.trim())
  if (ap !== null) return `ap_ge_${ap[1]}`
  return name.trim()
}

const alignBy = (idsA: ReadonlyArray<string>, idsB: ReadonlyArray<string>) => {
  const index = new Map(idsB.map((id, i) => [id, i]))
  const ia: Array<number> = []
  const ib: Array<number> = []
  idsA.forEach((id, i) => {
    const j = index.get(id)
    if (j !== undefined) {
      ia.push(i)
      ib.push(j)
    }
  })
  return { ia, ib }
}

const compareTwo = (base: TaskResult, other: TaskResult, options: CompareOptions): Array<Delta> => {
  const seed = options.seed ?? 0
  const out: Array<Delta> = []
  const bs = base.ssra
  const os = other.ssra
  const head = { task: base.task_name, baseline: bs.model_name, system: os.model_name }
  // results of different test data are not a paired comparison: say so on every row
  const mismatch =
    base.dataset_revision !== other.dataset_revision || bs.dataset !== os.dataset
      ? `different test data: ${bs.dataset}@${base.dataset_revision ?? "?"} vs ${os.dataset}@${other.dataset_revision ?? "?"}`
      : undefined
  const wanted = (options.metrics ?? defaultMetrics[bs.evaluator] ?? [bs.primary_metric]).filter(
    (m) => m in bs.metrics || m in os.metrics
  )
  for (const metric of wanted) {
    const a = bs.metrics[metric] ?? null
    const b = os.metrics[metric] ?? null
    const plain = (note: string, n = 0): Delta => ({
      ...head,
      metric,
      a,
      b,
      difference: a === null || b === null ? null : b - a,
      ci: null,
      pValue: null,
      method: "none",
      n,
      note
    })
    const pa = bs.per_unit
    const pb = os.per_unit
    if (pa !== undefined && pb !== undefined && pa.values[metric] !== undefined && pb.values[metric] !== undefined) {
      const { ia, ib } = alignBy(pa.ids, pb.ids)
      if (ia.length === 0) {
        out.push(plain("no shared queries"))
        continue
      }
      const va = ia.map((i) => pa.values[metric]![i]!)
      const vb = ib.map((i) => pb.values[metric]![i]!)
      const r = Statistics.pairedRandomization(va, vb, {
        permutations: options.permutations ?? 10000,
        resamples: options.resamples ?? 2000,
        seed
      })
      const notes = [
        ...(ia.length < pa.ids.length || ia.length < pb.ids.length
          ? [
              `${ia.length} shared queries of ${pa.ids.length} / ${pb.ids.length} (the values compared are the means over the shared ones)`
            ]
          : []),
        ...(mismatch === undefined ? [] : [mismatch])
      ]
      const note = notes.length === 0 ? undefined : notes.join("; ")
      out.push({
        ...head,
        metric,
        a: r.a,
        b: r.b,
        difference: r.difference,
        ci: r.ci,
        pValue: r.pValue,
        method: "randomization",
        n: ia.length,
        differing: r.differing ?? ia.length,
        minPValue: r.minPValue ?? 1,
        ...(note === undefined ? {} : { note })
      })
      continue
    }
    const apMatch = /^ap_ge_(\d+)$/.exec(metric)
    const ap = bs.pairs
    const bp = os.pairs
    if ((apMatch || metric === "ap_mean") && ap !== undefined && bp !== undefined) {
      const { ia, ib } = alignBy(ap.ids, bp.ids)
      const labelsAgree = ia.every((i, k) => ap.labels[i] === bp.labels[ib[k]!])
      if (ia.length === 0 || !labelsAgree) {
        out.push(plain(ia.length === 0 ? "no shared pairs" : "the two results disagree on labels"))
        continue
      }
      const labels = ia.map((i) => ap.labels[i]!)
      const sa = ia.map((i) => ap.scores[i]!)
      const sb = ib.map((i) => bp.scores[i]!)
      const thresholds = apMatch
        ? [Number(apMatch[1])]
        : ((bs.config.thresholds as Array<number> | undefined) ?? [1, 2, 3])
      let r: Statistics.PairedComparison
      if (apMatch) {
        r = Statistics.pairedAveragePrecision(labels, sa, sb, thresholds, {
          resamples: options.resamples ?? 2000,
          seed
        })[0]!
      } else {
        const wa = new Statistics.WeightedAveragePrecision(labels, sa, thresholds)
        const wb = new Statistics.WeightedAveragePrecision(labels, sb, thresholds)
        const n = labels.length
        const weights = new Float64Array(n)
        const meanOf = (w: Statistics.WeightedAveragePrecision) => (idx: Uint32Array) => {
          weights.fill(0)
          for (let i = 0; i < idx.length; i++) weights[idx[i]!]!++
          const v = w.compute(weights).filter((x): x is number => x !== null)
          return v.length === 0 ? null : v.reduce((s, x) => s + x, 0) / v.length
        }
        r = Statistics.pairedBootstrapStatistic(n, meanOf(wa), meanOf(wb), {
          resamples: options.resamples ?? 2000,
          seed
        })
      }
      if (!Number.isFinite(r.difference)) {
        out.push(plain("undefined (n/a) on this set", labels.length))
        continue
      }
      out.push({
        ...head,
        metric,
        a: r.a,
        b: r.b,
        difference: r.difference,
        ci: r.ci,
        pValue: r.pValue,
        method: "bootstrap",
        n: labels.length,
        ...(mismatch === undefined ? {} : { note: mismatch })
      })
      continue
    }
    out.push(plain("no per-query or per-pair values stored"))
  }
  return out
}

/**
 * Deltas of every system against the first system seen for each task (results are grouped by task name).
 * Fails when no task has two systems.
 *
 * @since 0.1.0
 * @category comparison
 */
export const compare = (
  results: ReadonlyArray<TaskResult>,
  options: CompareOptions = {}
): Effect.Effect<Array<Delta>, EvaluationError> =>
  Effect.suspend(() => {
    for (const [name, value] of [
      ["resamples", options.resamples],
      ["permutations", options.permutations]
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 1))
        return Effect.fail(
          new EvaluationError({
            reason: "malformed",
            id: name,
            detail: `${name} must be an integer >= 1, got ${value}`,
            hint: `${name} of 1000 or more give stable intervals and p-values`
          })
        )
    }
    // metric names as trec-style measures too (ndcg@10, map@100, p@5, ap@>=2): the result files' keys
    const metrics = options.metrics?.map(metricKey)
    if (metrics !== undefined) {
      const known = new Set(results.flatMap((r) => Object.keys(r.ssra.metrics)))
      const unknown = metrics.filter((m) => !known.has(m))
      if (unknown.length > 0)
        return Effect.fail(
          new EvaluationError({
            reason: "malformed",
            id: unknown.join(", "),
            detail: `no result has the metric${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`,
            hint: `choose among ${[...known].sort().join(", ")}`
          })
        )
    }
    const resolved: CompareOptions = metrics === undefined ? options : { ...options, metrics }
    const byTask = new Map<string, Array<TaskResult>>()
    for (const r of results) byTask.set(r.task_name, [...(byTask.get(r.task_name) ?? []), r])
    const deltas: Array<Delta> = []
    for (const [, group] of byTask) {
      if (group.length < 2) continue
      const [base, ...others] = group
      for (const other of others) deltas.push(...compareTwo(base!, other, resolved))
    }
    if (deltas.length === 0) {
      return Effect.fail(
        new EvaluationError({
          reason: "mismatch",
          detail: "no task has results from two systems",
          hint: "pass result files of the same task (task_name) from different systems"
        })
      )
    }
    return Effect.succeed(deltas)
  })
