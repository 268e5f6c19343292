import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Text } from "@ssra/core"
import { Effect, Exit } from "effect"
import { Inputs, PipelineConfig, Prepare, RunManifest } from "../src/index.js"

const bundled = path.resolve(import.meta.dirname, "../../../data/kuake_qtr")
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-split-"))

// A real slice of the bundled Quark set: the first 1,200 labeled rows (≈ 320 queries, some with ≥ 5 candidates).
const slice = (withTests: boolean) => {
  const dir = tmp()
  const take = (name: string, n: number) =>
    fs.readFileSync(path.join(bundled, name), "utf8").split("\n").filter(Boolean).slice(0, n).join("\n") + "\n"
  fs.writeFileSync(path.join(dir, "labeled.jsonl"), take("labeled.jsonl", 1200))
  fs.writeFileSync(path.join(dir, "unlabeled.jsonl"), take("unlabeled.jsonl", 40))
  if (withTests) {
    fs.writeFileSync(path.join(dir, "retrieval_test.jsonl"), take("retrieval_test.jsonl", 40))
    fs.writeFileSync(path.join(dir, "pair_test.jsonl"), take("pair_test.jsonl", 40))
  }
  return dir
}

const plan = (over: Partial<Inputs.SplitPlan> = {}): Inputs.SplitPlan => ({
  testFraction: 0.3,
  seed: 7,
  minCandidates: 5,
  pairs: "rest",
  ...over
})

const loadSlice = Effect.suspend(() => {
  const dir = slice(false)
  return Inputs.load({ labeled: path.join(dir, "labeled.jsonl"), unlabeled: path.join(dir, "unlabeled.jsonl") })
})

const config = (dir: string, runDir: string, split: unknown, extra: unknown = {}) =>
  PipelineConfig.merge(
    PipelineConfig.defaults,
    { runDir, seed: 3, data: { dir, split }, evaluation: { minCandidates: 5 } },
    extra
  ) as PipelineConfig.Config

const failureDetail = <A, E>(exit: Exit.Exit<A, E>): string => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  return String(exit)
}

describe("test split (data.split)", () => {
  it.effect("same seed → identical split; another seed → another held-out set", () =>
    Effect.gen(function* () {
      const dataset = yield* loadSlice
      const a = yield* Inputs.splitTest(dataset, plan())
      const b = yield* Inputs.splitTest(dataset, plan())
      assert.deepStrictEqual(a, b)
      const c = yield* Inputs.splitTest(dataset, plan({ seed: 8 }))
      const held = (r: typeof a) => [...new Set([...r.dataset.retrievalTest, ...r.dataset.pairTest].map((p) => p.qid))]
      assert.notDeepEqual(held(a).sort(), held(c).sort())
    })
  )

  it.effect("no held-out query (by id or by text) occurs in training; counts add up; retrieval queries qualify", () =>
    Effect.gen(function* () {
      const dataset = yield* loadSlice
      const { dataset: out, summary } = yield* Inputs.splitTest(dataset, plan())
      const train = new Set(out.labeled.map((p) => p.qid))
      const trainText = new Set(out.labeled.map((p) => Text.normalize(p.query)))
      const test = [...out.retrievalTest, ...out.pairTest]
      for (const p of test) {
        assert.isFalse(train.has(p.qid), `test query ${p.qid} leaked into training`)
        assert.isFalse(trainText.has(Text.normalize(p.query)), `test query text "${p.query}" leaked into training`)
      }
      const queries = new Set(dataset.labeled.map((p) => p.qid)).size
      assert.strictEqual(summary.testQueries, Math.round(queries * 0.3))
      assert.strictEqual(summary.trainQueries + summary.testQueries, queries)
      assert.strictEqual(summary.trainRows + summary.testRows, dataset.labeled.length)
      assert.strictEqual(out.labeled.length, summary.trainRows)
      // "rest": the two tests partition the held-out rows and share no query
      assert.strictEqual(out.retrievalTest.length + out.pairTest.length, summary.testRows)
      const retrievalQids = new Set(out.retrievalTest.map((p) => p.qid))
      assert.isTrue(out.pairTest.every((p) => !retrievalQids.has(p.qid)))
      assert.isAbove(summary.retrievalQueries, 0)
      assert.strictEqual(retrievalQids.size, summary.retrievalQueries)
      for (const qid of retrievalQids) {
        const rows = out.retrievalTest.filter((p) => p.qid === qid)
        assert.isAtLeast(rows.length, 5)
        assert.isAtLeast(new Set(rows.map((p) => p.label)).size, 2)
      }
      // "all": the pair test is every held-out row
      const all = yield* Inputs.splitTest(dataset, plan({ pairs: "all" }))
      assert.strictEqual(all.summary.pairRows, summary.testRows)
      assert.deepStrictEqual(all.dataset.retrievalTest, out.retrievalTest)
    })
  )

  it.effect("errors: an empty side, an empty retrieval or pair test, test rows already loaded", () =>
    Effect.gen(function* () {
      const dataset = yield* loadSlice
      const tiny = failureDetail(yield* Effect.exit(Inputs.splitTest(dataset, plan({ testFraction: 0.0001 }))))
      assert.include(tiny, "leaves the test side empty")
      const huge = failureDetail(yield* Effect.exit(Inputs.splitTest(dataset, plan({ testFraction: 0.9999 }))))
      assert.include(huge, "leaves the training side empty")
      const noRetrieval = failureDetail(yield* Effect.exit(Inputs.splitTest(dataset, plan({ minCandidates: 1000 }))))
      assert.include(noRetrieval, "retrieval test would be empty")
      // only queries that qualify for the retrieval test: with "rest" nothing is left for the pair test
      const perQuery = new Map<string, Array<number>>()
      for (const p of dataset.labeled) perQuery.set(p.qid, [...(perQuery.get(p.qid) ?? []), p.label])
      const qualifying = new Set(
        [...perQuery].filter(([, labels]) => labels.length >= 5 && new Set(labels).size >= 2).map(([q]) => q)
      )
      const onlyQualifying = { ...dataset, labeled: dataset.labeled.filter((p) => qualifying.has(p.qid)) }
      const noPairs = failureDetail(yield* Effect.exit(Inputs.splitTest(onlyQualifying, plan())))
      assert.include(noPairs, "pair test would be empty")
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(Inputs.splitTest(onlyQualifying, plan({ pairs: "all" })))))
      const withTests = { ...dataset, pairTest: dataset.labeled.slice(0, 3) }
      assert.include(failureDetail(yield* Effect.exit(Inputs.splitTest(withTests, plan()))), "would replace test rows")
    })
  )
})

describe("test split (data.split) in config and prepare", () => {
  it.effect("precedence: the split replaces test files found in data.dir; explicitly named test files conflict", () =>
    Effect.gen(function* () {
      const dir = slice(true)
      const runDir = tmp()
      const files = yield* Prepare.dataFiles(config(dir, runDir, { testFraction: 0.3 }))
      assert.isUndefined(files.retrievalTest)
      assert.isUndefined(files.pairTest)
      const plain = yield* Prepare.dataFiles(config(dir, runDir, undefined))
      assert.strictEqual(plain.pairTest, path.join(dir, "pair_test.jsonl"))
      const conflict = failureDetail(
        yield* Effect.exit(
          Prepare.dataFiles(
            config(dir, runDir, { testFraction: 0.3 }, { data: { pairTest: path.join(dir, "pair_test.jsonl") } })
          )
        )
      )
      assert.include(conflict, "test files are named too")
      const low = failureDetail(
        yield* Effect.exit(
          Prepare.loadFiles(
            config(dir, runDir, { testFraction: 0.3, minCandidates: 3 }),
            files,
            path.join(runDir, "rejects")
          )
        )
      )
      assert.include(low, "below evaluation.minCandidates")
    })
  )

  it.effect("prepare: the split is in the artifact key and the manifest; rerunning reuses it", () =>
    Effect.gen(function* () {
      const dir = slice(true)
      const runDir = tmp()
      const prepare = (split: unknown) =>
        Effect.gen(function* () {
          const cfg = config(dir, runDir, split)
          const recorder = yield* RunManifest.start(runDir, cfg, cfg.seed)
          return { prepared: yield* Prepare.run({ config: cfg, runDir, recorder }), recorder }
        })
      const first = yield* prepare({ testFraction: 0.3 })
      const again = yield* prepare({ testFraction: 0.3 })
      assert.isTrue(again.prepared.artifact.skipped)
      assert.strictEqual(again.prepared.artifact.record.key, first.prepared.artifact.record.key)
      assert.deepStrictEqual(again.prepared.retrievalTest, first.prepared.retrievalTest)
      const other = yield* prepare({ testFraction: 0.3, seed: 11 })
      assert.notStrictEqual(other.prepared.artifact.record.key, first.prepared.artifact.record.key)
      const none = yield* prepare(undefined)
      assert.notStrictEqual(none.prepared.artifact.record.key, first.prepared.artifact.record.key)
      // the held-out rows, not the folder's test files, are the tests; no test query is trained on
      const { prepared, recorder } = first
      const train = new Set(prepared.labeled.map((p) => p.qid))
      assert.isTrue([...prepared.retrievalTest, ...prepared.pairTest].every((p) => !train.has(p.qid)))
      const qidsOf = (name: string) =>
        new Set(
          fs
            .readFileSync(path.join(dir, name), "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l).qid as string)
        )
      const labeledQids = qidsOf("labeled.jsonl")
      const folderTests = new Set([...qidsOf("retrieval_test.jsonl"), ...qidsOf("pair_test.jsonl")])
      for (const p of [...prepared.retrievalTest, ...prepared.pairTest]) {
        assert.isTrue(labeledQids.has(p.qid))
        assert.isFalse(folderTests.has(p.qid))
      }
      const entry = recorder.current().stages.find((s) => s.stage === "prepare")!
      const component = entry.components.find((c) => c.name === "test-split")!
      const recorded = component.config as Inputs.SplitSummary & { replacedFiles: Array<string> }
      assert.strictEqual(recorded.seed, 3)
      assert.strictEqual(recorded.testFraction, 0.3)
      assert.strictEqual(recorded.retrievalRows, prepared.retrievalTest.length)
      assert.strictEqual(recorded.pairRows, prepared.pairTest.length)
      assert.deepStrictEqual(recorded.replacedFiles, [
        path.join(dir, "retrieval_test.jsonl"),
        path.join(dir, "pair_test.jsonl")
      ])
      assert.strictEqual(entry.counts.splitTestRows, prepared.retrievalTest.length + prepared.pairTest.length)
      assert.strictEqual(entry.counts.labeled, prepared.labeled.length)
    })
  )
})
