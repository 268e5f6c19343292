/**
 * Human-readable reports of a suite's results: a Markdown summary table and one self-contained HTML page with
 * inline SVG plots (metric bars with 95% CI whiskers, AP per grade threshold, confusion heat maps, grade and
 * score histograms) and the paired comparisons.
 *
 * @since 0.1.0
 */
import type { Delta } from "./Comparison.js"
import { formatValue, metricLabel } from "./EvaluationResult.js"
import { escapeXml, groupedBars, heatMap, histogram, lines } from "./internal/svg.js"
import type { TaskResult } from "./ResultFile.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ReportInput {
  readonly title: string
  readonly created: string
  readonly results: ReadonlyArray<TaskResult>
  readonly deltas?: ReadonlyArray<Delta> | undefined
}

const columnsFor = (task: ReadonlyArray<TaskResult>): Array<string> => {
  const kind = task[0]!.ssra.evaluator
  const present = (k: string) => task.some((r) => k in r.ssra.metrics)
  if (kind === "retrieval") return ["ndcg_at_10", "ndcg_at_5", "map_at_10", "mrr_at_10", "recall_at_10"].filter(present)
  if (kind === "pair-classification") return ["ap_ge_1", "ap_ge_2", "ap_ge_3", "ap_mean", "max_ap_mean"].filter(present)
  const first = task[0]!.ssra.metrics
  return Object.keys(first).slice(0, 8)
}

const countColumn = (r: TaskResult): string => {
  const c = r.ssra.counts ?? {}
  if (c.queries !== undefined) return `${c.queries} queries`
  if (c.pairs !== undefined) return `${c.pairs} pairs`
  if (c.items !== undefined) return `${c.items} items`
  return ""
}

const groupByTask = (results: ReadonlyArray<TaskResult>) => {
  const m = new Map<string, Array<TaskResult>>()
  for (const r of results) m.set(r.task_name, [...(m.get(r.task_name) ?? []), r])
  return m
}

const interval = (r: TaskResult, metric: string) => {
  const ci = r.ssra.intervals?.[metric]
  return ci ? `[${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]` : ""
}

const kindLabel: Record<string, string> = {
  retrieval: "retrieval (rerank judged candidates)",
  "pair-classification": "pair classification (AP at grade thresholds)",
  "label-alignment": "label alignment",
  diversity: "diversity",
  classifier: "score-model classification"
}

const pValue = (p: number | null) => (p === null ? "" : p < 0.001 ? "<0.001" : p.toFixed(3))

/** The test column of a comparison: the method, how many queries differ and the smallest attainable p. */
const testLabel = (d: Delta): string => {
  const differ =
    d.differing === undefined
      ? ""
      : `, ${d.differing}/${d.n} queries differ${d.minPValue !== undefined && d.minPValue > 0.001 ? `, smallest possible p ${d.minPValue.toFixed(3)}` : ""}`
  return `${d.method}${differ}${d.note ? ` (${d.note})` : ""}`
}

const COMPARISON_NOTE =
  "Difference = system − baseline on the same queries/pairs; per-query metrics: two-sided sign-flip randomization test (exact up to 20 differing queries) and the 95% interval that inverts it (it holds 0 exactly when p ≥ 0.05); AP over pairs: paired bootstrap interval and p."

/**
 * The Markdown summary: one table per task (primary metric with its 95% CI, the other headline metrics,
 * counts), the notes (dropped queries, n/a thresholds), and the comparisons.
 *
 * @since 0.1.0
 * @category rendering
 */
export const markdown = (input: ReportInput): string => {
  let out = `# ${input.title}\n\nGenerated ${input.created} by ssra-eval. Metrics: nDCG as trec_eval \`ndcg_cut\`, AP as scikit-learn \`average_precision_score\`; "n/a" = undefined (a threshold leaves one class). Brackets: 95% bootstrap CI.\n`
  for (const [task, group] of groupByTask(input.results)) {
    const cols = columnsFor(group)
    const primary = group[0]!.ssra.primary_metric
    out += `\n## ${task}\n\n${kindLabel[group[0]!.ssra.evaluator] ?? group[0]!.ssra.evaluator} · dataset \`${group[0]!.ssra.dataset}\` · primary ${metricLabel(primary)}\n\n`
    out += `| system | ${cols.map(metricLabel).join(" | ")} | ${metricLabel(primary)} 95% CI | n |\n`
    out += `|---|${cols.map(() => "---:").join("|")}|---|---:|\n`
    for (const r of group) {
      out += `| ${r.ssra.model_name} | ${cols.map((c) => formatValue(r.ssra.metrics[c])).join(" | ")} | ${interval(r, primary)} | ${countColumn(r)} |\n`
    }
    const notes = group.flatMap((r) => (r.ssra.notes ?? []).map((n) => `${r.ssra.model_name}: ${n}`))
    if (notes.length > 0) out += `\n${[...new Set(notes)].map((n) => `- ${n}`).join("\n")}\n`
  }
  if (input.deltas !== undefined && input.deltas.length > 0) {
    out += `\n## Comparisons\n\n${COMPARISON_NOTE}\n\n`
    out += `| task | metric | baseline | system | baseline value | system value | Δ | 95% CI | p | test |\n|---|---|---|---|---:|---:|---:|---|---:|---|\n`
    for (const d of input.deltas) {
      out += `| ${d.task} | ${metricLabel(d.metric)} | ${d.baseline} | ${d.system} | ${formatValue(d.a)} | ${formatValue(d.b)} | ${d.difference === null ? "n/a" : (d.difference >= 0 ? "+" : "") + d.difference.toFixed(4)} | ${d.ci ? `[${d.ci[0].toFixed(4)}, ${d.ci[1].toFixed(4)}]` : ""} | ${pValue(d.pValue)} | ${testLabel(d)} |\n`
    }
  }
  return out
}

const NUMERIC = /^(?:[-+]?\d[\d.,e+-]*|n\/a|<0\.\d+|\[.*\]|\d+ (?:queries|pairs|items))$/

const htmlTable = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td${NUMERIC.test(c) ? ' class="num"' : ""}>${escapeXml(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`

const scoreHistograms = (r: TaskResult, bins = 20): string => {
  const pairs = r.ssra.pairs
  if (pairs === undefined || pairs.scores.length === 0) return ""
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const s of pairs.scores) {
    if (s < lo) lo = s
    if (s > hi) hi = s
  }
  const span = hi > lo ? hi - lo : 1
  const grades = [...new Set(pairs.labels)].sort((a, b) => a - b)
  const series = grades.map((g) => {
    const counts = new Array<number>(bins).fill(0)
    pairs.labels.forEach((l, i) => {
      if (l === g) counts[Math.min(bins - 1, Math.floor(((pairs.scores[i]! - lo) / span) * bins))]!++
    })
    return { name: `grade ${g}`, counts }
  })
  const binLabels = Array.from({ length: bins }, (_, b) => {
    const v = lo + (b * span) / bins
    return Math.abs(v) >= 10 ? String(Math.round(v)) : v.toFixed(2)
  })
  return histogram({
    title: `${r.ssra.model_name}: score distribution by grade (share of grade)`,
    binLabels,
    series,
    normalize: true,
    width: 420
  })
}

const gradeHistogram = (r: TaskResult, title: string): string => {
  const counts = Object.entries(r.ssra.counts ?? {})
    .filter(([k]) => /^grade_\d$/.test(k))
    .sort(([a], [b]) => a.localeCompare(b))
  if (counts.length === 0) return ""
  return histogram({
    title,
    binLabels: counts.map(([k]) => k.replace("grade_", "grade ")),
    series: [{ name: "rows", counts: counts.map(([, v]) => v) }],
    width: 320
  })
}

const perQueryHistogram = (group: ReadonlyArray<TaskResult>, metric: string): string => {
  const withValues = group.filter((r) => r.ssra.per_unit?.values[metric] !== undefined)
  if (withValues.length === 0) return ""
  const bins = 10
  const series = withValues.map((r) => {
    const counts = new Array<number>(bins).fill(0)
    for (const v of r.ssra.per_unit!.values[metric]!) counts[Math.min(bins - 1, Math.floor(v * bins))]!++
    return { name: r.ssra.model_name, counts }
  })
  return histogram({
    title: `per-query ${metricLabel(metric)} distribution`,
    binLabels: Array.from({ length: bins }, (_, b) => (b / bins).toFixed(1)),
    series,
    width: 420
  })
}

const anchor = (task: string) => `task-${task.replace(/[^\w-]+/g, "-")}`

/**
 * The stylesheet of the HTML report (inlined in its `<style>`), for pages that embed `htmlBody`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const css = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1120px;color:#1d1d1f;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;white-space:nowrap}th{background:#f4f4f6;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.plots svg{background:#fff;border:1px solid #eee;border-radius:4px}
ul.notes{font-size:13px;color:#7a4b00}.explain{font-size:13px;color:#444;max-width:900px}`

/**
 * The HTML report's body (title, per-task tables and plots, comparisons), for embedding in a larger page styled
 * with `css`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const htmlBody = (input: ReportInput, options: { readonly heading?: boolean } = {}): string => {
  const toc = [...groupByTask(input.results).keys()].map(
    (t) => `<a href="#${escapeXml(anchor(t))}">${escapeXml(t)}</a>`
  )
  if (input.deltas !== undefined && input.deltas.length > 0) toc.push(`<a href="#comparisons">comparisons</a>`)
  let body = `${options.heading === false ? "" : `<h1>${escapeXml(input.title)}</h1>`}<p class="meta">Generated ${escapeXml(input.created)} by ssra-eval · nDCG = trec_eval <code>ndcg_cut</code> (ties by document id descending), AP = scikit-learn <code>average_precision_score</code> · n/a = undefined · whiskers = 95% bootstrap CI</p><nav class="meta">${toc.join(" · ")}</nav>`
  for (const [task, group] of groupByTask(input.results)) {
    const first = group[0]!.ssra
    const cols = columnsFor(group)
    const primary = first.primary_metric
    body += `<h2 id="${escapeXml(anchor(task))}">${escapeXml(task)}</h2><p class="meta">${escapeXml(kindLabel[first.evaluator] ?? first.evaluator)} · dataset <code>${escapeXml(first.dataset)}</code> · primary ${escapeXml(metricLabel(primary))}</p>`
    body += htmlTable(
      ["system", ...cols.map(metricLabel), `${metricLabel(primary)} 95% CI`, "n"],
      group.map((r) => [
        r.ssra.model_name,
        ...cols.map((c) => formatValue(r.ssra.metrics[c])),
        interval(r, primary),
        countColumn(r)
      ])
    )
    const notes = [...new Set(group.flatMap((r) => (r.ssra.notes ?? []).map((n) => `${r.ssra.model_name}: ${n}`)))]
    if (notes.length > 0) body += `<ul class="notes">${notes.map((n) => `<li>${escapeXml(n)}</li>`).join("")}</ul>`
    const plots: Array<string> = []
    const barCols = cols.filter((c) => !c.startsWith("max_"))
    plots.push(
      groupedBars({
        title: `${task}: metrics (95% CI)`,
        categories: barCols.map(metricLabel),
        series: group.map((r) => ({
          name: r.ssra.model_name,
          values: barCols.map((c) => r.ssra.metrics[c] ?? null),
          intervals: barCols.map((c) => r.ssra.intervals?.[c] ?? null)
        }))
      })
    )
    if (first.evaluator === "pair-classification") {
      const thresholds = ((first.config.thresholds as Array<number> | undefined) ?? [1, 2, 3]).map((t) => `ap_ge_${t}`)
      plots.push(
        lines({
          title: `${task}: AP per grade threshold`,
          categories: thresholds.map(metricLabel),
          series: group.map((r) => ({
            name: r.ssra.model_name,
            values: thresholds.map((t) => r.ssra.metrics[t] ?? null),
            intervals: thresholds.map((t) => r.ssra.intervals?.[t] ?? null)
          }))
        })
      )
    }
    const gh = gradeHistogram(
      group[0]!,
      `${first.dataset}: grade histogram (${first.evaluator === "retrieval" ? "candidates" : "pairs"})`
    )
    if (gh !== "") plots.push(gh)
    if (first.evaluator === "retrieval") plots.push(perQueryHistogram(group, primary))
    for (const r of group) {
      const c = r.ssra.confusion
      if (c !== undefined) {
        plots.push(
          heatMap({
            title: `${r.ssra.model_name}: ${c.title}`,
            labels: c.classes.map(String),
            matrix: c.matrix,
            rowTitle: first.evaluator === "label-alignment" ? "intended" : "true grade",
            columnTitle: first.evaluator === "pair-classification" ? "grade by score quantile" : "predicted grade"
          })
        )
      }
      plots.push(scoreHistograms(r))
    }
    body += `<div class="plots">${plots.filter((p) => p !== "").join("")}</div>`
    if (first.evaluator === "pair-classification") {
      body += `<p class="explain">The heat maps rank pairs by score and cut them at the true grade proportions (highest scores → highest grade), so they show how well a score separates grades without any calibration. Score histograms are normalized within each grade.</p>`
    }
  }
  if (input.deltas !== undefined && input.deltas.length > 0) {
    body += `<h2 id="comparisons">Comparisons</h2><p class="meta">${escapeXml(COMPARISON_NOTE)}</p>`
    body += htmlTable(
      ["task", "metric", "baseline", "system", "baseline value", "system value", "Δ", "95% CI", "p", "test"],
      input.deltas.map((d) => [
        d.task,
        metricLabel(d.metric),
        d.baseline,
        d.system,
        formatValue(d.a),
        formatValue(d.b),
        d.difference === null ? "n/a" : `${d.difference >= 0 ? "+" : ""}${d.difference.toFixed(4)}`,
        d.ci ? `[${d.ci[0].toFixed(4)}, ${d.ci[1].toFixed(4)}]` : "",
        pValue(d.pValue),
        testLabel(d)
      ])
    )
  }
  return body
}

/**
 * The self-contained HTML report (no external assets or scripts).
 *
 * @since 0.1.0
 * @category rendering
 */
export const html = (input: ReportInput): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(input.title)}</title><style>${css}</style></head><body>${htmlBody(input)}</body></html>\n`
