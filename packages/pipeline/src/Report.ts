/**
 * The run report: tables shaped like the paper's — main comparison (Table 3), stage ablation (Table 4), binary
 * vs multi-grade training data (Table 5), grade alignment and duplicate rate of the query models (Table 6) —
 * each system's difference from the base model with a 95% paired-bootstrap interval (`@ssra/evaluation`
 * Statistics), the score model's held-out metrics, the filter counts, the training sets and their grade mix, and
 * the run's time over every invocation. Written as `report.md`, `report.html` (the same sections with plots,
 * `ReportHtml`) and `results.json`.
 *
 * @since 0.1.0
 */

import * as path from "node:path"
import { AtomicFile } from "@ssra/core"
import { Comparison, type ResultFile, Statistics } from "@ssra/evaluation"
import type { Traffic } from "@ssra/llm"
import { Effect } from "effect"
import { PipelineError } from "./PipelineError.js"
import * as ReportHtml from "./ReportHtml.js"

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
/**
 * A share as a percentage with one decimal, or "n/a" over zero (or unknown) items: a rate over nothing is
 * undefined, not 0% or 100%.
 *
 * @since 0.1.0
 * @category rendering
 */
export const percent = (part: number | undefined, whole: number | undefined): string =>
  whole === undefined || part === undefined || !(whole > 0) ? "n/a" : `${((100 * part) / whole).toFixed(1)}%`

/**
 * The duplicate rate of a query model's generated set (from its stage counts), "n/a" when it generated nothing.
 *
 * @since 0.1.0
 * @category rendering
 */
export const duplicateRate = (counts: Readonly<Record<string, number>>): string => {
  const generated =
    counts.candidates ??
    Object.entries(counts)
      .filter(([k]) => /^grade\d+Written$/.test(k))
      .reduce((n, [, v]) => n + v, 0)
  return counts.duplicateRatePermille === undefined
    ? "n/a"
    : percent(counts.duplicateRatePermille, generated > 0 ? 1000 : 0)
}

/**
 * The run's time: every invocation on the run directory summed, and how many there were (a resumed run's time is
 * the sum, not only the last invocation's).
 *
 * @since 0.1.0
 * @category rendering
 */
export const timeLine = (input: ReportInput): string => {
  const thisOne = `${(input.durationMs / 1000).toFixed(1)} s`
  const t = input.timeSpent
  if (t === undefined || t.invocations <= 1) return `total time ${thisOne} (one invocation, up to this report)`
  return `total time ${(t.durationMs / 1000).toFixed(1)} s over ${t.invocations} invocations (this one ${thisOne}, up to this report; the run manifest lists each)`
}

/**
 * The grade mix of the labeled rows and of each synthetic set kept after the gates (the rows the embedding model
 * trains on), by grade.
 *
 * @since 0.1.0
 * @category rendering
 */
export const gradeMixTable = (input: ReportInput): string => {
  const mix = input.gradeMix ?? []
  if (mix.length === 0) return ""
  const grades = Array.from({ length: input.scaleMax + 1 }, (_, g) => g)
  let out = `\n### Grade mix (labeled vs synthetic rows)\n\nRows per grade (share of the set): the labeled training rows, and each query model's synthetic rows kept after every gate.\n\n| set | rows | ${grades.map((g) => `grade ${g}`).join(" | ")} |\n|---|---|${grades.map(() => "---").join("|")}|\n`
  for (const m of mix) {
    const total = grades.reduce((n, g) => n + (m.grades[String(g)] ?? 0), 0)
    out += `| ${m.source} | ${total} | ${grades.map((g) => `${m.grades[String(g)] ?? 0} (${percent(m.grades[String(g)] ?? 0, total)})`).join(" | ")} |\n`
  }
  return out
}

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
  /** `evaluation.minCandidates`: retrieval-test queries with fewer judged candidates are dropped (default 10). */
  readonly minCandidates?: number | undefined
  readonly seed: number
  readonly runDir: string
  /** This invocation's time up to the report. */
  readonly durationMs: number
  /** Every invocation on the run directory, this one up to the report included (absent: this one only). */
  readonly timeSpent?: { readonly durationMs: number; readonly invocations: number } | undefined
  /** Labeled and kept synthetic rows by grade (key: the grade), per set. */
  readonly gradeMix?:
    | ReadonlyArray<{ readonly source: string; readonly grades: Readonly<Record<string, number>> }>
    | undefined
  /** This invocation's LLM traffic (attempts, retries by cause, waits, set-aside items), when it used an LLM. */
  readonly llmTraffic?: Traffic.TrafficReport | undefined
}

/**
 * The paper's comparison tables over the run's systems (Table 3: main comparison, Table 4: stage ablation,
 * Table 5: binary vs multi-grade training data), each naming its systems in row order; systems a run did not
 * choose are left out of a table, and a table with none is not written.
 *
 * @since 0.1.0
 * @category rendering
 */
export const paperTables = (scaleMax: number): ReportInput["tables"] => [
  {
    title: "Table 3 — main comparison",
    systems: ["base", "prompt-only", "vanilla-sft", "ssra", "reference:bm25", "reference:char-ngram"],
    caption:
      "Embedding model trained on labeled data plus each method's synthetic queries (same documents, gates, seeds and trainer)."
  },
  {
    title: "Table 4 — stage ablation",
    systems: ["ssra", "ssra-no-stage2", "ssra-no-stage1-2"],
    caption:
      "Without stage 2 the query model is v1; without stages 1 and 2 it is the labeled-only (vanilla) query model."
  },
  {
    title: "Table 5 — binary vs multi-grade training data",
    systems: ["ssra-binary", "ssra"],
    caption: `Binary keeps only grades 0 and ${scaleMax} (labeled and synthetic); multi-grade keeps every grade.`
  }
]

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
      return w === 0 ? "n/a" : `${j}/${w} (${percent(j, w)})`
    })
    out += `| ${a.model} | ${cells.join(" | ")} | ${c.kept ?? "n/a"} | ${duplicateRate(c)} |\n`
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
  let out = `# ${input.title}\n\nDataset \`${input.dataset}\` (grades 0–${input.scaleMax}). Metrics: nDCG@10 as trec_eval \`ndcg_cut.10\` (queries with < ${input.minCandidates ?? 10} judged candidates dropped), AP@≥t as scikit-learn \`average_precision_score\` on cosine scores; "n/a" = undefined (no grade ≥ t on this set). In parentheses: difference from the base model with its 95% paired-bootstrap interval (${input.resamples} resamples, seed ${input.seed}; over queries for nDCG, over pairs for AP). Run directory: \`${input.runDir}\`; ${timeLine(input)}.\n\n`
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
    // the lexical channel's α per trained model (selected on held-out labeled queries, or fixed): a column when any has one
    const lexical = training.some((r) => r.trainingRows!.lexicalWeight !== undefined)
    out += `\n### Training sets\n\n| system | rows | labeled | synthetic | by grade |${lexical ? " lexical α |" : ""}\n|---|---|---|---|---|${lexical ? "---|" : ""}\n`
    for (const r of training) {
      const c = r.trainingRows!
      const grades = Object.entries(c)
        .filter(([k]) => /^grade\d+$/.test(k))
        .sort(([a], [b]) => Number(a.slice(5)) - Number(b.slice(5)))
        .map(([k, v]) => `${k.slice(5)}: ${v}`)
        .join(", ")
      const alpha = !lexical
        ? ""
        : c.lexicalWeight === undefined
          ? " none |"
          : ` ${c.lexicalWeight} (${
              c.lexicalHeldOutQueries === undefined
                ? "fixed"
                : c.lexicalHeldOutQueries > 0
                  ? `selected on ${c.lexicalHeldOutQueries} held-out queries`
                  : "not selected: no query to hold out"
            }) |`
      out += `| ${r.label} | ${c.rows ?? ""} | ${c.labeledRows ?? ""} | ${c.syntheticRows ?? ""} | ${grades} |${alpha}\n`
    }
  }
  out += gradeMixTable(input)
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
  reportInput: ReportInput,
  /** The run's time, read once the statistics are done (so the report's time is the run's up to the report). */
  timing?: () => Pick<ReportInput, "durationMs" | "timeSpent">
): Effect.Effect<
  { readonly markdown: string; readonly files: ReadonlyArray<string>; readonly durationMs: number },
  PipelineError
> =>
  Effect.gen(function* () {
    let input = reportInput
    const base = input.rows.find((r) => r.system === "base")
    const diffs = new Map<string, ReadonlyArray<Difference>>()
    for (const row of input.rows) {
      if (row.status === "needs-llm") continue
      diffs.set(
        row.system,
        base === undefined ? [] : yield* differences(base, row, { resamples: input.resamples, seed: input.seed })
      )
    }
    const results = input.rows
      .flatMap((r) => [r.retrieval, r.pairs])
      .filter((r): r is ResultFile.TaskResult => r !== undefined)
    const ordered = base
      ? [...results.filter((r) => r.ssra.model_name === "base"), ...results.filter((r) => r.ssra.model_name !== "base")]
      : results
    const deltas = yield* Comparison.compare(ordered, { resamples: input.resamples, seed: input.seed }).pipe(
      Effect.orElseSucceed(() => [] as Array<Comparison.Delta>)
    )
    if (timing !== undefined) input = { ...input, ...timing() }
    const md = markdown(input, diffs)
    const html = ReportHtml.html(input, diffs, md, { created: new Date().toISOString(), results: ordered, deltas })
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
    return { markdown: md, files, durationMs: input.durationMs }
  })
