/** Small SVG chart builders for the HTML report: plain strings, no dependencies. */

export const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

export const palette = [
  "#4269d0",
  "#efb118",
  "#ff725c",
  "#6cc5b0",
  "#3ca951",
  "#ff8ab7",
  "#a463f2",
  "#97bbf5",
  "#9c6b4e",
  "#9498a0"
]

const fmt = (v: number) => (Math.round(v * 100) / 100).toString()

export interface BarSeries {
  readonly name: string
  readonly values: ReadonlyArray<number | null>
  readonly intervals?: ReadonlyArray<readonly [number, number] | null>
}

export const legend = (names: ReadonlyArray<string>, x: number, y: number): string =>
  names
    .map(
      (n, i) =>
        `<rect x="${x}" y="${y + i * 18}" width="12" height="12" fill="${palette[i % palette.length]}"/><text x="${x + 18}" y="${y + i * 18 + 10}" font-size="12">${escapeXml(n)}</text>`
    )
    .join("")

/** Grouped bars (one group per category, one bar per series) on a 0..max axis, with CI whiskers. */
export const groupedBars = (options: {
  readonly title: string
  readonly categories: ReadonlyArray<string>
  readonly series: ReadonlyArray<BarSeries>
  readonly max?: number
}): string => {
  const { categories, series } = options
  const width = 760
  const legendWidth = 180
  const height = 300
  const left = 44
  const top = 30
  const bottom = 40
  const plotW = width - left - legendWidth - 10
  const plotH = height - top - bottom
  const max = options.max ?? 1
  const y = (v: number) => top + plotH - (Math.max(0, Math.min(v, max)) / max) * plotH
  const groupW = plotW / Math.max(1, categories.length)
  const barW = Math.max(4, (groupW * 0.8) / Math.max(1, series.length))
  let body = ""
  for (let t = 0; t <= 5; t++) {
    const v = (max * t) / 5
    body += `<line x1="${left}" x2="${left + plotW}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#e5e5e5"/><text x="${left - 6}" y="${fmt(y(v) + 4)}" font-size="11" text-anchor="end">${v.toFixed(1)}</text>`
  }
  categories.forEach((c, ci) => {
    const gx = left + ci * groupW + groupW * 0.1
    series.forEach((s, si) => {
      const v = s.values[ci]
      const x = gx + si * barW
      const color = palette[si % palette.length]
      if (v === null || v === undefined) {
        body += `<text x="${fmt(x + barW / 2)}" y="${fmt(y(0) - 4)}" font-size="10" text-anchor="middle" fill="#666">n/a</text>`
        return
      }
      body += `<rect x="${fmt(x)}" y="${fmt(y(v))}" width="${fmt(barW - 2)}" height="${fmt(y(0) - y(v))}" fill="${color}"><title>${escapeXml(`${s.name} ${c}: ${v.toFixed(4)}`)}</title></rect>`
      const ci95 = s.intervals?.[ci]
      if (ci95) {
        const cx = x + (barW - 2) / 2
        body += `<g stroke="#222" stroke-width="1.2"><line x1="${fmt(cx)}" x2="${fmt(cx)}" y1="${fmt(y(ci95[0]))}" y2="${fmt(y(ci95[1]))}"/><line x1="${fmt(cx - 4)}" x2="${fmt(cx + 4)}" y1="${fmt(y(ci95[0]))}" y2="${fmt(y(ci95[0]))}"/><line x1="${fmt(cx - 4)}" x2="${fmt(cx + 4)}" y1="${fmt(y(ci95[1]))}" y2="${fmt(y(ci95[1]))}"/></g>`
      }
    })
    body += `<text x="${fmt(left + ci * groupW + groupW / 2)}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">${escapeXml(c)}</text>`
  })
  body += `<line x1="${left}" x2="${left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`
  return svg(
    width,
    height,
    options.title,
    body +
      legend(
        series.map((s) => s.name),
        left + plotW + 16,
        top
      )
  )
}

/** Lines over ordered categories (e.g. AP at grade thresholds); null points are skipped. */
export const lines = (options: {
  readonly title: string
  readonly categories: ReadonlyArray<string>
  readonly series: ReadonlyArray<BarSeries>
}): string => {
  const width = 760
  const height = 280
  const left = 44
  const top = 30
  const legendWidth = 180
  const plotW = width - left - legendWidth - 30
  const plotH = height - top - 40
  const y = (v: number) => top + plotH - Math.max(0, Math.min(1, v)) * plotH
  const x = (i: number) =>
    left + 20 + (options.categories.length <= 1 ? 0 : (i * (plotW - 40)) / (options.categories.length - 1))
  let body = ""
  for (let t = 0; t <= 5; t++) {
    const v = t / 5
    body += `<line x1="${left}" x2="${left + plotW}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#e5e5e5"/><text x="${left - 6}" y="${fmt(y(v) + 4)}" font-size="11" text-anchor="end">${v.toFixed(1)}</text>`
  }
  options.categories.forEach((c, i) => {
    body += `<text x="${fmt(x(i))}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">${escapeXml(c)}</text>`
  })
  options.series.forEach((s, si) => {
    const color = palette[si % palette.length]
    const pts = s.values.map((v, i) => (v === null ? null : ([x(i), y(v)] as const)))
    let d = ""
    let pen = false
    for (const p of pts) {
      if (p === null) {
        pen = false
        continue
      }
      d += `${pen ? "L" : "M"}${fmt(p[0])},${fmt(p[1])} `
      pen = true
    }
    if (d !== "") body += `<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"/>`
    pts.forEach((p, i) => {
      if (p === null) {
        body += `<text x="${fmt(x(i))}" y="${fmt(y(0) - 6 - si * 12)}" font-size="10" text-anchor="middle" fill="${color}">n/a</text>`
        return
      }
      const ci95 = s.intervals?.[i]
      if (ci95)
        body += `<line x1="${fmt(p[0])}" x2="${fmt(p[0])}" y1="${fmt(y(ci95[0]))}" y2="${fmt(y(ci95[1]))}" stroke="${color}" stroke-width="1"/>`
      body += `<circle cx="${fmt(p[0])}" cy="${fmt(p[1])}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name} ${options.categories[i]}: ${s.values[i]!.toFixed(4)}`)}</title></circle>`
    })
  })
  body += `<line x1="${left}" x2="${left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`
  return svg(
    width,
    height,
    options.title,
    body +
      legend(
        options.series.map((s) => s.name),
        left + plotW + 36,
        top
      )
  )
}

/** A heat map of a square matrix; cells are shaded by row share and print the count. */
export const heatMap = (options: {
  readonly title: string
  readonly labels: ReadonlyArray<string>
  readonly matrix: ReadonlyArray<ReadonlyArray<number>>
  readonly rowTitle: string
  readonly columnTitle: string
}): string => {
  const n = options.labels.length
  const cell = 46
  const left = 70
  const top = 60
  const width = left + n * cell + 20
  const height = top + n * cell + 40
  let body = `<text x="${left + (n * cell) / 2}" y="${top - 22}" font-size="11" text-anchor="middle">${escapeXml(options.columnTitle)}</text>`
  body += `<text x="14" y="${top + (n * cell) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${top + (n * cell) / 2})">${escapeXml(options.rowTitle)}</text>`
  options.labels.forEach((l, i) => {
    body += `<text x="${left + i * cell + cell / 2}" y="${top - 6}" font-size="12" text-anchor="middle">${escapeXml(l)}</text>`
    body += `<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" font-size="12" text-anchor="end">${escapeXml(l)}</text>`
  })
  options.matrix.forEach((row, i) => {
    const total = row.reduce((s, v) => s + v, 0)
    row.forEach((v, j) => {
      const share = total === 0 ? 0 : v / total
      const shade = Math.round(255 - share * 190)
      const color = `rgb(${shade},${Math.round(255 - share * 140)},255)`
      body += `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell - 2}" height="${cell - 2}" fill="${color}"><title>${escapeXml(`${options.labels[i]} → ${options.labels[j]}: ${v} (${(share * 100).toFixed(1)}% of row)`)}</title></rect>`
      body += `<text x="${left + j * cell + cell / 2 - 1}" y="${top + i * cell + cell / 2 + 4}" font-size="12" text-anchor="middle" fill="${share > 0.55 ? "#fff" : "#111"}">${v}</text>`
    })
  })
  return svg(width, height, options.title, body)
}

/** Histogram bars (counts per bin), optionally several overlaid series drawn as outlines. */
export const histogram = (options: {
  readonly title: string
  readonly binLabels: ReadonlyArray<string>
  readonly series: ReadonlyArray<{ readonly name: string; readonly counts: ReadonlyArray<number> }>
  readonly normalize?: boolean
  readonly width?: number
}): string => {
  const width = options.width ?? 380
  const left = 44
  const top = 28
  const legendH = options.series.length > 1 ? options.series.length * 16 : 0
  // the legend adds height below the plot instead of squeezing it
  const height = 220 + legendH
  const plotW = width - left - 12
  const plotH = 220 - top - 36
  const series = options.series.map((s) => {
    const total = s.counts.reduce((a, b) => a + b, 0)
    return { ...s, values: s.counts.map((c) => (options.normalize && total > 0 ? c / total : c)) }
  })
  const max = Math.max(1e-12, ...series.flatMap((s) => s.values))
  const bins = options.binLabels.length
  const bw = plotW / Math.max(1, bins)
  const y = (v: number) => top + plotH - (v / max) * plotH
  let body = ""
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4
    body += `<line x1="${left}" x2="${left + plotW}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#eee"/><text x="${left - 5}" y="${fmt(y(v) + 4)}" font-size="10" text-anchor="end">${options.normalize ? v.toFixed(2) : Math.round(v)}</text>`
  }
  series.forEach((s, si) => {
    const color = palette[si % palette.length]
    s.values.forEach((v, b) => {
      const x = left + b * bw
      body +=
        series.length === 1
          ? `<rect x="${fmt(x + 1)}" y="${fmt(y(v))}" width="${fmt(bw - 2)}" height="${fmt(y(0) - y(v))}" fill="${color}"><title>${escapeXml(`${options.binLabels[b]}: ${s.counts[b]}`)}</title></rect>`
          : `<rect x="${fmt(x + 1)}" y="${fmt(y(v))}" width="${fmt(bw - 2)}" height="${fmt(y(0) - y(v))}" fill="${color}" fill-opacity="0.28" stroke="${color}" stroke-width="1.5"><title>${escapeXml(`${s.name} ${options.binLabels[b]}: ${s.counts[b]}`)}</title></rect>`
    })
  })
  const every = Math.max(1, Math.ceil(bins / 8))
  options.binLabels.forEach((l, b) => {
    if (b % every === 0)
      body += `<text x="${fmt(left + b * bw + bw / 2)}" y="${top + plotH + 14}" font-size="10" text-anchor="middle">${escapeXml(l)}</text>`
  })
  body += `<line x1="${left}" x2="${left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`
  if (series.length > 1)
    body += legend(
      series.map((s) => s.name),
      left,
      top + plotH + 24
    )
  return svg(width, height, options.title, body)
}

/** An `<svg>` of at least `minWidth` (wider for a long title) with its title on top and `body` inside. */
export const svg = (minWidth: number, height: number, title: string, body: string) => {
  // wide enough for the title (13px semibold ≈ 7.6px per Latin character, 13px per CJK character)
  let titleWidth = 16
  for (const ch of title) titleWidth += /[\u2E80-\uFFFF]/.test(ch) ? 13 : 7.6
  const width = Math.ceil(Math.max(minWidth, titleWidth))
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif"><text x="8" y="16" font-size="13" font-weight="600">${escapeXml(title)}</text>${body}</svg>`
}
