import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { it } from "@effect/vitest"
import { Trec as CoreTrec, Sampling } from "@ssra/core"
import { Effect, Exit } from "effect"
import { assert, describe, expect } from "vitest"
import { Metrics, Trec } from "../src/index.js"

const fixture = JSON.parse(
  readFileSync(new URL("../../../fixtures/metrics/ndcg_cut.json", import.meta.url), "utf8")
) as {
  queries: Array<{
    qid: string
    qrels: Record<string, number>
    run: Record<string, number>
    expected: Record<string, number>
  }>
  mean: Record<string, number>
}

const qrelsText = fixture.queries
  .flatMap((q) => Object.entries(q.qrels).map(([d, g]) => `${q.qid} 0 ${d} ${g}`))
  .join("\n")
const runText = fixture.queries
  .flatMap((q) => Object.entries(q.run).map(([d, s], i) => `${q.qid} Q0 ${d} ${i + 1} ${s} test`))
  .join("\n")

describe("Trec", () => {
  it.effect("evaluates the golden run through TREC files like trec_eval -q", () =>
    Effect.gen(function* () {
      const qrels = yield* Trec.parseQrels(qrelsText, "golden.qrels")
      const run = yield* Trec.parseRun(runText, "golden.run")
      const result = yield* Trec.evaluate(qrels, run, {
        measures: ["ndcg@1", "ndcg_cut.3", "ndcg_cut_5", "ndcg@10", "ndcg@20"]
      })
      assert.deepStrictEqual([...result.measures], ["ndcg_at_1", "ndcg_at_3", "ndcg_at_5", "ndcg_at_10", "ndcg_at_20"])
      for (const [name, mean] of Object.entries(fixture.mean)) {
        const key = name.replace("@", "_at_")
        expect(Math.abs(result.mean[key]! - mean)).toBeLessThanOrEqual(1e-12)
        fixture.queries.forEach((q, i) => {
          assert.strictEqual(result.queries[i], q.qid)
          expect(Math.abs(result.perQuery[key]![i]! - q.expected[name]!)).toBeLessThanOrEqual(1e-12)
        })
      }
      assert.strictEqual(result.judgedNotInRun, 0)
    })
  )

  it.effect("round-trips a run through formatRun in rank order", () =>
    Effect.gen(function* () {
      const run = yield* Trec.parseRun(runText)
      const again = yield* Trec.parseRun(Trec.formatRun(run))
      const qrels = yield* Trec.parseQrels(qrelsText)
      const a = yield* Trec.evaluate(qrels, run, { measures: ["ndcg@10", "map@10", "recall@10", "p@5", "mrr@10"] })
      const b = yield* Trec.evaluate(qrels, again, { measures: ["ndcg@10", "map@10", "recall@10", "p@5", "mrr@10"] })
      assert.deepStrictEqual(a.mean, b.mean)
      const firstLine = Trec.formatRun(run).split("\n")[0]!
      assert.match(firstLine, /^qA Q0 d4 1 0\.95 ssra$/)
    })
  )

  it.effect("a run written by core's Trec.rank is scored in its rank column's order (one tie order)", () =>
    Effect.gen(function* () {
      const rng = new Sampling.SeededRandom(5)
      const ids = ["1", "10", "9", "a", "B", "中", "文", "\uFF21", "\u{20000}", "\u{1F600}", "é"]
      const entries: Array<CoreTrec.RunEntry> = []
      let qrelsText = ""
      for (let q = 0; q < 40; q++) {
        const scored = ids.map((id) => ({ did: `${id}${rng.int(2) === 0 ? "" : "x"}`, score: rng.int(3) / 2 }))
        const unique = [...new Map(scored.map((s) => [s.did, s])).values()]
        entries.push(...CoreTrec.rank(`q${q}`, unique, "t"))
        for (const s of unique) qrelsText += `q${q} 0 ${s.did} ${rng.int(4)}\n`
      }
      const file = join(mkdtempSync(join(tmpdir(), "ssra-rank-")), "ranked.run")
      yield* Effect.orDie(CoreTrec.writeRunAll(file, entries))
      const run = yield* Trec.readRun(file)
      // the evaluator's order of each query = the rank column
      for (const [qid, docs] of run) {
        const dids = [...docs.keys()]
        const order = Metrics.rankTop(Float64Array.from(docs.values()), dids)
        const written = entries.filter((e) => e.qid === qid)
        assert.deepStrictEqual(
          [...order].map((i) => dids[i]),
          written.map((e) => e.did)
        )
        assert.deepStrictEqual(
          written.map((e) => e.rank),
          written.map((_, i) => i + 1)
        )
      }
      // and scoring by the written scores equals scoring by the rank column alone (no ties left)
      const byRank: Trec.Run = new Map()
      for (const e of entries) {
        if (!byRank.has(e.qid)) byRank.set(e.qid, new Map())
        byRank.get(e.qid)!.set(e.did, -e.rank)
      }
      const qrels = yield* Trec.parseQrels(qrelsText)
      const measures = ["ndcg@5", "ndcg", "map", "P.3", "recip_rank"]
      const a = yield* Trec.evaluate(qrels, run, { measures })
      const b = yield* Trec.evaluate(qrels, byRank, { measures })
      for (const m of a.measures) assert.deepStrictEqual([...a.perQuery[m]!], [...b.perQuery[m]!], m)
    })
  )

  it.effect("bad input names the file, line and id", () =>
    Effect.gen(function* () {
      const dup = yield* Effect.flip(Trec.parseRun("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t", "r.run"))
      assert.strictEqual(dup.reason, "duplicate-document")
      assert.match(dup.message, /r\.run:2: q1\/d1/)
      const nan = yield* Effect.flip(Trec.parseRun("q1 Q0 d1 1 NaN t", "r.run"))
      assert.strictEqual(nan.reason, "nan-score")
      const qrels = yield* Trec.parseQrels("q1 0 d1 1\nq2 0 d1 0")
      const run = yield* Trec.parseRun("q3 Q0 d1 1 0.5 t", "r.run")
      const unknown = yield* Effect.flip(Trec.evaluate(qrels, run, { runFile: "r.run" }))
      assert.strictEqual(unknown.reason, "unknown-query")
      assert.match(unknown.message, /r\.run: q3:/)
      const off = yield* Effect.flip(Trec.parseQrels("q1 0 d1 5", "x.qrels", { maxGrade: 3 }))
      assert.strictEqual(off.reason, "grade-out-of-scale")
      const empty = yield* Effect.flip(Trec.parseRun("\n", "e.run"))
      assert.strictEqual(empty.reason, "empty")
      const measure = yield* Effect.flip(
        Trec.evaluate(qrels, yield* Trec.parseRun("q1 Q0 d1 1 1 t"), { measures: ["bogus"] })
      )
      assert.match(measure.message, /unknown measure/)
      const missing = yield* Trec.evaluate(qrels, yield* Trec.parseRun("q1 Q0 d1 1 1 t"))
      assert.strictEqual(missing.judgedNotInRun, 1)
      assert.strictEqual(Exit.isSuccess(yield* Effect.exit(Trec.readRun("/nonexistent/file.run"))), false)
    })
  )
})
