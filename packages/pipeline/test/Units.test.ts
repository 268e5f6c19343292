import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade, Jsonl, type Pair, SyntheticQuery } from "@ssra/core"
import { PairScorer } from "@ssra/evaluation"
import { DuplicateFilter, Filter, GradeQuota, TestLeakageFilter } from "@ssra/filters"
import { EmbeddedQueryModel } from "@ssra/query-model"
import { Cause, Effect, Exit, Option, Schema, Stream } from "effect"
import {
  Artifact,
  Evaluate,
  Generation,
  Inputs,
  PipelineConfig,
  PipelineError,
  Plan,
  Report,
  Stage1,
  Synthesis,
  WorkUnits
} from "../src/index.js"
import * as Strings from "../src/internal/strings.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-units-"))
const Row = Schema.Struct({ item: Schema.Int, value: Schema.Int })

describe("WorkUnits", () => {
  it.effect("commits chunks, resumes without redoing them, and returns rows in item order", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const items = Array.from({ length: 10 }, (_, i) => i)
      const processed: Array<number> = []
      const options = (failAt?: number) => ({
        stage: "test",
        name: "work",
        dir,
        items,
        chunkSize: 3,
        schema: Row,
        identity: (i: number) => String(i),
        process: (chunk: ReadonlyArray<number>, index: number) =>
          index === failAt
            ? Effect.die(new Error("crash"))
            : Effect.sync(() => {
                processed.push(index)
                return chunk.map((item) => ({ item, value: item * item }))
              })
      })
      const crashed = yield* Effect.exit(WorkUnits.run(options(2)))
      assert.isTrue(Exit.isFailure(crashed))
      assert.deepStrictEqual(processed, [0, 1])
      const rows = yield* WorkUnits.run(options())
      assert.deepStrictEqual(processed, [0, 1, 2, 3])
      assert.deepStrictEqual(
        rows.map((r) => r.item),
        items
      )
      assert.deepStrictEqual(
        rows.map((r) => r.value),
        items.map((i) => i * i)
      )
    })
  )

  it.effect("a shard does only its chunks and reports the rest as pending", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const seen: Array<number> = []
      const exit = yield* Effect.exit(
        WorkUnits.run({
          stage: "test",
          name: "work",
          dir,
          items: [1, 2, 3, 4, 5],
          chunkSize: 1,
          schema: Row,
          shard: { index: 1, count: 2 },
          identity: String,
          process: (chunk, index) =>
            Effect.sync(() => {
              seen.push(index)
              return chunk.map((item) => ({ item, value: 0 }))
            })
        })
      )
      assert.deepStrictEqual(seen, [1, 3])
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(WorkUnits.parseShard("2/4"), { index: 1, count: 4 })
      assert.isUndefined(WorkUnits.parseShard("5/4"))
      assert.isUndefined(WorkUnits.parseShard("0/2"))
    })
  )
})

describe("Artifact", () => {
  it.effect("reuses a complete artifact and rebuilds one whose file was changed", () =>
    Effect.gen(function* () {
      const runDir = tmp()
      const spec: Artifact.Spec = { stage: "demo", config: { a: 1 }, inputs: [{ name: "x", sha256: "00" }] }
      let builds = 0
      const build = (dir: string) =>
        Effect.sync(() => {
          builds++
          fs.writeFileSync(path.join(dir, "out.txt"), "hello")
          return { counts: { rows: 1 } }
        })
      const first = yield* Artifact.cached(runDir, spec, build)
      const second = yield* Artifact.cached(runDir, spec, build)
      assert.strictEqual(builds, 1)
      assert.isFalse(first.skipped)
      assert.isTrue(second.skipped)
      fs.writeFileSync(path.join(first.dir, "out.txt"), "tampered")
      assert.isTrue(Option.isNone(yield* Artifact.lookup(runDir, spec)))
      yield* Artifact.cached(runDir, spec, build)
      assert.strictEqual(builds, 2)
      assert.notStrictEqual(Artifact.keyOf(spec), Artifact.keyOf({ ...spec, config: { a: 2 } }))
    })
  )
})

describe("Inputs", () => {
  const write = (dir: string, name: string, rows: ReadonlyArray<unknown>) => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n")
    return file
  }
  const pair = (qid: string, did: string, query: string, doc: string, label?: number) => ({
    qid,
    did,
    query,
    doc,
    ...(label === undefined ? {} : { label })
  })

  it.effect("names both files and rows when one document id has two texts", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const labeled = write(dir, "labeled.jsonl", [
        pair("q1", "d1", "头疼", "头疼怎么办", 3),
        pair("q2", "d2", "发烧", "发烧吃什么药", 1)
      ])
      const unlabeled = write(dir, "unlabeled.jsonl", [pair("q3", "d2", "退烧", "退烧药推荐")])
      const error = yield* Effect.flip(Inputs.load({ labeled, unlabeled }))
      assert.strictEqual(error._tag, "PipelineError")
      assert.include(error.message, "document id d2 names two different texts")
      assert.include(error.message, `${labeled} row 2`)
      assert.include(error.message, `${unlabeled} row 1`)
    })
  )

  it.effect("rejects an unlabeled pool with no document in the documents file", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const documents = write(dir, "documents.jsonl", [{ id: "d1", title: "头疼怎么办" }])
      const labeled = write(dir, "labeled.jsonl", [pair("q1", "d1", "头疼", "头疼怎么办", 3)])
      const unlabeled = write(dir, "unlabeled.jsonl", [pair("q3", "x9", "退烧", "退烧药推荐")])
      const error = yield* Effect.flip(Inputs.load({ labeled, unlabeled, documents }))
      assert.strictEqual(error._tag, "PipelineError")
      assert.include(error.message, "none of its 1 pairs names a document")
      assert.include(error.message, "same document ids")
    })
  )

  it.effect("fails on an invalid row with file and line, or skips it into a rejects file", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const labeled = write(dir, "labeled.jsonl", [
        pair("q1", "d1", "头疼", "头疼怎么办", 3),
        pair("q2", "d2", "发烧", "", 1)
      ])
      const error = yield* Effect.flip(Inputs.load({ labeled }))
      assert.strictEqual(error._tag, "DatasetError")
      assert.include(error.message, `${labeled}:2`)
      const ok = yield* Inputs.load({ labeled }, { skipInvalid: true, rejectsDir: dir })
      assert.strictEqual(ok.labeled.length, 1)
      assert.strictEqual(ok.rejected.labeled, 1)
      assert.isTrue(fs.existsSync(path.join(dir, "labeled.jsonl.rejects.jsonl")))
    })
  )
})

describe("Evaluate and Report", () => {
  it.effect("reports AP@>=3 as n/a on a 0–2 set, never 0", () =>
    Effect.gen(function* () {
      const rows = Array.from({ length: 24 }, (_, i) => ({
        qid: `q${i % 2}`,
        did: `d${i}`,
        query: `查询${i % 2}`,
        doc: `文档${i}`,
        label: i % 3
      }))
      const ctx = { config: PipelineConfig.defaults, runDir: tmp(), recorder: undefined as never }
      const scorer = PairScorer.fromFunction((_q, d) => Number(d.slice(2)) % 7)
      const result = yield* Evaluate.evaluate(
        ctx,
        "lexical",
        { _tag: "scorer", scorer },
        { dataset: "t", retrievalTest: rows, pairTest: rows, scale: { max: 2 } }
      )
      assert.isNull(result.pairs!.ssra.metrics.ap_ge_3)
      assert.isNumber(result.pairs!.ssra.metrics.ap_ge_1)
      assert.isNumber(result.retrieval!.ssra.metrics.ndcg_at_10)
      assert.strictEqual(
        Report.cell({ metric: "ap_ge_3", value: null, difference: null, ci: null, pValue: null, method: "none" }),
        "n/a"
      )
      assert.strictEqual(
        Report.cell({ metric: "x", value: 0.5, difference: 0.1, ci: [0.05, 0.15], pValue: 0.01, method: "b" }),
        "0.5000 (+0.1000 [+0.0500, +0.1500])"
      )
    })
  )
})

describe("WorkUnits.mergeRuns refuses what is not shards of one run", () => {
  const fakeRun = (seed: number, sha = "aa") => {
    const dir = tmp()
    fs.mkdirSync(path.join(dir, "artifacts", "prepare-x"), { recursive: true })
    fs.writeFileSync(path.join(dir, "artifacts", "prepare-x", "labeled.jsonl"), "{}\n")
    fs.writeFileSync(
      path.join(dir, "manifest.json"),
      JSON.stringify({ seed, inputs: [{ kind: "labeled", file: "l.jsonl", sha256: sha, rows: 1, rejected: 0 }] })
    )
    return dir
  }
  const failure = (effect: Effect.Effect<unknown, PipelineError.PipelineError>) =>
    Effect.map(Effect.flip(effect), (e) => ({ reason: e.reason, detail: e.detail }))

  it.effect("a missing directory, another seed or other inputs: config errors naming both runs", () =>
    Effect.gen(function* () {
      const a = fakeRun(42)
      const missing = path.join(tmp(), "nope")
      const gone = yield* failure(WorkUnits.mergeRuns(tmp(), [a, missing]))
      assert.deepStrictEqual(gone, { reason: "config", detail: `run directory ${missing} does not exist` })
      const seeds = yield* failure(WorkUnits.mergeRuns(tmp(), [a, fakeRun(7)]))
      assert.strictEqual(seeds.reason, "config")
      assert.match(seeds.detail, /are not shards of one run: seed 42 vs 7/)
      const inputs = yield* failure(WorkUnits.mergeRuns(tmp(), [a, fakeRun(42, "bb")]))
      assert.match(inputs.detail, /their input files differ/)
      const target = tmp()
      const { copied } = yield* WorkUnits.mergeRuns(target, [a, fakeRun(42)])
      assert.strictEqual(copied, 1)
      assert.isTrue(fs.existsSync(path.join(target, "artifacts", "prepare-x", "labeled.jsonl")))
    })
  )
})

describe("Inputs.warnings", () => {
  const dataset = (labeled: Array<{ qid: string; did: string; label: number }>, max: 1 | 2 | 3) => ({
    files: { labeled: "my/labeled.jsonl", unlabeled: "my/unlabeled.jsonl" },
    labeled: labeled.map((p) => ({ ...p, query: `q ${p.qid}`, doc: `d ${p.did}` })),
    unlabeled: [{ qid: "u", did: "x", query: "u", doc: "x" }],
    retrievalTest: [],
    pairTest: [],
    documents: new Map(),
    documentsFromFile: false,
    scale: Grade.scale(max),
    hashes: {},
    rejected: {}
  })
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ qid: `q${i % 40}`, did: `d${i}`, label: i % 3 }))

  it("flags a top grade carried by one row (a typo widening the scale), not a real one", () => {
    const clean = Inputs.warnings(dataset(rows(300), 2))
    assert.deepStrictEqual(clean, [])
    const typo = Inputs.warnings(dataset([...rows(300), { qid: "q1", did: "z", label: 3 }], 3))
    assert.strictEqual(typo.length, 1)
    assert.match(typo[0]!, /grade 3 occurs in only 1 of 301 labeled rows \(first: my\/labeled\.jsonl row 301\)/)
    assert.match(typo[0]!, /--scale 2/)
  })

  it("flags repeated (qid, did) pairs, conflicting grades apart from exact repeats", () => {
    const w = Inputs.warnings(
      dataset([...rows(300), { qid: "q0", did: "d0", label: 2 }, { qid: "q1", did: "d1", label: 1 }], 2)
    )
    assert.strictEqual(w.length, 2)
    assert.match(
      w[0]!,
      /my\/labeled\.jsonl: 1 rows repeat a \(qid, did\) pair with a different grade \(e\.g\. qid q0, did d0: grade 0 at row 1, 2 at row 301\)/
    )
    assert.match(w[1]!, /1 rows repeat a \(qid, did\) pair with the same grade/)
  })
})

describe("Plan with an LLM judge", () => {
  it("counts every grading as a chat call: score check, query models, stage 1, stage 2 + pairwise, gates", () => {
    const labeled = Array.from({ length: 300 }, (_, i) => ({
      qid: `q${i % 30}`,
      did: `d${i % 100}`,
      query: `查询${i % 30}`,
      doc: `文档${i % 100}`,
      label: i % 4
    }))
    const unlabeled = Array.from({ length: 50 }, (_, i) => ({
      qid: `u${i}`,
      did: `e${i}`,
      query: `点击${i}`,
      doc: `标题${i}`
    }))
    const documents = new Map(
      [...labeled, ...unlabeled].map((p) => [p.did, { id: p.did, title: p.doc, text: p.doc }] as const)
    )
    const dataset = {
      files: { labeled: "l.jsonl", unlabeled: "u.jsonl" },
      labeled,
      unlabeled,
      retrievalTest: [],
      pairTest: [],
      documents,
      documentsFromFile: false,
      scale: Grade.scale(3),
      hashes: {},
      rejected: {}
    }
    const config = PipelineConfig.merge(PipelineConfig.defaults, {
      backends: { scoreModel: "llm", llm: { model: "m", pricePerMillionInput: 1, pricePerMillionOutput: 2 } },
      stage2: { judge: "llm", documents: 10 },
      synthesis: { documents: 40 },
      queryModel: { maxTrainingDocs: 20, candidatesPerDoc: 4 }
    }) as PipelineConfig.Config
    const plan = Plan.make(config, dataset, ["base", "vanilla-sft", "ssra"])
    const calls = Object.fromEntries(plan.map((s) => [s.stage, s.calls]))
    // the pairs query-model training sends its grader (retrieved candidates plus key-phrase edits per document)
    const gradings = (d2q: ReadonlyArray<Pair.D2QGroup>) =>
      EmbeddedQueryModel.trainingGradings({
        d2q,
        queryPool: Stage1.queryPool(labeled, unlabeled),
        seed: config.seed,
        maxTrainingDocs: 20,
        candidatesPerDoc: 4
      })
    assert.strictEqual(calls["query-model:vanilla"], gradings(Stage1.labeledD2Q(labeled)))
    assert.strictEqual(calls.stage1, 50)
    assert.isAbove(calls["query-model:v1"]!, calls["query-model:vanilla"]!)
    assert.strictEqual(calls.stage2, 10 * 3)
    // 3 target grades, one candidate each: 3 pairs per document, both orders
    assert.strictEqual(calls["stage2:pairwise"], 10 * 3 * 2)
    // v2's candidates are v1's: answered by the response cache, counted only in the bound
    assert.strictEqual(calls["query-model:v2"], 0)
    const v2 = plan.find((s) => s.stage === "query-model:v2")!
    assert.strictEqual(v2.upTo, calls["query-model:v1"])
    // vanilla, v1 and v2 each write for 40 documents × 3 grades; v2's queries that v1 also wrote are graded once
    assert.strictEqual(calls.synthesis, 2 * 40 * 3)
    assert.strictEqual(plan.find((s) => s.stage === "synthesis")!.upTo, 3 * 40 * 3)
    const llmStages = plan.filter((s) => s.backend === "llm")
    assert.isTrue(llmStages.every((s) => s.estimate !== undefined && (s.calls === 0 || s.estimate.cost > 0)))
    const total = Plan.totals(plan)
    assert.strictEqual(
      total.llmCalls,
      llmStages.reduce((n, s) => n + s.calls, 0)
    )
    assert.closeTo(
      total.cost,
      llmStages.reduce((c, s) => c + s.estimate!.cost, 0),
      1e-9
    )
    // embedded models: no LLM call anywhere
    const embedded = Plan.make(PipelineConfig.defaults, dataset, ["base", "ssra"])
    assert.strictEqual(Plan.totals(embedded).llmCalls, 0)
  })
})

describe("Report on an uninformative retrieval test", () => {
  it.effect("shows n/a and says why when no evaluated query has a relevant candidate", () =>
    Effect.gen(function* () {
      // 2 queries with 12 all-grade-0 candidates, 1 query with 3 candidates (dropped: < 10)
      const rows = [
        ...Array.from({ length: 24 }, (_, i) => ({
          qid: `q${i % 2}`,
          did: `d${i}`,
          query: `查询${i % 2}`,
          doc: `文档${i}`,
          label: 0
        })),
        ...Array.from({ length: 3 }, (_, i) => ({ qid: "q9", did: `e${i}`, query: "查询9", doc: `别的${i}`, label: 2 }))
      ]
      const pairs = rows.map((r, i) => ({ ...r, label: i % 3 }))
      const ctx = { config: PipelineConfig.defaults, runDir: tmp(), recorder: undefined as never }
      const evaluate = (k: number) =>
        Evaluate.evaluate(
          ctx,
          `lexical${k}`,
          { _tag: "scorer", scorer: PairScorer.fromFunction((_q, d) => (Number(d.slice(2)) * k) % 7) },
          { dataset: "t", retrievalTest: rows, pairTest: pairs, scale: { max: 2 } }
        )
      const base = yield* evaluate(1)
      const ssra = yield* evaluate(3)
      assert.strictEqual(base.retrieval!.ssra.metrics.ndcg_at_10, 0)
      const baseRow = { ...base, system: "base", label: "base", status: "ok" as const }
      const ssraRow = { ...ssra, system: "ssra", label: "SSRA", status: "ok" as const }
      const diffs = new Map([
        ["base", yield* Report.differences(baseRow, baseRow, { resamples: 50, seed: 1 })],
        ["ssra", yield* Report.differences(baseRow, ssraRow, { resamples: 50, seed: 1 })]
      ])
      assert.isNull(diffs.get("ssra")!.find((d) => d.metric === "ndcg_at_10")!.value)
      const text = Report.table("Table 3", [baseRow, ssraRow], diffs, "caption")
      const lines = text.split("\n")
      assert.match(lines.find((l) => l.startsWith("| base |"))!, /^\| base \| n\/a \|/)
      assert.match(lines.find((l) => l.startsWith("| SSRA |"))!, /^\| SSRA \| n\/a \|/)
      assert.include(text, "nDCG@10 over 2 test queries")
      assert.include(text, "1 query had < 10 candidates (dropped)")
      assert.include(text, "2 queries have no relevant candidate")
      assert.include(text, "nDCG@10 is n/a")
      const empty = Report.table(
        "Table 3",
        [baseRow, { ...ssraRow, trainingRows: { rows: 10, labeledRows: 10, syntheticRows: 0 } }],
        diffs,
        "caption"
      )
      assert.include(empty.split("\n").find((l) => l.startsWith("| SSRA |"))!, "no synthetic row survived the gates")
    })
  )
})

describe("WorkUnits.runFiles / readChunks", () => {
  it.effect("returns the committed chunk files in item order; streaming them gives run's rows", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const options = {
        stage: "test",
        name: "work",
        dir,
        items: Array.from({ length: 7 }, (_, i) => i),
        chunkSize: 3,
        schema: Row,
        identity: String,
        process: (chunk: ReadonlyArray<number>) => Effect.succeed(chunk.map((item) => ({ item, value: -item })))
      }
      const files = yield* WorkUnits.runFiles(options)
      assert.deepStrictEqual(
        files.map((f) => path.basename(f)),
        ["chunk-000000.jsonl", "chunk-000001.jsonl", "chunk-000002.jsonl"]
      )
      const streamed = yield* Stream.runCollect(WorkUnits.readChunks(files, Row))
      assert.deepStrictEqual(streamed, yield* WorkUnits.run(options))
      assert.deepStrictEqual(
        streamed.map((r) => r.value),
        [0, -1, -2, -3, -4, -5, -6]
      )
    })
  )
})

describe("Generation.finishSet", () => {
  const candidate = (
    did: string,
    query: string,
    targetGrade: 0 | 1 | 2 | 3,
    rejectedEarlier = false
  ): SyntheticQuery.SyntheticQuery => ({
    id: `${did}-${targetGrade}-${query}`,
    did,
    doc: `the document ${did}, long enough to matter ${"·".repeat(50)}`,
    query,
    stage: "synthesis",
    targetGrade,
    generator: { id: "test-writer", promptVersion: "1" },
    verdicts: [
      { filter: "length", keep: true },
      rejectedEarlier
        ? { filter: "score-agreement", keep: false, reason: "disagree: judged 0" }
        : { filter: "score-agreement", keep: true }
    ],
    seed: 1
  })
  // duplicates across chunks (exact and normalized), an evaluation query, an earlier rejection, uneven grades
  const chunks: Array<Array<SyntheticQuery.SyntheticQuery>> = [
    [candidate("d1", "感冒 吃什么药", 1), candidate("d1", "感冒发烧怎么办", 2), candidate("d2", "头疼", 3, true)],
    [candidate("d3", "感冒吃什么药", 1), candidate("d3", "高血压 饮食", 3), candidate("d4", "测试集的问题", 2)],
    [candidate("d5", "感冒发烧怎么办", 2), candidate("d5", "糖尿病早期症状", 1), candidate("d6", "胃痛怎么缓解", 3)],
    []
  ]
  const gates = () => [
    DuplicateFilter.make({ scope: "global" }),
    TestLeakageFilter.make({ evaluationQueries: ["测试集的问题"] }),
    GradeQuota.make({ shares: { 1: 0.34, 2: 0.33, 3: 0.33 }, others: "drop", seed: 7 })
  ]

  it.effect("streams chunk files through whole-set gates: the same rows as gating everything in memory", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const files: Array<string> = []
      for (const [i, rows] of chunks.entries()) {
        const file = path.join(dir, `chunk-${i}.jsonl`)
        yield* Jsonl.writeAll(file, rows, { schema: SyntheticQuery.SyntheticQuery })
        files.push(file)
      }
      const summary = yield* Generation.finishSet({
        files,
        gates: gates(),
        candidatesFile: path.join(dir, "candidates.jsonl"),
        keptFile: path.join(dir, "synthetic.jsonl")
      })
      // the reference: every candidate in memory, the set gates over the ones still alive
      const all = chunks.flat()
      const judged = yield* Generation.applyGates(all.filter(Generation.isKept), gates())
      const byId = new Map(judged.map((j) => [j.id, j]))
      const expected = all.map((c) => byId.get(c.id) ?? c)
      const written = yield* Jsonl.readAll(path.join(dir, "candidates.jsonl"), SyntheticQuery.SyntheticQuery)
      const kept = yield* Jsonl.readAll(path.join(dir, "synthetic.jsonl"), SyntheticQuery.SyntheticQuery)
      assert.deepStrictEqual(written, expected)
      assert.deepStrictEqual(kept, expected.filter(Generation.isKept))
      // the gates really acted: cross-chunk duplicates and the leaked query are out, documents are intact
      const reasons = written.flatMap((r) => r.verdicts.filter((v) => !v.keep).map((v) => `${r.did}:${v.filter}`))
      assert.includeMembers(reasons, ["d3:duplicate", "d5:duplicate", "d4:test-leakage", "d2:score-agreement"])
      assert.isTrue(written.every((r) => r.doc.startsWith(`the document ${r.did}`)))
      assert.strictEqual(summary.candidates, 9)
      assert.strictEqual(summary.kept, kept.length)
      assert.deepStrictEqual(summary.filters, Generation.countsFromVerdicts(expected))
      assert.deepStrictEqual(summary.alignment, Generation.alignment(expected))
      assert.strictEqual(summary.duplicateRatePermille, Math.round((1 - 7 / 9) * 1000))
    })
  )
})

describe("Generation.finishSet, set gates", () => {
  const row = (id: string, did: string, doc: string): SyntheticQuery.SyntheticQuery => ({
    id,
    did,
    doc,
    query: `query ${id}`,
    stage: "synthesis",
    targetGrade: 1,
    generator: { id: "test-writer", promptVersion: "1" },
    verdicts: [{ filter: "length", keep: true }],
    seed: 1
  })
  const chunkFiles = (dir: string, chunks: ReadonlyArray<ReadonlyArray<SyntheticQuery.SyntheticQuery>>) =>
    Effect.forEach(chunks, (rows, i) => {
      const file = path.join(dir, `chunk-${i}.jsonl`)
      return Effect.as(Jsonl.writeAll(file, rows, { schema: SyntheticQuery.SyntheticQuery }), file)
    })

  it.effect("a set gate sees each candidate's document text", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const files = yield* chunkFiles(dir, [
        [row("a", "d1", "感冒药说明书"), row("b", "d2", "广告页")],
        [row("c", "d1", "感冒药说明书")]
      ])
      const byDocument: Filter.Filter = {
        name: "no-ads",
        scope: "set",
        config: {},
        apply: (items) =>
          Effect.sync(() =>
            Filter.collect(
              "no-ads",
              items,
              items.map((c) => (c.doc.includes("广告") ? Filter.reject("ad", c.doc) : Filter.keep()))
            )
          )
      }
      const summary = yield* Generation.finishSet({
        files,
        gates: [byDocument],
        candidatesFile: path.join(dir, "candidates.jsonl"),
        keptFile: path.join(dir, "synthetic.jsonl")
      })
      const kept = yield* Jsonl.readAll(path.join(dir, "synthetic.jsonl"), SyntheticQuery.SyntheticQuery)
      assert.deepStrictEqual(
        kept.map((r) => [r.id, r.doc, r.verdicts.map((v) => v.filter)]),
        [
          ["a", "感冒药说明书", ["length", "no-ads"]],
          ["c", "感冒药说明书", ["length", "no-ads"]]
        ]
      )
      assert.strictEqual(summary.candidates, 3)
      assert.deepStrictEqual(summary.filters.find((f) => f.filter === "no-ads")?.reasons, { ad: 1 })
    })
  )

  it.effect("chunk files that change while the set gates run fail the step, nothing is written", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const files = yield* chunkFiles(dir, [[row("a", "d1", "一"), row("b", "d2", "二")], [row("c", "d3", "三")]])
      // a gate that, while it runs, rewrites the last chunk without its surviving row
      const tamper: Filter.Filter = {
        name: "tamper",
        scope: "set",
        config: {},
        apply: (items) =>
          Effect.sync(() => {
            fs.writeFileSync(files[1]!, "")
            return Filter.collect(
              "tamper",
              items,
              items.map(() => Filter.keep())
            )
          })
      }
      const exit = yield* Effect.exit(
        Generation.finishSet({
          files,
          gates: [tamper],
          candidatesFile: path.join(dir, "candidates.jsonl"),
          keptFile: path.join(dir, "synthetic.jsonl")
        })
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, PipelineError.PipelineError)
      assert.include((error as PipelineError.PipelineError).message, "2 surviving candidates, 3 were gated")
      assert.isFalse(fs.existsSync(path.join(dir, "candidates.jsonl")))
      assert.isFalse(fs.existsSync(path.join(dir, "synthetic.jsonl")))
    })
  )
})

describe("Stage1.group / grouper", () => {
  it("groups by document in first-seen order, drops a repeated (normalized query, grade), keeps probabilities", () => {
    const rows: Array<Stage1.D2QRow> = [
      { did: "d2", doc: "二", query: "感冒 吃什么药", grade: 2, origin: "human" },
      { did: "d1", doc: "一", query: "头疼", grade: 3, origin: "score-model", probabilities: [0, 0.1, 0.2, 0.7] },
      { did: "d2", doc: "二", query: "感冒吃什么药", grade: 2, origin: "score-model" }, // same normalized query+grade
      { did: "d2", doc: "二", query: "感冒吃什么药", grade: 1, origin: "score-model" } // other grade: kept
    ]
    const expected: Array<Pair.D2QGroup> = [
      {
        did: "d2",
        doc: "二",
        queries: [
          { query: "感冒 吃什么药", grade: 2, origin: "human" },
          { query: "感冒吃什么药", grade: 1, origin: "score-model" }
        ]
      },
      {
        did: "d1",
        doc: "一",
        queries: [{ query: "头疼", grade: 3, origin: "score-model", probabilities: [0, 0.1, 0.2, 0.7] }]
      }
    ]
    assert.deepStrictEqual(Stage1.group(rows), expected)
    const g = Stage1.grouper()
    for (const r of rows) g.add(r)
    assert.deepStrictEqual(g.result(), expected)
  })
})

describe("the run's string pool", () => {
  it("equal texts become one string; values never change", () => {
    const s = Strings.pool()
    const a = ["感冒", "吃什么药"].join("")
    const b = `感冒${"吃什么药"}`
    assert.strictEqual(s(a), a)
    assert.strictEqual(s(b), a)
    const pair = { qid: "q1", did: "d1", query: b, doc: "文档", label: 2 }
    const interned = Strings.pair(s, pair)
    assert.deepStrictEqual(interned, pair)
    const group = { did: "d1", doc: "文档", queries: [{ query: b, grade: 2 as const, origin: "human" as const }] }
    assert.deepStrictEqual(Strings.group(s, group), group)
  })
})

describe("Report over zero generated queries", () => {
  it("gives n/a for the duplicate rate, not 100%", () => {
    const input: Report.ReportInput = {
      title: "t",
      dataset: "d",
      scaleMax: 3,
      rows: [],
      tables: [],
      alignment: [
        { model: "v2", counts: { documents: 0, candidates: 0, kept: 0, duplicateRatePermille: 1000 } },
        { model: "v1", counts: { grade1Written: 4, grade1JudgedAtTarget: 2, kept: 3, duplicateRatePermille: 250 } }
      ],
      filters: [],
      resamples: 10,
      seed: 1,
      runDir: "r",
      durationMs: 0
    }
    const table = Report.alignmentTable(input)
    assert.match(table, /\| v2 \| n\/a \| n\/a \| n\/a \| 0 \| n\/a \|/)
    assert.match(table, /\| v1 \| 2\/4 \(50\.0%\) .*\| 25\.0% \|/)
  })
})

describe("Plan.check and synthesis eligibility", () => {
  const pair = (qid: string, did: string, label: 0 | 1 | 2 | 3) => ({ qid, did, query: qid, doc: did, label })
  it("counts only documents no test row names, and says why none are", () => {
    const labeled = [pair("q1", "a", 1), pair("q1", "b", 2)]
    const data = { labeled, unlabeled: [], retrievalTest: [pair("t1", "a", 1), pair("t1", "b", 0)], pairTest: [] }
    assert.deepStrictEqual(Synthesis.eligibleDocumentIds(data), [])
    const problems = Plan.check(PipelineConfig.defaults, data, ["base", "ssra"])
    assert.include(problems.find((p) => p.level === "error")?.message ?? "", "synthesis has no document")
    const allowed = Plan.check(
      { ...PipelineConfig.defaults, synthesis: { ...PipelineConfig.defaults.synthesis, allowEmpty: true } },
      data,
      ["base", "ssra"]
    )
    assert.notInclude(allowed.map((p) => p.message).join("\n"), "synthesis has no document")
  })

  it("warns before training when only one of the two tests is given (its half of every table would be n/a)", () => {
    const labeled = [pair("q1", "a", 1), pair("q1", "b", 2)]
    const messages = (retrievalTest: Array<ReturnType<typeof pair>>, pairTest: Array<ReturnType<typeof pair>>) =>
      Plan.check(PipelineConfig.defaults, { labeled, unlabeled: [], retrievalTest, pairTest }, ["base"])
        .filter((p) => p.level === "warning")
        .map((p) => p.message)
        .join("\n")
    assert.include(messages([], [pair("t1", "c", 1)]), "no retrieval test (retrieval_test.jsonl / --retrieval-test)")
    assert.include(messages([pair("t1", "c", 1)], []), "no pair test (pair_test.jsonl / --pair-test)")
    assert.notInclude(messages([pair("t1", "c", 1)], [pair("t2", "d", 0)]), "n/a in every table")
  })
})
