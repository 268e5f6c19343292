/**
 * The run report: tables shaped like the paper's — main comparison (Table 3), stage ablation (Table 4), binary
 * vs multi-grade training data (Table 5), grade alignment and duplicate rate of the query models (Table 6) —
 * each system's difference from the base model with a 95% paired-bootstrap interval (`@ssra/evaluation`
 * Statistics), the score model's held-out metrics, and the filter counts. Written as `report.md`, `report.html`
 * (the evaluation package's HTML report with plots) and `results.json`.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { AtomicFile } from "@ssra/core"
import { Comparison, Report as EvalReport, type ResultFile, Statistics } from "@ssra/evaluation"
import type { Traffic } from "@ssra/llm"
import { Effect } from "effect"
import { PipelineError } from "./PipelineError.js"

/**
 * One row of a comparison table.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemRow {
  readonly system: string
  readonly label: string
  readonly status: "ok" | "needs-llm" | "reference"
  readonly note?: string | undefined
  readonly retrieval?: ResultFile.TaskResult | undefined
  readonly pairs?: ResultFile.TaskResult | undefined
  readonly trainingRows?: Readonly<Record<string, number>> | undefined
}

/**
 * A difference from the base system with its interval.
 *
 * @since 0.1.0
 * @category models
 */
export interface Difference {
  readonly metric: string
  readonly value: number | null
  readonly difference: number | null
  readonly ci: readonly [number, number] | null
  readonly pValue: number | null
  readonly method: string
}

/**
 * The table metrics, in the paper's order.
 *
 * @since 0.1.0
 * @category constants
 */
export const metrics = [
  ["ndcg_at_10", "nDCG@10"],
  ["ap_ge_1", "AP≥1"],
  ["ap_ge_2", "AP≥2"],
  ["ap_ge_3", "AP≥3"],
  ["ap_mean", "mean AP"]
] as const

const taskOf = (row: SystemRow, metric: string) => (metric.startsWith("ndcg") ? row.retrieval : row.pairs)

/**
 * A retrieval evaluation where no evaluated query has a relevant candidate (or none was kept): its nDCG is 0 by
 * trec_eval's definition and says nothing, so the report shows "n/a" instead.
 */
const uninformative = (task: ResultFile.TaskResult | undefined): boolean => {
  const c = task?.ssra.counts
  return c !== undefined && c.queries !== undefined && (c.queries === 0 || c.queries === c.queriesWithoutRelevant)
}

/**
 * Differences of `row` from `base` for every table metric: nDCG by paired bootstrap over queries, AP by paired
 * bootstrap over pairs.
 *
 * @since 0.1.0
 * @category statistics
 */
export const differences = (
  base: SystemRow,
  row: SystemRow,
  options: { readonly resamples: number; readonly seed: number }
): Effect.Effect<Array<Difference>> =>
  Effect.gen(function* () {
    const out: Array<Difference> = []
    for (const [metric] of metrics) {
      const a = taskOf(base, metric)
      const b = taskOf(row, metric)
      const value = metric.startsWith("ndcg") && uninformative(b) ? null : (b?.ssra.metrics[metric] ?? null)
      if (
        a === undefined ||
        b === undefined ||
        value === null ||
        row === base ||
        (metric.startsWith("ndcg") && uninformative(a))
      ) {
        out.push({ metric, value, difference: null, ci: null, pValue: null, method: "none" })
        continue
      }
      if (metric === "ndcg_at_10" && a.ssra.per_unit && b.ssra.per_unit) {
        const index = new Map(b.ssra.per_unit.ids.map((id, i) => [id, i] as const))
        const va: Array<number> = []
        const vb: Array<number> = []
        a.ssra.per_unit.ids.forEach((id, i) => {
          const j = index.get(id)
          const x = a.ssra.per_unit!.values[metric]?.[i]
          const y = j === undefined ? undefined : b.ssra.per_unit!.values[metric]?.[j]
          if (x !== undefined && y !== undefined) {
            va.push(x)
            vb.push(y)
          }
        })
        if (va.length > 0) {
          const r = Statistics.pairedBootstrap(va, vb, { resamples: options.resamples, seed: options.seed })
          out.push({
            metric,
            value,
            difference: r.difference,
            ci: r.ci,
            pValue: r.pValue,
            method: "paired bootstrap (queries)"
          })
          continue
        }
      }
      const deltas = yield* Comparison.compare([a, b], {
        metrics: [metric],
        resamples: options.resamples,
        seed: options.seed
      }).pipe(Effect.orElseSucceed(() => [] as Array<Comparison.Delta>))
      const d = deltas[0]
      out.push(
        d === undefined
          ? { metric, value, difference: null, ci: null, pValue: null, method: "none" }
          : {
              metric,
              value,
              difference: d.difference,
              ci: d.ci,
              pValue: d.pValue,
              method: d.method === "bootstrap" ? "paired bootstrap (pairs)" : d.method
            }
      )
    }
    return out
  })

const fmt = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits)
const signed = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(4)}`

/**
 * A cell: the value, and below the base row the difference with its 95% interval.
 *
 * @since 0.1.0
 * @category rendering
 */
export const cell = (d: Difference): string => {
  if (d.value === null) return "n/a"
  if (d.difference === null || !Number.isFinite(d.difference)) return fmt(d.value)
  const ci = d.ci ? ` [${signed(d.ci[0])}, ${signed(d.ci[1])}]` : ""
  return `${fmt(d.value)} (${signed(d.difference)}${ci})`
}

/**
 * A comparison table in Markdown.
 *
 * @since 0.1.0
 * @category rendering
 */
export const table = (
  title: string,
  rows: ReadonlyArray<SystemRow>,
  diffs: ReadonlyMap<string, ReadonlyArray<Difference>>,
  caption: string
): string => {
  let out = `### ${title}\n\n${caption}\n\n| system | ${metrics.map(([, l]) => l).join(" | ")} | note |\n|---|${metrics.map(() => "---").join("|")}|---|\n`
  for (const row of rows) {
    if (row.status === "needs-llm") {
      out += `| ${row.label} | ${metrics.map(() => "—").join(" | ")} | ${row.note ?? "needs an LLM backend"} |\n`
      continue
    }
    const d = diffs.get(row.system) ?? []
    // a synthesis system whose candidates all fell to the gates trained on the labeled data alone: say so
    const note =
      row.note ??
      (row.system !== "base" && row.trainingRows?.syntheticRows === 0
        ? "no synthetic row survived the gates (see Filters): trained on the labeled data alone"
        : "")
    out += `| ${row.label} | ${metrics.map(([m]) => cell(d.find((x) => x.metric === m) ?? { metric: m, value: null, difference: null, ci: null, pValue: null, method: "none" })).join(" | ")} | ${note} |\n`
  }
  // what the evaluators said about the test data (the same for every system: dropped queries, queries without a
  // relevant candidate), so a surprising number comes with its reason
  const evaluated = rows.find((r) => r.retrieval?.ssra.counts?.queries !== undefined)?.retrieval?.ssra.counts
  const pairCount = rows.find((r) => r.pairs?.ssra.counts?.pairs !== undefined)?.pairs?.ssra.counts?.pairs
  const notes = [...new Set(rows.flatMap((r) => [...(r.retrieval?.ssra.notes ?? []), ...(r.pairs?.ssra.notes ?? [])]))]
  if (evaluated !== undefined || pairCount !== undefined || notes.length > 0) {
    const parts = [
      ...(evaluated !== undefined ? [`nDCG@10 over ${evaluated.queries} test queries`] : []),
      ...(pairCount !== undefined ? [`AP over ${pairCount} test pairs`] : []),
      ...notes,
      ...(rows.some((r) => uninformative(r.retrieval))
        ? ["no evaluated query has a relevant candidate, so nDCG@10 is n/a: check the retrieval test file"]
        : [])
    ]
    out += `\nEvaluation notes: ${parts.join("; ")}.\n`
  }
  return out
}

/**
 * Everything the report shows.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportInput {
  readonly title: string
  readonly dataset: string
  readonly scaleMax: number
  readonly rows: ReadonlyArray<SystemRow>
  readonly tables: ReadonlyArray<{
    readonly title: string
    readonly systems: ReadonlyArray<string>
    readonly caption: string
  }>
  readonly alignment: ReadonlyArray<{ readonly model: string; readonly counts: Readonly<Record<string, number>> }>
  readonly scoreModel?: unknown
  readonly filters: ReadonlyArray<{
    readonly stage: string
    readonly filters: ReadonlyArray<{
      filter: string
      input: number
      kept: number
      rejected: number
      reasons: Readonly<Record<string, number>>
    }>
  }>
  readonly resamples: number
  readonly seed: number
  readonly runDir: string
  readonly durationMs: number
  /** This invocation's LLM traffic (attempts, retries by cause, waits, set-aside items), when it used an LLM. */
  readonly llmTraffic?: Traffic.TrafficReport | undefined
}

/**
 * The "LLM traffic" section: attempts, retries by cause, time spent waiting, calls set aside and what became of
 * them, items left out of this run (retried on the next run).
 *
 * @since 0.1.0
 * @category rendering
 */
export const llmTrafficSection = (t: Traffic.TrafficReport): string => {
  const causes = Object.entries(t.retriesByCause)
    .filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause}: ${n}`)
    .join(", ")
  let out = `\n### LLM traffic (this invocation)\n\n| attempts | retries | retries by cause | waiting | set aside | recovered | failed for good | items left out |\n|---|---|---|---|---|---|---|---|\n`
  out += `| ${t.attempts} | ${t.retries} | ${causes === "" ? "—" : causes} | ${(t.waitMs / 1000).toFixed(1)} s | ${t.setAside} | ${t.recovered} | ${t.failed} | ${t.excludedItems} |\n`
  for (const e of t.excluded)
    out += `\n- ${e.stage}: ${e.items} item(s) left out of this run, retried on the next run — ${e.error}`
  if (t.excluded.length > 0) out += "\n"
  return out
}

/**
 * The alignment table (the paper's Table 6 analogue): per query model and target grade, how many generated
 * queries the score model judged at the target grade, and the duplicate rate.
 *
 * @since 0.1.0
 * @category rendering
 */
export const alignmentTable = (input: ReportInput): string => {
  if (input.alignment.length === 0) return ""
  const grades = [1, 2, 3].filter((g) => g <= input.scaleMax)
  let out = `### Table 6 — grade alignment of the query models (judged by the score model)\n\nFor each target grade: generated queries the score model judged at that grade / generated (share). Duplicate rate: share of generated queries whose normalized text repeats another's. Judged by the run's score model, not by people.\n\n| query model | ${grades.map((g) => `grade ${g}`).join(" | ")} | kept after all gates | duplicate rate |\n|---|${grades.map(() => "---").join("|")}|---|---|\n`
  for (const a of input.alignment) {
    const c = a.counts
    const cells = grades.map((g) => {
      const w = c[`grade${g}Written`] ?? 0
      const j = c[`grade${g}JudgedAtTarget`] ?? 0
      return w === 0 ? "n/a" : `${j}/${w} (${((100 * j) / w).toFixed(1)}%)`
    })
    out += `| ${a.model} | ${cells.join(" | ")} | ${c.kept ?? "n/a"} | ${c.duplicateRatePermille === undefined ? "n/a" : `${(c.duplicateRatePermille / 10).toFixed(1)}%`} |\n`
  }
  return out
}

/**
 * Renders the Markdown report.
 *
 * @since 0.1.0
 * @category rendering
 */
export const markdown = (input: ReportInput, diffs: ReadonlyMap<string, ReadonlyArray<Difference>>): string => {
  let out = `# ${input.title}\n\nDataset \`${input.dataset}\` (grades 0–${input.scaleMax}). Metrics: nDCG@10 as trec_eval \`ndcg_cut.10\` (queries with < 10 judged candidates dropped), AP@≥t as scikit-learn \`average_precision_score\` on cosine scores; "n/a" = undefined (no grade ≥ t on this set). In parentheses: difference from the base model with its 95% paired-bootstrap interval (${input.resamples} resamples, seed ${input.seed}; over queries for nDCG, over pairs for AP). Run directory: \`${input.runDir}\`; total time ${(input.durationMs / 1000).toFixed(1)} s.\n\n`
  const byName = new Map(input.rows.map((r) => [r.system, r] as const))
  for (const t of input.tables) {
    const rows = t.systems.map((s) => byName.get(s)).filter((r): r is SystemRow => r !== undefined)
    if (rows.length > 0) out += `${table(t.title, rows, diffs, t.caption)}\n`
  }
  out += alignmentTable(input)
  if (input.scoreModel !== undefined) {
    const s = input.scoreModel as Record<
      string,
      {
        accuracy?: number | null
        macroF1?: number | null
        quadraticWeightedKappa?: number | null
        count?: number
      } | null
    >
    out += `\n### Score model (held-out labeled queries)\n\n| model | accuracy | macro-F1 | QWK | n |\n|---|---|---|---|---|\n`
    for (const [name, m] of Object.entries(s)) {
      if (m === null || typeof m !== "object" || !("accuracy" in m)) continue
      out += `| ${name} | ${fmt(m.accuracy)} | ${fmt(m.macroF1)} | ${fmt(m.quadraticWeightedKappa)} | ${m.count ?? ""} |\n`
    }
  }
  if (input.filters.length > 0) {
    out += `\n### Filters (counts in → kept, rejections by reason)\n\n| stage | filter | in | kept | rejected | reasons |\n|---|---|---|---|---|---|\n`
    for (const s of input.filters) {
      for (const f of s.filters) {
        out += `| ${s.stage} | ${f.filter} | ${f.input} | ${f.kept} | ${f.rejected} | ${Object.entries(f.reasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")} |\n`
      }
    }
  }
  const training = input.rows.filter((r) => r.trainingRows !== undefined)
  if (training.length > 0) {
    out += `\n### Training sets\n\n| system | rows | labeled | synthetic | by grade |\n|---|---|---|---|---|\n`
    for (const r of training) {
      const c = r.trainingRows!
      const grades = Object.entries(c)
        .filter(([k]) => /^grade\d+$/.test(k))
        .sort(([a], [b]) => Number(a.slice(5)) - Number(b.slice(5)))
        .map(([k, v]) => `${k.slice(5)}: ${v}`)
        .join(", ")
      out += `| ${r.label} | ${c.rows ?? ""} | ${c.labeledRows ?? ""} | ${c.syntheticRows ?? ""} | ${grades} |\n`
    }
  }
  if (input.llmTraffic !== undefined) out += llmTrafficSection(input.llmTraffic)
  return out
}

/**
 * Computes the differences, writes `report.md`, `report.html` and `results.json` into `dir`, and returns the
 * Markdown.
 *
 * @since 0.1.0
 * @category rendering
 */
export const write = (
  dir: string,
  input: ReportInput
): Effect.Effect<{ readonly markdown: string; readonly files: ReadonlyArray<string> }, PipelineError> =>
  Effect.gen(function* () {
    const base = input.rows.find((r) => r.system === "base")
    const diffs = new Map<string, ReadonlyArray<Difference>>()
    for (const row of input.rows) {
      if (row.status === "needs-llm") continue
      diffs.set(
        row.system,
        base === undefined ? [] : yield* differences(base, row, { resamples: input.resamples, seed: input.seed })
      )
    }
    const md = markdown(input, diffs)
    const results = input.rows
      .flatMap((r) => [r.retrieval, r.pairs])
      .filter((r): r is ResultFile.TaskResult => r !== undefined)
    const ordered = base
      ? [...results.filter((r) => r.ssra.model_name === "base"), ...results.filter((r) => r.ssra.model_name !== "base")]
      : results
    const deltas = yield* Comparison.compare(ordered, { resamples: input.resamples, seed: input.seed }).pipe(
      Effect.orElseSucceed(() => [] as Array<Comparison.Delta>)
    )
    const created = new Date().toISOString()
    const html = EvalReport.html({ title: input.title, created, results: ordered, deltas })
    const files = [path.join(dir, "report.md"), path.join(dir, "report.html"), path.join(dir, "results.json")]
    yield* Effect.try({
      try: () => {
        AtomicFile.writeFileSync(files[0]!, md)
        AtomicFile.writeFileSync(files[1]!, html)
        AtomicFile.writeFileSync(
          files[2]!,
          JSON.stringify(
            {
              title: input.title,
              dataset: input.dataset,
              systems: input.rows.map((r) => ({
                system: r.system,
                label: r.label,
                status: r.status,
                note: r.note ?? null,
                differences: diffs.get(r.system) ?? []
              })),
              alignment: input.alignment,
              scoreModel: input.scoreModel ?? null,
              results: ordered
            },
            null,
            2
          ) + "\n"
        )
      },
      catch: (cause) =>
        new PipelineError({
          reason: "io",
          stage: "report",
          detail: `cannot write the report: ${(cause as Error).message}`,
          hint: "check the disk has space"
        })
    })
    return { markdown: md, files }
  })
