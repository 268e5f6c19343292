import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { it } from "@effect/vitest"
import { Trec as CoreTrec, Sampling } from "@ssra/core"
import { Effect } from "effect"
import { assert, describe, expect } from "vitest"
import { generate } from "../bench/gen-trec.js"
import { Trec } from "../src/index.js"

const MEASURES = ["ndcg@1", "ndcg@5", "ndcg@10", "ndcg@20", "map@10", "recall@10", "p@5", "mrr@10"]

const dir = () => mkdtempSync(join(tmpdir(), "ssra-trec-files-"))

/**
 * A random test collection: Unicode (astral too) document ids, tied scores, full-precision and exponent-form
 * scores, unretrieved judged documents, all-zero queries, judged queries missing from the run.
 */
const makeCollection = (seed: number) => {
  const rng = new Sampling.SeededRandom(seed)
  const alphabet = ["a", "Z", "0", "é", "中", "\uFF21", "\uE000", "\u{1F600}", "\u{20000}", "-", "_"]
  const word = () => Array.from({ length: 1 + rng.int(3) }, () => alphabet[rng.int(alphabet.length)]).join("")
  const qrels: Trec.Qrels = new Map()
  const run: Trec.Run = new Map()
  const queries = 60 + rng.int(60)
  for (let q = 0; q < queries; q++) {
    const qid = `q${q}${q % 7 === 0 ? "文" : ""}`
    const pool = [...new Set(Array.from({ length: 1 + rng.int(40) }, () => `d${word()}`))]
    const judged = new Map<string, number>()
    const ranked = new Map<string, number>()
    const allZero = rng.int(10) === 0
    for (const did of pool) {
      const r = rng.next()
      if (r < 0.7) judged.set(did, allZero ? 0 : rng.int(4))
      if (r > 0.2) {
        const kind = rng.int(4)
        ranked.set(
          did,
          kind === 0
            ? rng.int(5) / 4
            : kind === 1
              ? rng.next()
              : kind === 2
                ? (rng.next() - 0.5) * 10 ** (rng.int(30) - 15)
                : -rng.int(3)
        )
      }
    }
    if (judged.size === 0) judged.set(pool[0]!, rng.int(4))
    qrels.set(qid, judged)
    if (rng.int(8) !== 0 && ranked.size > 0) run.set(qid, ranked)
  }
  return { qrels, run }
}

/** TREC text of a collection; `interleave` splits each query's run lines into two blocks far apart. */
const toText = (qrels: Trec.Qrels, run: Trec.Run, options: { interleave: boolean; crlf: boolean }) => {
  const eol = options.crlf ? "\r\n" : "\n"
  const qrelsLines: Array<string> = []
  for (const [qid, docs] of qrels) for (const [did, g] of docs) qrelsLines.push(`${qid}\t0 ${did}  ${g}`)
  const first: Array<string> = []
  const second: Array<string> = []
  for (const [qid, docs] of run) {
    let i = 0
    for (const [did, s] of docs) {
      const score = i % 3 === 0 ? s.toExponential() : String(s)
      ;(options.interleave && i % 2 === 1 ? second : first).push(`${qid} Q0 ${did} ${i + 1} ${score} sys`)
      i++
    }
  }
  return { qrels: qrelsLines.join(eol) + eol, run: [...first, "", ...second].join(eol) }
}

const assertSame = (a: Trec.TrecEvaluation, b: Trec.TrecEvaluation, tolerance: number) => {
  assert.deepStrictEqual([...a.queries], [...b.queries])
  assert.deepStrictEqual([...a.measures], [...b.measures])
  assert.strictEqual(a.judgedNotInRun, b.judgedNotInRun)
  for (const m of a.measures) {
    expect(Math.abs(a.mean[m]! - b.mean[m]!)).toBeLessThanOrEqual(tolerance)
    a.perQuery[m]!.forEach((v, i) => {
      expect(Math.abs(v - b.perQuery[m]![i]!), `${m} ${a.queries[i]}`).toBeLessThanOrEqual(tolerance)
    })
  }
}

describe("Trec.evaluateFiles (packed fast path)", () => {
  it.effect("equals the Map path on random collections, bit for bit", () =>
    Effect.gen(function* () {
      const d = dir()
      for (let seed = 1; seed <= 6; seed++) {
        const { qrels, run } = makeCollection(seed)
        const text = toText(qrels, run, { interleave: seed % 2 === 0, crlf: seed % 3 === 0 })
        const qrelsFile = join(d, `${seed}.qrels`)
        const runFile = join(d, `${seed}.run`)
        writeFileSync(qrelsFile, text.qrels)
        writeFileSync(runFile, text.run)
        // reference: Maps built directly (no parsing), through the Map evaluator
        const reference = yield* Trec.evaluate(qrels, run, { measures: MEASURES })
        assert.isAbove(reference.judgedNotInRun, 0)
        const fast = yield* Trec.evaluateFiles(qrelsFile, runFile, { measures: MEASURES })
        assertSame(fast, reference, 0)
        // the means are sums in the same order: identical too
        for (const m of fast.measures) assert.strictEqual(fast.mean[m], reference.mean[m])
        // parsed Maps, and packed files read with separate document ids (translated), agree as well
        const parsed = yield* Trec.evaluate(yield* Trec.readQrels(qrelsFile), yield* Trec.readRun(runFile), {
          measures: MEASURES
        })
        assertSame(parsed, reference, 0)
        const separate = yield* Trec.evaluatePacked(
          yield* Effect.orDie(CoreTrec.readQrelsPacked(qrelsFile)),
          yield* Effect.orDie(CoreTrec.readRunPacked(runFile)),
          { measures: MEASURES }
        )
        assertSame(separate, reference, 0)
      }
    })
  )

  it.effect("streams grouped files over several batches: the benchmark's collection, bit for bit", () =>
    Effect.gen(function* () {
      // 1500 queries × 50 = 75k ranked documents: more than one 64k-entry batch of the streaming path
      const files = generate(dir(), 1500, 50, 3)
      const measures = [...MEASURES, "map", "ndcg", "recip_rank", "P.100"]
      const streamed = yield* Trec.evaluateFiles(files.qrels, files.run, { measures, relevance: 2 })
      const reference = yield* Trec.evaluate(yield* Trec.readQrels(files.qrels), yield* Trec.readRun(files.run), {
        measures,
        relevance: 2
      })
      assert.strictEqual(streamed.queries.length, 1500)
      assertSame(streamed, reference, 0)
      for (const m of streamed.measures) assert.strictEqual(streamed.mean[m], reference.mean[m])
      // unjudged run queries: an error naming the run's line, or skipped and counted
      const extra = join(dir(), "extra.run")
      writeFileSync(extra, `${readFileSync(files.run, "utf8")}zz Q0 d1 1 0.5 x\n`)
      const unknown = yield* Effect.flip(Trec.evaluateFiles(files.qrels, extra))
      assert.strictEqual(unknown.reason, "unknown-query")
      assert.strictEqual(unknown.line, 75_001)
      const skipped = yield* Trec.evaluateFiles(files.qrels, extra, { unjudged: "skip" })
      assert.strictEqual(skipped.unjudgedInRun, 1)
      assert.strictEqual(skipped.mean.ndcg_at_10, (yield* Trec.evaluateFiles(files.qrels, files.run)).mean.ndcg_at_10)
    })
  )

  it.effect("matches trec_eval 10.0 on the golden fixture", () =>
    Effect.gen(function* () {
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
      const d = dir()
      const qrelsFile = join(d, "golden.qrels")
      const runFile = join(d, "golden.run")
      writeFileSync(
        qrelsFile,
        fixture.queries.flatMap((q) => Object.entries(q.qrels).map(([doc, g]) => `${q.qid} 0 ${doc} ${g}`)).join("\n")
      )
      writeFileSync(
        runFile,
        fixture.queries
          .flatMap((q) => Object.entries(q.run).map(([doc, s], i) => `${q.qid} Q0 ${doc} ${i + 1} ${s} test`))
          .join("\n")
      )
      const result = yield* Trec.evaluateFiles(qrelsFile, runFile, {
        measures: ["ndcg@1", "ndcg_cut.3", "ndcg_cut_5", "ndcg@10", "ndcg@20"]
      })
      for (const [name, mean] of Object.entries(fixture.mean)) {
        const key = name.replace("@", "_at_")
        expect(Math.abs(result.mean[key]! - mean)).toBeLessThanOrEqual(1e-12)
        fixture.queries.forEach((q, i) => {
          assert.strictEqual(result.queries[i], q.qid)
          expect(Math.abs(result.perQuery[key]![i]! - q.expected[name]!)).toBeLessThanOrEqual(1e-12)
        })
      }
    })
  )

  it.effect("bad input names the file, line and qid/did", () =>
    Effect.gen(function* () {
      const d = dir()
      const write = (name: string, text: string) => {
        const file = join(d, name)
        writeFileSync(file, text)
        return file
      }
      const qrels = write("q.qrels", "q1 0 d1 1\nq1 0 d2 0\nq2 0 d1 2\n")
      const dup = yield* Effect.flip(
        Trec.evaluateFiles(qrels, write("dup.run", "q1 Q0 d1 1 0.5 t\nq2 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n"))
      )
      assert.strictEqual(dup.reason, "duplicate-document")
      assert.match(dup.message, /dup\.run:3: q1\/d1: duplicate document: qid q1 lists did d1 twice/)
      const nan = yield* Effect.flip(Trec.evaluateFiles(qrels, write("nan.run", "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 nan t")))
      assert.strictEqual(nan.reason, "nan-score")
      assert.match(nan.message, /nan\.run:2: q1\/d2: column 5 \(score\)/)
      const unknown = yield* Effect.flip(
        Trec.evaluateFiles(qrels, write("u.run", "q1 Q0 d1 1 0.5 t\nq9 Q0 d1 1 0.5 t\nq9 Q0 d2 2 0.4 t\n"))
      )
      assert.strictEqual(unknown.reason, "unknown-query")
      assert.match(unknown.message, /u\.run:2: q9:/)
      // trec_eval's way, asked for: the unjudged query is skipped and counted, the rest scores as without it
      const skipped = yield* Trec.evaluateFiles(qrels, join(d, "u.run"), { unjudged: "skip", measures: ["ndcg@10"] })
      const alone = yield* Trec.evaluateFiles(qrels, write("q1.run", "q1 Q0 d1 1 0.5 t\n"), { measures: ["ndcg@10"] })
      assert.strictEqual(skipped.unjudgedInRun, 1)
      assert.deepStrictEqual(skipped.queries, ["q1"])
      assert.strictEqual(skipped.mean.ndcg_at_10, alone.mean.ndcg_at_10)
      assert.strictEqual(alone.unjudgedInRun, 0)
      const viaMaps = yield* Trec.evaluate(
        new Map([
          [
            "q1",
            new Map([
              ["d1", 1],
              ["d2", 0]
            ])
          ]
        ]),
        new Map([
          ["q1", new Map([["d1", 0.5]])],
          ["q9", new Map([["d1", 0.5]])]
        ]),
        { unjudged: "skip" }
      )
      assert.strictEqual(viaMaps.unjudgedInRun, 1)
      assert.strictEqual(viaMaps.mean.ndcg_at_10, alone.mean.ndcg_at_10)
      const scale = yield* Effect.flip(
        Trec.evaluateFiles(write("s.qrels", "q1 0 d1 1\nq1 0 d2 3\n"), write("ok.run", "q1 Q0 d1 1 1 t"), {
          maxGrade: 2
        })
      )
      assert.strictEqual(scale.reason, "grade-out-of-scale")
      assert.strictEqual(scale.line, 2)
      const columns = yield* Effect.flip(Trec.evaluateFiles(qrels, write("c.run", "q1 Q0 d1 1 0.5\n")))
      assert.strictEqual(columns.reason, "malformed")
      assert.match(columns.message, /expected 6 whitespace-separated columns/)
      const missing = yield* Effect.flip(Trec.evaluateFiles(join(d, "nope.qrels"), join(d, "nope.run")))
      assert.strictEqual(missing.reason, "io")
      const measure = yield* Effect.flip(
        Trec.evaluateFiles(qrels, write("m.run", "q1 Q0 d1 1 1 t"), { measures: ["bogus"] })
      )
      assert.match(measure.message, /unknown measure/)
      const partial = yield* Trec.evaluateFiles(qrels, write("p.run", "q1 Q0 d2 1 2 t\nq1 Q0 d1 2 1 t\n"))
      assert.strictEqual(partial.judgedNotInRun, 1)
      assert.deepStrictEqual([...partial.queries], ["q1"])
      expect(partial.mean.ndcg_at_10).toBeCloseTo(1 / Math.log2(3), 15)
    })
  )
})
