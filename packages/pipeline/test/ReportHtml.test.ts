/**
 * report.html holds every section of report.md (tables cell by cell), the plots (metrics per table, filter funnel,
 * grade mix, confusion matrix), escapes every text from the data, and needs nothing outside the file.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Report } from "../src/index.js"

const evil = "<script>alert(1)</script>"

const input: Report.ReportInput = {
  title: `SSRA run — ${evil}`,
  dataset: "tiny&set",
  scaleMax: 3,
  rows: [
    { system: "base", label: "base (labeled only)", status: "ok", trainingRows: { rows: 10, labeledRows: 10 } },
    {
      system: "ssra",
      label: "SSRA",
      status: "ok",
      note: `query ${evil} | kept`,
      trainingRows: { rows: 14, labeledRows: 10, syntheticRows: 4, grade0: 5, grade3: 9 }
    },
    { system: "prompt-only", label: "prompt-only synthesis (LLM)", status: "needs-llm", note: "needs an LLM backend" }
  ],
  tables: [
    { title: "Table 3 — main comparison", systems: ["base", "prompt-only", "ssra"], caption: "Main table." },
    { title: "Table 5 — binary vs multi-grade training data", systems: ["ssra"], caption: "Binary." }
  ],
  alignment: [
    {
      model: `query model v2 ${evil}`,
      counts: { grade1Written: 4, grade1JudgedAtTarget: 3, kept: 3, candidates: 4, duplicateRatePermille: 250 }
    },
    // a model that wrote nothing: its rates are undefined, not 0% or 100%
    { model: "query model v1 (no documents)", counts: { candidates: 0, kept: 0, duplicateRatePermille: 1000 } }
  ],
  scoreModel: {
    "embedded score model": {
      count: 12,
      accuracy: 0.5,
      macroF1: 0.4,
      quadraticWeightedKappa: 0.3,
      confusion: {
        classes: [0, 1, 2, 3],
        matrix: [
          [3, 1, 0, 0],
          [1, 2, 0, 0],
          [0, 0, 1, 1],
          [0, 0, 1, 2]
        ]
      }
    }
  },
  filters: [
    {
      stage: "stage2",
      filters: [
        { filter: "score-gate", input: 20, kept: 12, rejected: 8, reasons: { [`off-grade ${evil}`]: 8 } },
        { filter: "pairwise", input: 12, kept: 9, rejected: 3, reasons: { inconsistent: 3 } }
      ]
    }
  ],
  resamples: 10,
  seed: 1,
  runDir: "/tmp/run",
  durationMs: 4200,
  timeSpent: { durationMs: 12_300, invocations: 3 },
  gradeMix: [
    { source: "labeled", grades: { "0": 5, "3": 5 } },
    { source: "synthetic: v2", grades: { "3": 4 } }
  ]
}

/** The Markdown report's sections: heading and the cells of its tables. */
const sections = (md: string) =>
  md
    .split(/\n(?=#{1,6} )/)
    .map((block) => {
      const [first, ...rest] = block.split("\n")
      const cells = rest
        .filter((l) => l.startsWith("|") && !/^\|(\s*-+\s*\|)+$/.test(l))
        .flatMap((l) =>
          l
            .slice(1, -1)
            .split("|")
            .map((c) => c.trim())
        )
        .filter((c) => c !== "")
      return { heading: first!.replace(/^#+ /, ""), cells }
    })
    .filter((s) => s.heading !== "")

const escaped = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

describe("report.html", () => {
  it.effect("holds every section of report.md, with the plots, escaped and self-contained", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-report-html-"))
      const written = yield* Report.write(dir, input)
      const md = fs.readFileSync(path.join(dir, "report.md"), "utf8")
      const html = fs.readFileSync(path.join(dir, "report.html"), "utf8")
      assert.strictEqual(written.markdown, md)
      const found = sections(md)
      assert.deepStrictEqual(
        found.map((s) => s.heading.split(" — ")[0]!.split(" (")[0]),
        [`SSRA run`, "Table 3", "Table 5", "Table 6", "Score model", "Filters", "Training sets", "Grade mix"]
      )
      // section by section: the heading, then every table cell of the section before the next heading
      for (const [i, s] of found.entries()) {
        const tag = i === 0 ? "h1" : "h2"
        const start = html.indexOf(`>${escaped(s.heading)}</${tag}>`)
        assert.isAbove(start, -1, `heading ${s.heading}`)
        const next = found[i + 1]
        const end = next === undefined ? html.length : html.indexOf(`>${escaped(next.heading)}</h2>`, start)
        const part = html.slice(start, end)
        for (const c of s.cells) assert.include(part, escaped(c).replace(/`([^`]+)`/g, "<code>$1</code>"), s.heading)
      }
      // plots where a person would rather look
      const part = (heading: string) => {
        const at = html.search(new RegExp(`<h2 id="[^"]*">${heading}`))
        return html.slice(at, html.indexOf("<h2", at + 1))
      }
      assert.include(part("Table 3"), "Table 3: metrics per system")
      assert.include(part("Filters"), "stage2: filter funnel (kept / in)")
      assert.include(part("Filters"), "12 / 20 (60.0%)")
      assert.include(part("Score model"), "embedded score model: confusion (held-out)")
      assert.include(part("Grade mix"), "grade mix: labeled vs synthetic rows")
      // escaped everywhere, no script, nothing fetched
      assert.notMatch(html, /<script/i)
      assert.include(html, "&lt;script&gt;alert(1)&lt;/script&gt;")
      assert.notMatch(html, /<link|\bsrc=|href="(?!#)/i)
      assert.include(html, "<svg")
      // a rate over zero items is n/a; the run's time sums its invocations
      const v1 = md.split("\n").find((l) => l.startsWith("| query model v1 (no documents)"))!
      assert.match(v1, /\| n\/a \|$/)
      assert.include(md, "total time 12.3 s over 3 invocations (this one 4.2 s")
      assert.include(html, "total time 12.3 s over 3 invocations")
    })
  )

  it("percent and duplicateRate say n/a over zero items", () => {
    assert.strictEqual(Report.percent(0, 0), "n/a")
    assert.strictEqual(Report.percent(1, 4), "25.0%")
    assert.strictEqual(Report.duplicateRate({ candidates: 0, duplicateRatePermille: 1000 }), "n/a")
    assert.strictEqual(Report.duplicateRate({ candidates: 8, duplicateRatePermille: 125 }), "12.5%")
  })
})
