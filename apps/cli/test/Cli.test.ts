import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { PipelineConfig } from "@ssra/pipeline"
import { unreachableBaseUrl } from "@ssra/test-support"
import { Effect } from "effect"
import { ConfigLoader, ExitCode } from "../src/index.js"
import { runCli, runSmall } from "./support/runCli.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-cli-"))
const write = (dir: string, name: string, rows: ReadonlyArray<unknown>) =>
  fs.writeFileSync(path.join(dir, name), rows.map((r) => JSON.stringify(r)).join("\n") + "\n")

// A small but real slice of the bundled Quark set (first rows of each file).
const sliceOfBundled = (dir: string, labeled = 160, unlabeled = 40) => {
  const data = path.resolve(import.meta.dirname, "../../../data/kuake_qtr")
  const take = (name: string, n: number) =>
    fs.readFileSync(path.join(data, name), "utf8").split("\n").filter(Boolean).slice(0, n).join("\n") + "\n"
  fs.writeFileSync(path.join(dir, "labeled.jsonl"), take("labeled.jsonl", labeled))
  fs.writeFileSync(path.join(dir, "unlabeled.jsonl"), take("unlabeled.jsonl", unlabeled))
  fs.writeFileSync(path.join(dir, "pair_test.jsonl"), take("pair_test.jsonl", 60))
  return dir
}

describe("ssra CLI", () => {
  it.effect("--help lists the commands and the exit codes; a command's help explains each flag with an example", () =>
    Effect.gen(function* () {
      const root = yield* runCli(["--help"])
      assert.strictEqual(root.code, 0)
      for (const word of ["run", "experiment", "demo", "estimate", "export", "serve", "merge", "data", "Exit codes"])
        assert.include(root.output, word)
      const run = yield* runCli(["run", "--help"])
      assert.strictEqual(run.code, 0)
      for (const flag of ["--config", "--data", "--run-dir", "--shard", "--dry-run"]) assert.include(run.output, flag)
      assert.include(run.output, "Example: --shard 2/4")
    })
  )

  it.effect("data convert: JSONL → Parquet → JSONL keeps every row; graded pairs → TREC qrels", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const source = path.join(sliceOfBundled(tmp()), "labeled.jsonl")
      const parquet = path.join(dir, "labeled.parquet")
      const back = path.join(dir, "labeled.jsonl")
      const qrels = path.join(dir, "qrels.trec")
      assert.strictEqual((yield* runCli(["data", "convert", "-i", source, "-o", parquet])).code, 0)
      assert.strictEqual((yield* runCli(["data", "convert", "-i", parquet, "-o", back])).code, 0)
      const rows = (file: string) =>
        fs
          .readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
      assert.deepStrictEqual(rows(back), rows(source))
      assert.strictEqual((yield* runCli(["data", "convert", "-i", source, "-o", qrels])).code, 0)
      const first = rows(source)[0]
      assert.strictEqual(fs.readFileSync(qrels, "utf8").split("\n")[0], `${first.qid} 0 ${first.did} ${first.label}`)
    })
  )

  it.effect("an unknown flag is a usage error (exit 2)", () =>
    Effect.gen(function* () {
      const r = yield* runCli(["data", "validate", "--bogus"])
      assert.strictEqual(r.code, ExitCode.codes.usage)
    })
  )

  it.effect("a --data folder that does not exist: exit 2 naming it and what a data folder holds", () =>
    Effect.gen(function* () {
      const missing = path.join(tmp(), "no-such-folder")
      const r = yield* runCli(["run", "--data", missing, "--run-dir", path.join(tmp(), "run")])
      assert.strictEqual(r.code, ExitCode.codes.usage)
      assert.include(r.output, `data directory ${missing} does not exist`)
      assert.include(r.output, "labeled.jsonl")
    })
  )

  it.effect("mismatched document ids between files: exit 3 naming both files", () =>
    Effect.gen(function* () {
      const dir = tmp()
      write(dir, "labeled.jsonl", [{ qid: "q1", did: "d1", query: "头疼", doc: "头疼怎么办", label: 3 }])
      write(dir, "unlabeled.jsonl", [{ qid: "q2", did: "d1", query: "头痛", doc: "另一个标题" }])
      const r = yield* runCli(["data", "validate", "--data", dir])
      assert.strictEqual(r.code, ExitCode.codes.input)
      assert.include(r.output, "document id d1 names two different texts")
      assert.include(r.output, "unlabeled.jsonl row 1")
    })
  )

  it.effect("an unlabeled pool with no overlap with the documents: exit 3 saying what to fix", () =>
    Effect.gen(function* () {
      const dir = tmp()
      write(dir, "documents.jsonl", [{ id: "d1", title: "头疼怎么办" }])
      write(dir, "labeled.jsonl", [{ qid: "q1", did: "d1", query: "头疼", doc: "头疼怎么办", label: 3 }])
      write(dir, "unlabeled.jsonl", [{ qid: "q2", did: "zz", query: "头痛", doc: "别的" }])
      const r = yield* runCli(["data", "validate", "--data", dir])
      assert.strictEqual(r.code, ExitCode.codes.input)
      assert.include(r.output, "none of its 1 pairs names a document")
    })
  )

  it.effect("data validate checks a folder the way a run reads it: no labeled.jsonl is exit 2", () =>
    Effect.gen(function* () {
      const dir = tmp()
      write(dir, "unlabeled.jsonl", [{ qid: "q2", did: "d1", query: "头痛", doc: "头痛怎么办" }])
      const r = yield* runCli(["data", "validate", "--data", dir])
      assert.strictEqual(r.code, ExitCode.codes.usage)
      assert.include(r.output, `${dir} has no labeled.jsonl (or .csv, .tsv), which a run needs`)
      assert.include(r.output, "--labeled FILE")
    })
  )

  it.effect("a file with a UTF-8 BOM: exit 3 naming --allow-bom, which reads it", () =>
    Effect.gen(function* () {
      const dir = sliceOfBundled(tmp())
      const file = path.join(dir, "labeled.jsonl")
      fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fs.readFileSync(file)]))
      const refused = yield* runCli(["data", "validate", "--data", dir])
      assert.strictEqual(refused.code, ExitCode.codes.input)
      assert.include(refused.output, "byte-order mark")
      assert.include(refused.output, "--allow-bom")
      const read = yield* runCli(["data", "validate", "--data", dir, "--allow-bom"])
      assert.strictEqual(read.code, 0, read.output)
      assert.include(read.output, "labeled.jsonl: 160 rows")
      const plan = yield* runCli(["run", "--data", dir, "--allow-bom", "--dry-run", "--run-dir", path.join(tmp(), "r")])
      assert.strictEqual(plan.code, 0, plan.output)
    })
  )

  it.effect("--scale: a label above it is exit 3; a lone top grade that widens the scale is a warning", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const rows = Array.from({ length: 200 }, (_, i) => ({
        qid: `q${i % 20}`,
        did: `d${i}`,
        query: `查询${i % 20}`,
        doc: `文档${i}`,
        label: i === 150 ? 3 : i % 3
      }))
      write(dir, "labeled.jsonl", rows)
      write(dir, "unlabeled.jsonl", [{ qid: "u", did: "d1", query: "查询", doc: "文档1" }])
      const warned = yield* runCli(["data", "validate", "--data", dir])
      assert.strictEqual(warned.code, 0, warned.output)
      assert.include(warned.output, "grade scale 0..3")
      assert.match(
        warned.output,
        /warning: grade 3 occurs in only 1 of 200 labeled rows \(first: .*labeled\.jsonl row 151\)/
      )
      const refused = yield* runCli(["data", "validate", "--data", dir, "--scale", "2"])
      assert.strictEqual(refused.code, ExitCode.codes.input)
      assert.include(refused.output, "row 151 has label 3, outside the configured scale 0..2")
      const plan = yield* runCli([
        "run",
        "--data",
        dir,
        "--scale",
        "2",
        "--dry-run",
        "--run-dir",
        path.join(tmp(), "r")
      ])
      assert.strictEqual(plan.code, ExitCode.codes.input)
    })
  )

  it.effect("paths of the wrong kind: a directory for a data file is exit 3, a file for --run-dir exit 2", () =>
    Effect.gen(function* () {
      const dir = sliceOfBundled(tmp())
      const other = sliceOfBundled(tmp())
      fs.rmSync(path.join(other, "labeled.jsonl"))
      fs.mkdirSync(path.join(other, "labeled.jsonl"))
      const asDir = yield* runCli(["data", "validate", "--data", other])
      assert.strictEqual(asDir.code, ExitCode.codes.input)
      assert.include(asDir.output, "is a directory, expected a file")
      assert.notInclude(asDir.output, "disk has space")
      const runDir = path.join(tmp(), "a-file")
      fs.writeFileSync(runDir, "not a directory")
      const asFile = yield* runCli(["run", "--data", dir, "--run-dir", runDir])
      assert.strictEqual(asFile.code, ExitCode.codes.usage)
      assert.include(asFile.output, `run directory ${runDir} is a file, not a directory`)
    })
  )

  it.effect("data convert of a file without grades names --kind unlabeled, not a flag it lacks", () =>
    Effect.gen(function* () {
      const dir = sliceOfBundled(tmp())
      const r = yield* runCli([
        "data",
        "convert",
        "-i",
        path.join(dir, "unlabeled.jsonl"),
        "-o",
        path.join(dir, "u.parquet")
      ])
      assert.strictEqual(r.code, ExitCode.codes.input)
      assert.include(r.output, "--kind unlabeled")
      assert.notInclude(r.output, "--skip-invalid")
      const ok = yield* runCli([
        "data",
        "convert",
        "-i",
        path.join(dir, "unlabeled.jsonl"),
        "-o",
        path.join(dir, "u.parquet"),
        "--kind",
        "unlabeled"
      ])
      assert.strictEqual(ok.code, 0, ok.output)
    })
  )

  it.effect("the shipped example config (examples/ssra.yaml) is valid and means what its comments say", () =>
    Effect.gen(function* () {
      const config = yield* ConfigLoader.resolve({
        file: path.resolve(import.meta.dirname, "../../../examples/ssra.yaml")
      })
      assert.strictEqual(config.data.dir, "data/kuake_qtr")
      assert.strictEqual(config.backends.scoreModel, "llm")
      assert.strictEqual(config.backends.llm?.apiKeyEnv, "MY_LLM_KEY")
      assert.strictEqual(config.stage2.judge, "llm")
      assert.strictEqual(config.training.dimensions, 128)
    })
  )

  it.effect(
    "every run trains the lexical channel with α selected on held-out data unless a config fixes or drops it",
    () =>
      Effect.gen(function* () {
        const auto: PipelineConfig.LexicalSection = {
          dimensions: 2048,
          weight: "auto",
          k1: 1.2,
          b: 0.75,
          heldOutFraction: 0.5,
          heldOutMinCandidates: 5
        }
        // run / experiment (defaults), demo (its base layer) and the shipped example
        assert.deepStrictEqual((yield* ConfigLoader.resolve({})).training.lexical, auto)
        const demo = yield* ConfigLoader.resolve({ base: PipelineConfig.demo("data/kuake_qtr", "runs/demo") })
        assert.deepStrictEqual(demo.training.lexical, auto)
        const example = yield* ConfigLoader.resolve({
          file: path.resolve(import.meta.dirname, "../../../examples/ssra.yaml")
        })
        assert.deepStrictEqual(example.training.lexical, auto)
        const dir = tmp()
        fs.writeFileSync(path.join(dir, "fixed.yaml"), "training:\n  lexical:\n    weight: 0.7\n")
        const fixed = yield* ConfigLoader.resolve({ file: path.join(dir, "fixed.yaml") })
        assert.deepStrictEqual(fixed.training.lexical, { ...auto, weight: 0.7 })
        fs.writeFileSync(path.join(dir, "off.yaml"), "training:\n  lexical: null\n")
        assert.isNull((yield* ConfigLoader.resolve({ file: path.join(dir, "off.yaml") })).training.lexical)
        fs.writeFileSync(path.join(dir, "bad.yaml"), "training:\n  lexical:\n    weight: best\n")
        const bad = yield* Effect.flip(ConfigLoader.resolve({ file: path.join(dir, "bad.yaml") }))
        assert.include(bad.message, `["training"]["lexical"]["weight"]`)
      })
  )

  it.effect("an invalid config file: exit 2 naming the field", () =>
    Effect.gen(function* () {
      const dir = tmp()
      fs.writeFileSync(path.join(dir, "ssra.yaml"), "seed: 3\ntraining:\n  epocs: 2\n")
      const r = yield* runCli([
        "run",
        "--config",
        path.join(dir, "ssra.yaml"),
        "--data",
        sliceOfBundled(tmp()),
        "--dry-run"
      ])
      assert.strictEqual(r.code, ExitCode.codes.usage)
      assert.include(r.output, "epocs")
    })
  )

  it.effect("--dry-run validates and prints the plan without writing anything", () =>
    Effect.gen(function* () {
      const runDir = path.join(tmp(), "run")
      const r = yield* runCli(["experiment", "--data", sliceOfBundled(tmp()), "--run-dir", runDir, "--dry-run"])
      assert.strictEqual(r.code, 0)
      assert.include(r.output, "synthesis:prompt-only")
      assert.include(r.output, "needs an LLM backend")
      assert.include(r.output, "lexical channel, α selected on a held-out 50% of the labeled queries")
      assert.isFalse(fs.existsSync(runDir))
      // with --skip-invalid and a bad row too: the rejects go nowhere near the run directory
      const data = sliceOfBundled(tmp())
      fs.appendFileSync(path.join(data, "labeled.jsonl"), '{"qid":"x","did":"y","query":"q","doc":"d","label":9}\n')
      const skip = yield* runCli(["estimate", "--data", data, "--run-dir", runDir, "--skip-invalid"])
      assert.strictEqual(skip.code, 0, skip.output)
      assert.isFalse(fs.existsSync(runDir))
    })
  )

  it.effect("an unreachable LLM endpoint fails before any work with exit 5", () =>
    Effect.gen(function* () {
      const runDir = path.join(tmp(), "run")
      // a port that was free a moment ago: nothing listens there
      const url = yield* Effect.promise(() => unreachableBaseUrl())
      const r = yield* runCli([
        "experiment",
        "--data",
        sliceOfBundled(tmp()),
        "--run-dir",
        runDir,
        "--llm-base-url",
        url,
        "--llm-model",
        "m"
      ])
      assert.strictEqual(r.code, ExitCode.codes.backendUnreachable)
      assert.include(r.output, `cannot reach the LLM endpoint ${url} (ECONNREFUSED)`)
      assert.include(r.output, "--llm-base-url")
    })
  )

  it.effect("a config naming a backend that is not configured: exit 4 before any work", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const runDir = path.join(dir, "run")
      fs.writeFileSync(path.join(dir, "llm.json"), JSON.stringify({ backends: { scoreModel: "llm" } }))
      const bad = yield* runCli([
        "run",
        "--config",
        path.join(dir, "llm.json"),
        "--data",
        sliceOfBundled(tmp()),
        "--run-dir",
        runDir
      ])
      assert.strictEqual(bad.code, ExitCode.codes.backendMissing)
      assert.include(bad.output, "no LLM backend is configured")
      assert.include(bad.output, "configure backends.llm")
      assert.isFalse(fs.existsSync(path.join(runDir, "artifacts")))
    })
  )

  it.effect("a run that fails mid-way keeps its finished stages: the fixed rerun reuses them", () =>
    Effect.gen(function* () {
      const data = sliceOfBundled(tmp())
      const dir = tmp()
      const runDir = path.join(dir, "run")
      const small = {
        queryModel: { maxTrainingDocs: 30, candidatesPerDoc: 6 },
        training: { dimensions: 16, buckets: 2048, epochs: 1, batchSize: 16 },
        synthesis: { documents: 0 }
      }
      fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ ...small, stage2: { grades: [3] } }))
      fs.writeFileSync(path.join(dir, "ok.json"), JSON.stringify(small))
      const bad = yield* runCli(["run", "--config", path.join(dir, "bad.json"), "--data", data, "--run-dir", runDir])
      assert.strictEqual(bad.code, ExitCode.codes.usage)
      assert.include(bad.output, "stage2.grades")
      assert.strictEqual(JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")).status, "failed")
      const good = yield* runCli([
        "stage",
        "--name",
        "stage2",
        "--config",
        path.join(dir, "ok.json"),
        "--data",
        data,
        "--run-dir",
        runDir
      ])
      assert.strictEqual(good.code, 0)
      const manifest = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
      const reused = Object.fromEntries(
        manifest.stages.map((s: { stage: string; reused: boolean }) => [s.stage, s.reused])
      )
      for (const stage of ["prepare", "train:base", "score-model", "stage1", "query-model:v1"])
        assert.isTrue(reused[stage], stage)
      assert.isFalse(reused.stage2)
    })
  )

  it.effect("run then export: sentence-transformers, FlagEmbedding, query-model and score-model SFT files", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const run = yield* runSmall(dir, ["--json"])
      const runDir = run.runDir
      assert.strictEqual(run.code, 0)
      const summary = JSON.parse(run.output.slice(run.output.indexOf("{")))
      assert.deepStrictEqual(summary.systems.map((s: { system: string }) => s.system).slice(0, 2), ["base", "ssra"])
      // the bundled unlabeled pool has one row with an empty title (line 3994): skipped, and said so
      assert.deepStrictEqual(summary.skipped, [{ kind: "unlabeled", rejected: 1 }])
      for (const f of [
        "model/model.safetensors",
        "score-model",
        "query-model",
        "manifest.json",
        "report/report.md",
        "report/report.html"
      ]) {
        assert.isTrue(fs.existsSync(path.join(runDir, f)), f)
      }
      const first = (file: string) => JSON.parse(fs.readFileSync(file, "utf8").split("\n")[0]!)
      const st = path.join(dir, "st.jsonl")
      assert.strictEqual(
        (yield* runCli(["export", "--run", runDir, "--format", "sentence-transformers", "--out", st])).code,
        0
      )
      assert.containsAllKeys(first(st), ["anchor", "positive", "score"])
      const fe = path.join(dir, "fe.jsonl")
      assert.strictEqual(
        (yield* runCli(["export", "--run", runDir, "--format", "flag-embedding", "--out", fe])).code,
        0
      )
      assert.containsAllKeys(first(fe), ["query", "pos", "neg"])
      for (const format of ["sft-query", "sft-score"]) {
        const out = path.join(dir, `${format}.jsonl`)
        assert.strictEqual((yield* runCli(["export", "--run", runDir, "--format", format, "--out", out])).code, 0)
        assert.isArray(first(out).messages)
      }
      const batch = path.join(dir, "batch.jsonl")
      assert.strictEqual(
        (yield* runCli(["export", "--run", runDir, "--format", "batch", "--model", "gpt-x", "--out", batch])).code,
        0
      )
      const request = first(batch)
      assert.strictEqual(request.url, "/v1/chat/completions")
      assert.strictEqual(request.body.model, "gpt-x")
      assert.match(request.custom_id, /\/[123]$/)
      const missing = yield* runCli([
        "export",
        "--run",
        dir,
        "--format",
        "sft-score",
        "--out",
        path.join(dir, "x.jsonl")
      ])
      assert.strictEqual(missing.code, ExitCode.codes.input)
      assert.include(missing.output, "has no complete prepare artifact")
    })
  )

  it.effect(
    "--split-test holds out labeled queries as the test set; bad fractions and conflicts are clear errors",
    () =>
      Effect.gen(function* () {
        const data = sliceOfBundled(tmp(), 1200, 40)
        const dir = tmp()
        const runDir = path.join(dir, "run")
        const cfg = path.join(dir, "ssra.yaml")
        fs.writeFileSync(cfg, "evaluation:\n  minCandidates: 5\n")
        const args = ["run", "--data", data, "--run-dir", runDir, "--dry-run"]
        const ok = yield* runCli([...args, "--config", cfg, "--split-test", "0.3", "--json"])
        assert.strictEqual(ok.code, 0)
        const out = JSON.parse(ok.output)
        assert.deepStrictEqual(out.config.data.split, { testFraction: 0.3 })
        assert.strictEqual(out.split.seed, 42)
        assert.strictEqual(out.split.minCandidates, 5)
        assert.isAbove(out.split.retrievalQueries, 0)
        assert.strictEqual(out.split.trainRows + out.split.testRows, 1200)
        assert.isFalse(fs.existsSync(runDir))
        const text = yield* runCli([...args, "--config", cfg, "--split-test", "0.3", "--seed", "5"])
        assert.strictEqual(text.code, 0)
        assert.include(text.output, "split (seed 5, test fraction 0.3)")
        assert.include(text.output, "not read:")
        const outside = yield* runCli([...args, "--split-test", "1.5"])
        assert.strictEqual(outside.code, ExitCode.codes.usage)
        assert.include(outside.output, "testFraction")
        const fewCandidates = yield* runCli([...args, "--split-test", "0.3"])
        assert.strictEqual(fewCandidates.code, ExitCode.codes.input)
        assert.include(fewCandidates.output, "retrieval test would be empty")
        fs.writeFileSync(cfg, `data:\n  pairTest: ${path.join(data, "pair_test.jsonl")}\n`)
        const conflict = yield* runCli([...args, "--config", cfg, "--split-test", "0.3"])
        assert.strictEqual(conflict.code, ExitCode.codes.usage)
        assert.include(conflict.output, "test files are named too")
      })
  )
})
