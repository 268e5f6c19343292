// Throughput of the set-level filters on real queries from the bundled data (the item filters are linear and
// cheap): DuplicateFilter (exact + normalized + MinHash near-duplicates), TestLeakageFilter, GradeQuota,
// and the embedded-mode PairwiseConsistencyFilter with a lookup grader.
//
//   tsx --conditions=@ssra/source bench/index.ts [--n 50000]

import * as path from "node:path"
import { Jsonl, Models, Pair, type SyntheticQuery } from "@ssra/core"
import {
  DuplicateFilter,
  GradeQuota,
  LengthFilter,
  PairwiseConsistencyFilter,
  PairwiseJudge,
  ScriptFilter,
  TestLeakageFilter
} from "@ssra/filters"
import { Effect } from "effect"

const args = process.argv.slice(2)
const n = Number(args[args.indexOf("--n") + 1] ?? 50000) || 50000
const data = path.resolve(import.meta.dirname, "../../../data")

const main = Effect.gen(function* () {
  const labeled = [
    ...(yield* Jsonl.readAll(path.join(data, "qbqtc/labeled.jsonl"), Pair.LabeledPair)),
    ...(yield* Jsonl.readAll(path.join(data, "kuake_qtr/labeled.jsonl"), Pair.LabeledPair))
  ]
  const tests = [
    ...(yield* Jsonl.readAll(path.join(data, "qbqtc/pair_test.jsonl"), Pair.LabeledPair)),
    ...(yield* Jsonl.readAll(path.join(data, "kuake_qtr/pair_test.jsonl"), Pair.LabeledPair))
  ]
  const rows: Array<SyntheticQuery.SyntheticQuery> = []
  for (let i = 0; i < n; i++) {
    const p = labeled[i % labeled.length]!
    rows.push({
      id: `c${i}`,
      did: p.did,
      doc: p.doc,
      query: p.query,
      stage: "stage2",
      targetGrade: (1 + (i % 3)) as 1 | 2 | 3,
      generator: { id: "bench", promptVersion: "v" },
      verdicts: [],
      seed: 1
    })
  }
  const time = <A, E>(name: string, eff: Effect.Effect<A, E>) =>
    Effect.gen(function* () {
      const t = performance.now()
      const r = yield* eff
      const s = (performance.now() - t) / 1000
      console.log(
        `${name.padEnd(44)} ${String(n).padStart(7)} candidates  ${s.toFixed(2).padStart(6)} s  ${Math.round(n / s)
          .toLocaleString("en-US")
          .padStart(9)}/s`
      )
      return r
    })
  const dup = yield* time(
    "DuplicateFilter (exact+normalized+MinHash 64)",
    DuplicateFilter.make({ seed: 1 }).apply(rows)
  )
  console.log(`  kept ${dup.counts.kept}, reasons ${JSON.stringify(dup.counts.reasons)}`)
  yield* time("LengthFilter", LengthFilter.make().apply(rows))
  yield* time("ScriptFilter (Han ≥ 0.5)", ScriptFilter.make().apply(rows))
  const leak = yield* time(
    `TestLeakageFilter (${tests.length} eval queries)`,
    TestLeakageFilter.make({ evaluationQueries: tests.map((t) => t.query) }).apply(rows)
  )
  console.log(`  rejected ${leak.counts.rejected}`)
  yield* time(
    "GradeQuota (lift 1 and 2)",
    GradeQuota.make({ shares: { 1: 0.2, 2: 0.2 }, existing: { 0: 60000, 3: 30000 }, seed: 1 }).apply(rows)
  )
  const grader: Models.Grader = {
    id: "length-grader",
    scale: { max: 3 },
    grade: (pairs) =>
      Effect.sync(() =>
        pairs.map((p) => {
          const g = Math.min(3, p.query.length % 4)
          const probabilities = [0, 1, 2, 3].map((k) => (k === g ? 0.7 : 0.1))
          return {
            grade: Models.argmaxGrade(probabilities),
            probabilities,
            expected: Models.expectedGrade(probabilities)
          }
        })
      )
  }
  yield* time(
    "PairwiseConsistencyFilter (grader judge)",
    PairwiseConsistencyFilter.make({ judge: PairwiseJudge.fromGrader(grader) }).apply(rows)
  )
  console.log(`peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`)
})

Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exit(1)
})
