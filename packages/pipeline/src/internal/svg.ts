import { Charts } from "@ssra/evaluation"

const fmt = (v: number) => (Math.round(v * 10) / 10).toString()

/**
 * A filter funnel: one horizontal bar per filter, its length the items that reached it (grey) with the part it
 * kept drawn over it, and "kept / in (share)" beside it.
 */
export const funnel = (options: {
  readonly title: string
  readonly rows: ReadonlyArray<{ readonly label: string; readonly input: number; readonly kept: number }>
}): string => {
  const labelW = 190
  const barW = 380
  const rowH = 26
  const top = 30
  const width = labelW + barW + 150
  const height = top + options.rows.length * rowH + 10
  const max = Math.max(1, ...options.rows.map((r) => r.input))
  let body = ""
  options.rows.forEach((r, i) => {
    const y = top + i * rowH
    const inW = (r.input / max) * barW
    const keptW = (Math.min(r.kept, r.input) / max) * barW
    const share = r.input > 0 ? `${((100 * r.kept) / r.input).toFixed(1)}%` : "n/a"
    body += `<text x="${labelW - 8}" y="${y + 16}" font-size="12" text-anchor="end">${Charts.escapeXml(r.label)}</text>`
    body += `<rect x="${labelW}" y="${y + 4}" width="${fmt(Math.max(inW, 1))}" height="${rowH - 8}" fill="#e4e4e8"/>`
    body += `<rect x="${labelW}" y="${y + 4}" width="${fmt(keptW)}" height="${rowH - 8}" fill="${Charts.palette[0]}"><title>${Charts.escapeXml(`${r.label}: kept ${r.kept} of ${r.input}`)}</title></rect>`
    body += `<text x="${fmt(labelW + Math.max(inW, 1) + 6)}" y="${y + 16}" font-size="11" fill="#333">${r.kept} / ${r.input} (${share})</text>`
  })
  return Charts.frame(width, height, options.title, body)
}

/**
 * 100% stacked horizontal bars: one bar per row, split into its categories' shares, with a legend.
 */
export const stackedShares = (options: {
  readonly title: string
  readonly categories: ReadonlyArray<string>
  readonly rows: ReadonlyArray<{ readonly label: string; readonly counts: ReadonlyArray<number> }>
}): string => {
  const labelW = 230
  const barW = 420
  const rowH = 28
  const top = 30
  const width = labelW + barW + 140
  const height = Math.max(top + options.rows.length * rowH + 10, top + options.categories.length * 18 + 10)
  let body = ""
  options.rows.forEach((r, i) => {
    const y = top + i * rowH
    const total = r.counts.reduce((a, b) => a + b, 0)
    body += `<text x="${labelW - 8}" y="${y + 17}" font-size="12" text-anchor="end">${Charts.escapeXml(r.label)}</text>`
    if (total === 0) {
      body += `<text x="${labelW + 4}" y="${y + 17}" font-size="11" fill="#666">no rows</text>`
      return
    }
    let x = labelW
    r.counts.forEach((c, k) => {
      const w = (c / total) * barW
      if (w <= 0) return
      body += `<rect x="${fmt(x)}" y="${y + 4}" width="${fmt(w)}" height="${rowH - 8}" fill="${Charts.palette[k % Charts.palette.length]}"><title>${Charts.escapeXml(`${r.label} ${options.categories[k]}: ${c} (${((100 * c) / total).toFixed(1)}%)`)}</title></rect>`
      if (w > 34)
        body += `<text x="${fmt(x + w / 2)}" y="${y + 17}" font-size="10" text-anchor="middle" fill="#fff">${((100 * c) / total).toFixed(0)}%</text>`
      x += w
    })
  })
  return Charts.frame(width, height, options.title, body + Charts.legend(options.categories, labelW + barW + 16, top))
}
