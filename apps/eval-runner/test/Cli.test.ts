import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { it } from "@effect/vitest"
import { ResultFile } from "@ssra/evaluation"
import { Console, Effect, Layer } from "effect"
import { assert, describe } from "vitest"
import { Cli, Suite } from "../src/index.js"

const data = (set: string, file: string) => new URL(`../../../data/${set}/${file}`, import.meta.url).pathname

/** Runs the CLI capturing what it prints. */
const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const err: Array<string> = []
    const capture: Console.Console = {
      ...globalThis.console,
      log: (...args: ReadonlyArray<unknown>) => void out.push(args.join(" ")),
      error: (...args: ReadonlyArray<unknown>) => void err.push(args.join(" "))
    }
    const code = yield* Cli.run(argv).pipe(
      Effect.provideService(Console.Console, capture),
      Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici))
    )
    return { code, out: out.join("\n"), err: err.join("\n") }
  })

const dir = mkdtempSync(join(tmpdir(), "ssra-eval-cli-"))
// a small subset of the bundled qbqtc dev tests (whole queries), to keep the suite fast
const lines = (file: string, n: number) => readFileSync(file, "utf8").split("\n").slice(0, n).join("\n") + "\n"
writeFileSync(join(dir, "retrieval.jsonl"), lines(data("qbqtc", "retrieval_test.jsonl"), 400))
writeFileSync(join(dir, "pairs.jsonl"), lines(data("qbqtc", "pair_test.jsonl"), 300))
writeFileSync(
  join(dir, "suite.yaml"),
  `name: small
title: small suite
output: out
datasets:
  - name: qbqtc-small
    retrieval: retrieval.jsonl
    pairs: pairs.jsonl
    qrels: ${data("qbqtc", "retrieval_qrels.trec")}
    grades: 2
systems:
  - { name: char-ngram, kind: char-ngram }
  - { name: bm25, kind: bm25, k1: 1.2, b: 0.75 }
bootstrap: { resamples: 200, permutations: 500 }
`
)

describe("ssra-eval", () => {
  it.effect("run writes MTEB results, results.json, TREC runs, summary.md and report.html", () =>
    Effect.gen(function* () {
      const r = yield* cli(["run", join(dir, "suite.yaml")])
      assert.strictEqual(r.code, 0, r.err)
      const out = join(dir, "out")
      for (const f of [
        "results.json",
        "summary.md",
        "report.html",
        "comparisons.json",
        "runs/bm25/qbqtc-small.trec",
        "results/bm25/no_revision_available/qbqtc-small-retrieval.json",
        "results/char-ngram/no_revision_available/qbqtc-small-pairs.json",
        "results/bm25/no_revision_available/model_meta.json"
      ]) {
        assert.isTrue(existsSync(join(out, f)), f)
      }
      assert.include(r.out, "| char-ngram |")
      assert.match(r.out, /had < 10 candidates \(dropped\)/)
      assert.include(readFileSync(join(out, "report.html"), "utf8"), "<svg")

      // the TREC run reproduces the retrieval number through `trec`
      const task = (yield* ResultFile.read(
        join(out, "results/bm25/no_revision_available/qbqtc-small-retrieval.json")
      ))[0]!
      const trec = yield* cli([
        "trec",
        "--qrels",
        data("qbqtc", "retrieval_qrels.trec"),
        "--run",
        join(out, "runs/bm25/qbqtc-small.trec"),
        "--json",
        "-m",
        "ndcg@10"
      ])
      assert.strictEqual(trec.code, 0, trec.err)
      const parsed = JSON.parse(trec.out) as { mean: Record<string, number>; queries: number; judgedNotInRun: number }
      assert.strictEqual(parsed.mean.ndcg_at_10, task.ssra.metrics.ndcg_at_10)
      assert.strictEqual(parsed.queries, task.ssra.counts!.queries)
      assert.isAbove(parsed.judgedNotInRun, 0)

      // compare two task files, as JSON and as a table
      const cmp = yield* cli([
        "compare",
        join(out, "results/char-ngram/no_revision_available/qbqtc-small-retrieval.json"),
        join(out, "results/bm25/no_revision_available/qbqtc-small-retrieval.json"),
        "--json",
        "--permutations",
        "500",
        "--resamples",
        "200"
      ])
      assert.strictEqual(cmp.code, 0, cmp.err)
      const deltas = JSON.parse(cmp.out) as Array<{ metric: string; method: string; pValue: number }>
      assert.strictEqual(deltas[0]!.metric, "ndcg_at_10")
      assert.strictEqual(deltas[0]!.method, "randomization")
      const table = yield* cli(["compare", join(out, "results.json"), "--metric", "ap_ge_1", "--resamples", "200"])
      assert.include(table.out, "AP@≥1")
      const files = [
        join(out, "results/char-ngram/no_revision_available/qbqtc-small-retrieval.json"),
        join(out, "results/bm25/no_revision_available/qbqtc-small-retrieval.json")
      ]
      // measure-style names work; --resamples reaches the per-query intervals; nonsense counts are usage errors
      const named = yield* cli(["compare", ...files, "--json", "-m", "ndcg@10", "--resamples", "50", "--seed", "3"])
      assert.strictEqual(named.code, 0, named.err)
      const few = JSON.parse(named.out) as Array<{ metric: string; ci: [number, number] }>
      assert.deepStrictEqual(
        few.map((d) => d.metric),
        ["ndcg_at_10"]
      )
      const many = JSON.parse(
        (yield* cli(["compare", ...files, "--json", "-m", "ndcg@10", "--resamples", "4000", "--seed", "3"])).out
      ) as Array<{ ci: [number, number] }>
      assert.notDeepEqual(few[0]!.ci, many[0]!.ci)
      for (const bad of [
        ["--permutations", "-5"],
        ["--resamples", "0"]
      ]) {
        const r = yield* cli(["compare", ...files, ...bad])
        assert.strictEqual(r.code, 2, bad.join(" "))
        assert.include(r.err, "must be an integer >= 1")
      }
      const unknown = yield* cli(["compare", ...files, "-m", "ndcg@7"])
      assert.strictEqual(unknown.code, 2)
      assert.include(unknown.err, "no result has the metric ndcg_at_7")
    })
  )

  it.effect("trec -q prints trec_eval-style lines", () =>
    Effect.gen(function* () {
      writeFileSync(join(dir, "a.qrels"), "q1 0 d1 2\nq1 0 d2 0\nq1 0 d3 1\nq2 0 d9 0\n")
      writeFileSync(join(dir, "a.run"), "q1 Q0 d2 1 0.9 t\nq1 Q0 d1 2 0.5 t\nq1 Q0 d3 3 0.5 t\nq2 Q0 d9 1 1 t\n")
      const r = yield* cli([
        "trec",
        "--qrels",
        join(dir, "a.qrels"),
        "--run",
        join(dir, "a.run"),
        "--per-query",
        "-m",
        "ndcg_cut.10"
      ])
      assert.strictEqual(r.code, 0, r.err)
      // q1: ranking d2 (0), then the 0.5 tie broken by id descending: d3 (1), d1 (2)
      const dcg = 1 / Math.log2(3) + 2 / Math.log2(4)
      const ideal = 2 + 1 / Math.log2(3)
      const lines = r.out.split("\n")
      assert.match(lines[0]!, new RegExp(`^ndcg_cut_10\\s+\\tq1\\t${(dcg / ideal).toFixed(4)}$`))
      assert.match(lines[1]!, /^ndcg_cut_10\s+\tq2\t0\.0000$/)
      assert.match(lines[2]!, new RegExp(`all\\t${(dcg / ideal / 2).toFixed(4)}$`))
    })
  )

  it.effect("trec takes trec_eval's measure names and -l, and matches trec_eval 10.0's golden vectors", () =>
    Effect.gen(function* () {
      const golden = JSON.parse(
        readFileSync(new URL("../../../fixtures/metrics/trec_measures.json", import.meta.url), "utf8")
      ) as {
        queries: Array<{ qid: string; qrels: Record<string, number>; run: Record<string, number> }>
        mean: Record<"1" | "2", Record<string, number>>
      }
      const qrels = join(dir, "golden.qrels")
      const run = join(dir, "golden.run")
      writeFileSync(
        qrels,
        golden.queries.flatMap((q) => Object.entries(q.qrels).map(([d, g]) => `${q.qid} 0 ${d} ${g}\n`)).join("")
      )
      writeFileSync(
        run,
        golden.queries
          .flatMap((q) => Object.entries(q.run).map(([d, v], i) => `${q.qid} Q0 ${d} ${i + 1} ${v} golden\n`))
          .join("")
      )
      const argv = ["-m", "map", "-m", "P.1,5,10", "-m", "recall.5,10,100", "-m", "recip_rank", "-m", "ndcg"]
      for (const level of ["1", "2"] as const) {
        const r = yield* cli(["trec", "--qrels", qrels, "--run", run, "-l", level, ...argv, "--json"])
        assert.strictEqual(r.code, 0, r.err)
        const parsed = JSON.parse(r.out) as { mean: Record<string, number>; relevanceLevel: number }
        assert.strictEqual(parsed.relevanceLevel, Number(level))
        for (const [name, expected] of Object.entries(golden.mean[level])) {
          const key = name.replace(/^P@/, "precision_at_").replace(/^recall@/, "recall_at_")
          assert.isAtMost(Math.abs(parsed.mean[key]! - expected), 1e-12, `${name} at -l ${level}`)
        }
      }
      // trec_eval's three columns, query by query with -q, then the means
      const text = yield* cli(["trec", "--qrels", qrels, "--run", run, "-q", "-m", "map", "-m", "P_10"])
      assert.strictEqual(text.code, 0, text.err)
      const lines = text.out.split("\n")
      assert.match(lines[0]!, /^map {19}\tqA\t0\.\d{4}$/)
      assert.match(lines[1]!, /^P_10 {18}\tqA\t0\.4000$/)
      assert.match(lines[2]!, /^map\s+\tqB\t/)
      assert.match(lines.at(-2)!, new RegExp(`^map\\s+\\tall\\t${golden.mean["1"].map!.toFixed(4)}$`))
      assert.match(lines.at(-1)!, /^P_10\s+\tall\t/)
      const badLevel = yield* cli(["trec", "--qrels", qrels, "--run", run, "-l", "0"])
      assert.strictEqual(badLevel.code, 2)
      assert.include(badLevel.err, "--level")
      const badMeasure = yield* cli(["trec", "--qrels", qrels, "--run", run, "-m", "bpref"])
      assert.strictEqual(badMeasure.code, 2)
      assert.include(badMeasure.err, "recip_rank")
    })
  )

  it.effect("pairs prints AP at thresholds, n/a when undefined, and rejects bad rows", () =>
    Effect.gen(function* () {
      writeFileSync(
        join(dir, "p.jsonl"),
        '{"label":0,"score":0.1}\n{"label":2,"score":0.4}\n{"label":1,"score":0.35}\n{"label":0,"score":0.8}\n'
      )
      const r = yield* cli(["pairs", "--input", join(dir, "p.jsonl"), "--json"])
      assert.strictEqual(r.code, 0, r.err)
      const parsed = JSON.parse(r.out) as Record<string, number | null>
      assert.isNull(parsed["ap@>=3"])
      assert.strictEqual(parsed["ap@>=2"], 0.5)
      const text = yield* cli(["pairs", "--input", join(dir, "p.jsonl")])
      assert.match(text.out, /ap@>=3\s+\tn\/a/)
      // a blank line before the bad row: the error names the file's line, not the row's index
      writeFileSync(
        join(dir, "bad.jsonl"),
        '{"label":0,"score":0.1}\n\n{"label":5,"score":0.4,"qid":"q7","did":"d1"}\n'
      )
      const bad = yield* cli(["pairs", "--input", join(dir, "bad.jsonl")])
      assert.strictEqual(bad.code, 3)
      assert.include(bad.err, "bad.jsonl:3: label:")
      assert.include(bad.err, "--grades N")
      assert.strictEqual(bad.err.split(join(dir, "bad.jsonl")).length, 2, `the path once: ${bad.err}`)
      const wide = yield* cli(["pairs", "--input", join(dir, "bad.jsonl"), "--grades", "5", "--json"])
      assert.strictEqual(wide.code, 0, wide.err)
      assert.containsAllKeys(JSON.parse(wide.out), ["ap@>=4", "ap@>=5"])
      writeFileSync(join(dir, "empty.jsonl"), "")
      const empty = yield* cli(["pairs", "--input", join(dir, "empty.jsonl")])
      assert.strictEqual(empty.code, 3)
      const usage = yield* cli(["trec", "--qrels", join(dir, "a.qrels")])
      assert.strictEqual(usage.code, 2)
    })
  )

  it.effect("bad suites and bad datasets fail with the file and id", () =>
    Effect.gen(function* () {
      const dupNames = yield* Effect.flip(
        Suite.parse(
          "name: s\ndatasets: [{ name: d, pairs: p.jsonl }]\nsystems: [{ name: a, kind: bm25 }, { name: a, kind: char-ngram }]",
          "s.yaml"
        )
      )
      assert.include(dupNames.message, "s.yaml: a: two systems share this name")
      const badKind = yield* Effect.flip(
        Suite.parse(
          '{"name":"s","datasets":[{"name":"d","pairs":"p"}],"systems":[{"name":"a","kind":"nope"}]}',
          "s.json"
        )
      )
      assert.include(badKind.message, "invalid suite")
      writeFileSync(
        join(dir, "off.jsonl"),
        readFileSync(join(dir, "pairs.jsonl"), "utf8").replace('"label": 0', '"label": 3')
      )
      writeFileSync(
        join(dir, "off.yaml"),
        "name: off\ndatasets: [{ name: d, pairs: off.jsonl, grades: 2 }]\nsystems: [{ name: a, kind: bm25 }]\n"
      )
      const off = yield* cli(["run", join(dir, "off.yaml")])
      assert.strictEqual(off.code, 3)
      assert.match(off.err, /off\.jsonl:\d+: qbqtc-q\w+\/qbqtc-d\w+: label 3 is outside the scale 0\.\.2/)
      const missing = yield* cli(["run", join(dir, "nope.yaml")])
      assert.strictEqual(missing.code, 7)
    })
  )
})
