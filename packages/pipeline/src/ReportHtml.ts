/**
 * The HTML report (`report.html`): one self-contained page (inline CSS and SVG, no scripts, no external assets)
 * with every section of `report.md` — the Tables 3–6 layout, the score model's metrics, the filter counts, the
 * training sets and their grade mix — and plots where a person would rather look: the systems' metrics per
 * table, the filter funnel of every stage, the grade mix of labeled vs synthetic rows and the score model's
 * confusion matrices; then the evaluation details (per-task plots and paired comparisons). Every text from the
 * data (titles, notes, reasons, queries) is escaped.
 *
 * @since 0.1.0
 */
import { Charts, Report as EvalReport } from "@ssra/evaluation"
import * as Svg from "./internal/svg.js"
import { type Difference, metrics, type ReportInput, type SystemRow } from "./Report.js"

/** One section of the Markdown report: its heading (none for the preamble) and its lines. */
interface Section {
  readonly heading: string | undefined
  readonly level: number
  readonly lines: ReadonlyArray<string>
}

const sectionsOf = (markdown: string): Array<Section> => {
  const out: Array<Section> = []
  let current: { heading: string | undefined; level: number; lines: Array<string> } = {
    heading: undefined,
    level: 0,
    lines: []
  }
  for (const line of markdown.split("\n")) {
    const h = /^(#{1,6}) (.*)$/.exec(line)
    if (h !== null) {
      if (current.heading !== undefined || current.lines.some((l) => l.trim() !== "")) out.push(current)
      current = { heading: h[2]!, level: h[1]!.length, lines: [] }
    } else current.lines.push(line)
  }
  out.push(current)
  return out
}

/** Escaped text with `code` spans. */
const inline = (text: string): string => Charts.escapeXml(text).replace(/`([^`]+)`/g, "<code>$1</code>")

const cellsOf = (line: string): Array<string> =>
  line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split("|")
    .map((c) => c.trim())

const NUMERIC = /^[-+−]?\d|^n\/a$|^—$/

const tableHtml = (lines: ReadonlyArray<string>): string => {
  const rows = lines.filter((l) => !/^\|(\s*:?-+:?\s*\|)+\s*$/.test(l.trim())).map(cellsOf)
  const [head, ...body] = rows
  if (head === undefined) return ""
  return `<table><thead><tr>${head.map((h) => `<th>${inline(h)}</th>`).join("")}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td${NUMERIC.test(c) ? ' class="num"' : ""}>${inline(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`
}

/** A section's body: paragraphs and tables, in order. */
const blocksHtml = (lines: ReadonlyArray<string>): string => {
  let out = ""
  let block: Array<string> = []
  const flush = () => {
    if (block.length === 0) return
    out += block[0]!.trim().startsWith("|") ? tableHtml(block) : `<p>${inline(block.join(" "))}</p>`
    block = []
  }
  for (const line of lines) {
    const isTable = line.trim().startsWith("|")
    if (line.trim() === "" || (block.length > 0 && block[0]!.trim().startsWith("|") !== isTable)) flush()
    if (line.trim() !== "") block.push(line)
  }
  flush()
  return out
}

const anchor = (heading: string) =>
  `s-${heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-|-$/g, "")}`

/** The systems of a comparison table as grouped bars per metric. */
const tablePlot = (
  title: string,
  rows: ReadonlyArray<SystemRow>,
  diffs: ReadonlyMap<string, ReadonlyArray<Difference>>
): string => {
  const shown = rows.filter((r) => r.status !== "needs-llm" && diffs.has(r.system))
  if (shown.length === 0) return ""
  return Charts.groupedBars({
    title: `${title}: metrics per system`,
    categories: metrics.map(([, label]) => label),
    // the short system names: the legend is narrow, the table beside it has the labels
    series: shown.map((r) => ({
      name: r.system,
      values: metrics.map(([m]) => diffs.get(r.system)?.find((d) => d.metric === m)?.value ?? null)
    }))
  })
}

interface ClassifierMetrics {
  readonly confusion?: {
    readonly classes: ReadonlyArray<number>
    readonly matrix: ReadonlyArray<ReadonlyArray<number>>
  }
}

/** The score model's confusion matrices (held-out human grade × predicted grade), one per model with one. */
const confusionPlots = (scoreModel: unknown): Array<string> => {
  if (scoreModel === null || typeof scoreModel !== "object") return []
  return Object.entries(scoreModel as Record<string, ClassifierMetrics | null>).flatMap(([name, m]) => {
    const c = m?.confusion
    if (c === undefined || !Array.isArray(c.matrix) || c.matrix.length === 0) return []
    return [
      Charts.heatMap({
        title: `${name}: confusion (held-out)`,
        labels: c.classes.map(String),
        matrix: c.matrix,
        rowTitle: "human grade",
        columnTitle: "predicted grade"
      })
    ]
  })
}

const funnels = (input: ReportInput): Array<string> =>
  input.filters
    .filter((s) => s.filters.length > 0)
    .map((s) =>
      Svg.funnel({
        title: `${s.stage}: filter funnel (kept / in)`,
        rows: s.filters.map((f) => ({ label: f.filter, input: f.input, kept: f.kept }))
      })
    )

const gradeMixPlot = (input: ReportInput): Array<string> => {
  const mix = input.gradeMix ?? []
  if (mix.length === 0) return []
  const grades = Array.from({ length: input.scaleMax + 1 }, (_, g) => g)
  return [
    Svg.stackedShares({
      title: "grade mix: labeled vs synthetic rows (share of each set)",
      categories: grades.map((g) => `grade ${g}`),
      rows: mix.map((m) => ({ label: m.source, counts: grades.map((g) => m.grades[String(g)] ?? 0) }))
    })
  ]
}

/** The plots that go with a section of the report, by its heading. */
const plotsFor = (
  heading: string,
  input: ReportInput,
  diffs: ReadonlyMap<string, ReadonlyArray<Difference>>
): Array<string> => {
  const table = input.tables.find((t) => t.title === heading)
  if (table !== undefined) {
    const byName = new Map(input.rows.map((r) => [r.system, r] as const))
    const rows = table.systems.map((s) => byName.get(s)).filter((r): r is SystemRow => r !== undefined)
    return [tablePlot(table.title.split(" — ")[0] ?? table.title, rows, diffs)]
  }
  if (heading.startsWith("Score model")) return confusionPlots(input.scoreModel)
  if (heading.startsWith("Filters")) return funnels(input)
  if (heading.startsWith("Grade mix")) return gradeMixPlot(input)
  return []
}

const CSS = `${EvalReport.css}
h2{font-size:18px}p{font-size:14px;line-height:1.45;max-width:1000px}code{background:#f4f4f6;padding:0 3px;border-radius:3px}
nav.toc{font-size:13px;line-height:1.7}nav.toc a{margin-right:10px;color:#2a55b8;text-decoration:none}
td{white-space:normal;max-width:420px}.plots{margin:8px 0 4px}`

/**
 * Renders the HTML report from the report input, its differences and its Markdown (`Report.markdown`): every
 * Markdown section in order, each with its plots, then the evaluation details of `results` (with `deltas`).
 *
 * @since 0.1.0
 * @category rendering
 */
export const html = (
  input: ReportInput,
  diffs: ReadonlyMap<string, ReadonlyArray<Difference>>,
  markdown: string,
  evaluation: Omit<EvalReport.ReportInput, "title">
): string => {
  const sections = sectionsOf(markdown)
  const titled = sections.filter((s) => s.heading !== undefined && s.level > 1)
  let body = ""
  for (const s of sections) {
    if (s.heading !== undefined && s.level === 1) {
      body += `<h1>${inline(s.heading)}</h1>`
      if (titled.length > 0)
        body += `<nav class="toc">${[...titled.map((t) => t.heading!), "Evaluation details"].map((h) => `<a href="#${anchor(h)}">${inline(h)}</a>`).join("")}</nav>`
    } else if (s.heading !== undefined) body += `<h2 id="${anchor(s.heading)}">${inline(s.heading)}</h2>`
    body += blocksHtml(s.lines)
    const plots = s.heading === undefined ? [] : plotsFor(s.heading, input, diffs).filter((p) => p !== "")
    if (plots.length > 0) body += `<div class="plots">${plots.join("")}</div>`
  }
  if (evaluation.results.length > 0)
    body += `<h2 id="${anchor("Evaluation details")}">Evaluation details</h2>${EvalReport.htmlBody({ ...evaluation, title: input.title }, { heading: false })}`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${Charts.escapeXml(input.title)}</title><style>${CSS}</style></head><body>${body}</body></html>\n`
}
