/**
 * trec_eval 10.0's own measures (`map`, `P.k`, `recall.k`, `recip_rank`, uncut `ndcg`) against its golden
 * vectors (`fixtures/metrics/trec_measures.json`: ties, numeric and CJK ids, unjudged and unretrieved
 * documents), per query and mean, at relevance levels 1 and 2, through every evaluation path, to 1e-12.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { it } from "@effect/vitest"
import { Effect } from "effect"
import { assert, describe } from "vitest"
import { Trec } from "../src/index.js"

type Level = "1" | "2"
const fixture = JSON.parse(
  readFileSync(new URL("../../../fixtures/metrics/trec_measures.json", import.meta.url), "utf8")
) as {
  tolerance: number
  queries: Array<{
    qid: string
    qrels: Record<string, number>
    run: Record<string, number>
    expected: Record<Level, Record<string, number>>
  }>
  mean: Record<Level, Record<string, number>>
}

/** The fixture's names as trec_eval's `-m` arguments (`P@5` → `P.5`). */
const trecArgument = (name: string) => name.replace("@", ".")
const names = Object.keys(fixture.mean["1"])
const keyOf = (name: string) => Trec.parseMeasure(trecArgument(name))!.key

const qrelsText = fixture.queries
  .flatMap((q) => Object.entries(q.qrels).map(([d, g]) => `${q.qid} 0 ${d} ${g}`))
  .join("\n")
const runText = fixture.queries
  .flatMap((q) => Object.entries(q.run).map(([d, s], i) => `${q.qid} Q0 ${d} ${i + 1} ${s} golden`))
  .join("\n")

const goldenFiles = () => {
  const dir = mkdtempSync(join(tmpdir(), "ssra-golden-"))
  writeFileSync(join(dir, "golden.qrels"), `${qrelsText}\n`)
  writeFileSync(join(dir, "golden.run"), `${runText}\n`)
  return { qrels: join(dir, "golden.qrels"), run: join(dir, "golden.run") }
}

const assertGolden = (result: Trec.TrecEvaluation, level: Level) => {
  assert.deepStrictEqual(
    [...result.queries],
    fixture.queries.map((q) => q.qid)
  )
  for (const name of names) {
    const key = keyOf(name)
    const mean = result.mean[key]!
    assert.isAtMost(Math.abs(mean - fixture.mean[level][name]!), fixture.tolerance, `${name} mean at level ${level}`)
    fixture.queries.forEach((q, i) => {
      const got = result.perQuery[key]![i]!
      assert.isAtMost(Math.abs(got - q.expected[level][name]!), fixture.tolerance, `${name} ${q.qid} level ${level}`)
    })
  }
}

describe("trec_eval 10.0 measures (golden vectors)", () => {
  const measures = names.map(trecArgument)
  for (const level of ["1", "2"] as const) {
    it.effect(`map, P.k, recall.k, recip_rank and ndcg at relevance level ${level}: Map path`, () =>
      Effect.gen(function* () {
        const qrels = yield* Trec.parseQrels(qrelsText, "golden.qrels")
        const run = yield* Trec.parseRun(runText, "golden.run")
        assertGolden(yield* Trec.evaluate(qrels, run, { measures, relevance: Number(level) }), level)
      })
    )
    it.effect(`… at relevance level ${level}: file path (evaluateFiles)`, () =>
      Effect.gen(function* () {
        const files = goldenFiles()
        assertGolden(yield* Trec.evaluateFiles(files.qrels, files.run, { measures, relevance: Number(level) }), level)
      })
    )
  }

  it("trec_eval's names parse to the canonical keys", () => {
    assert.deepStrictEqual(
      ["map", "ndcg", "recip_rank", "P.10", "P_10", "recall.100", "ndcg_cut.10", "map_cut_5", "recip_rank_cut.3"].map(
        (n) => Trec.parseMeasure(n)?.key
      ),
      [
        "map",
        "ndcg",
        "recip_rank",
        "precision_at_10",
        "precision_at_10",
        "recall_at_100",
        "ndcg_at_10",
        "map_at_5",
        "mrr_at_3"
      ]
    )
    assert.deepStrictEqual(Trec.expandMeasure("P.5,10"), ["P.5", "P.10"])
    assert.deepStrictEqual(Trec.expandMeasure("recall").length, 9)
    assert.deepStrictEqual(["map", "ndcg", "recip_rank", "precision_at_10", "recall_at_100"].map(Trec.trecName), [
      "map",
      "ndcg",
      "recip_rank",
      "P_10",
      "recall_100"
    ])
  })
})
