/**
 * Property tests (`@effect/vitest` `it.prop` over Effect's `Arbitrary`, fixed check seeds so every run tries the
 * same cases): metric ranges, invariance under qrels/run line order, TREC format round trips, and seeded
 * determinism of the bootstrap, the sign-flip test and the sampler.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { it } from "@effect/vitest"
import { Sampling } from "@ssra/core"
import { Arbitrary, Effect, Schema } from "effect"
import { assert, describe } from "vitest"
import { Statistics, Trec } from "../src/index.js"

const MEASURES = ["ndcg@5", "ndcg@10", "map@10", "recall@10", "p@5", "mrr@10", "map", "ndcg", "recip_rank"]
const seedArb = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 })))
const sizeArb = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 30 })))
const checks = (runs: number, seed: number) => ({ arbitrary: { runs, seed } })

/** A random collection: CJK/astral/numeric ids, ties, unjudged and unretrieved documents, grades 0–3. */
const collection = (seed: number, queries: number) => {
  const rng = new Sampling.SeededRandom(seed)
  const ids = ["1", "10", "9", "中", "文", "\u{20000}", "\uFF21", "a", "b"]
  const qrels: Trec.Qrels = new Map()
  const run: Trec.Run = new Map()
  for (let q = 0; q < queries; q++) {
    const judged = new Map<string, number>()
    const ranked = new Map<string, number>()
    for (const id of ids) {
      const did = `${id}${rng.int(3)}`
      if (rng.next() < 0.6) judged.set(did, rng.int(4))
      if (rng.next() < 0.7) ranked.set(did, rng.int(4) / 4)
    }
    if (judged.size === 0) judged.set("a0", 1)
    if (ranked.size === 0) ranked.set("b0", 0.5)
    qrels.set(`q${q}`, judged)
    run.set(`q${q}`, ranked)
  }
  return { qrels, run, rng }
}

const shuffled = <A>(xs: ReadonlyArray<A>, rng: Sampling.SeededRandom): Array<A> => {
  const out = xs.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const byQuery = (r: Trec.TrecEvaluation) =>
  Object.fromEntries(r.queries.map((q, i) => [q, r.measures.map((m) => r.perQuery[m]![i]!)]))

describe("properties", () => {
  it.effect.prop(
    "every measure of every query lies in [0, 1], at relevance levels 1 and 2",
    { seed: seedArb, queries: sizeArb },
    ({ seed, queries }) =>
      Effect.gen(function* () {
        const { qrels, run } = collection(seed, queries)
        for (const relevance of [1, 2]) {
          const r = yield* Trec.evaluate(qrels, run, { measures: MEASURES, relevance })
          for (const m of r.measures) {
            for (const v of [...r.perQuery[m]!, r.mean[m]!]) if (!(v >= 0 && v <= 1)) return false
          }
        }
        return true
      }),
    checks(60, 1)
  )

  it.effect.prop(
    "shuffling the lines of the qrels and the run changes no query's values (streamed vs packed files)",
    { seed: seedArb, queries: sizeArb },
    ({ seed, queries }) =>
      Effect.gen(function* () {
        const { qrels, run, rng } = collection(seed, queries)
        const dir = mkdtempSync(join(tmpdir(), "ssra-prop-"))
        const qrelsLines = Trec.formatQrels(qrels).trimEnd().split("\n")
        const runLines = Trec.formatRun(run).trimEnd().split("\n")
        writeFileSync(join(dir, "a.qrels"), `${qrelsLines.join("\n")}\n`)
        writeFileSync(join(dir, "a.run"), `${runLines.join("\n")}\n`)
        writeFileSync(join(dir, "b.qrels"), `${shuffled(qrelsLines, rng).join("\n")}\n`)
        writeFileSync(join(dir, "b.run"), `${shuffled(runLines, rng).join("\n")}\n`)
        const grouped = yield* Trec.evaluateFiles(join(dir, "a.qrels"), join(dir, "a.run"), { measures: MEASURES })
        const mixed = yield* Trec.evaluateFiles(join(dir, "b.qrels"), join(dir, "b.run"), { measures: MEASURES })
        assert.deepStrictEqual(byQuery(mixed), byQuery(grouped))
        for (const m of grouped.measures) assert.isAtMost(Math.abs(grouped.mean[m]! - mixed.mean[m]!), 1e-12)
        return true
      }),
    checks(25, 2)
  )

  it.effect.prop(
    "TREC text round-trips: parse(format(x)) = x for runs and qrels",
    { seed: seedArb, queries: sizeArb },
    ({ seed, queries }) =>
      Effect.gen(function* () {
        const { qrels, run, rng } = collection(seed, queries)
        // full-precision and exponent-form scores survive too
        for (const docs of run.values())
          for (const did of docs.keys()) docs.set(did, (rng.next() - 0.5) * 10 ** (rng.int(20) - 10))
        const runBack = yield* Trec.parseRun(Trec.formatRun(run))
        const qrelsBack = yield* Trec.parseQrels(Trec.formatQrels(qrels))
        const sorted = (m: Trec.Run) => [...m].map(([q, d]) => [q, [...d].sort(([a], [b]) => (a < b ? -1 : 1))])
        assert.deepStrictEqual(sorted(runBack), sorted(run))
        assert.deepStrictEqual(sorted(qrelsBack), sorted(qrels))
        return true
      }),
    checks(40, 3)
  )

  it.prop(
    "bootstrap, sign-flip test and sampler are deterministic under a seed",
    { seed: seedArb, n: sizeArb },
    ({ seed, n }) => {
      const rng = new Sampling.SeededRandom(seed)
      const a = Array.from({ length: n }, () => rng.next())
      const b = a.map((x) => x + (rng.next() - 0.4) * 0.2)
      const options = { seed, resamples: 200, permutations: 300 }
      assert.deepStrictEqual(Statistics.pairedBootstrap(a, b, options), Statistics.pairedBootstrap(a, b, options))
      assert.deepStrictEqual(
        Statistics.pairedRandomization(a, b, options),
        Statistics.pairedRandomization(a, b, options)
      )
      assert.deepStrictEqual(Statistics.meanInterval(a, options), Statistics.meanInterval(a, options))
      const draw = () => {
        const r = new Sampling.SeededRandom(seed)
        return Array.from({ length: 8 }, () => r.nextUint32())
      }
      assert.deepStrictEqual(draw(), draw())
      return true
    },
    checks(40, 4)
  )
})
