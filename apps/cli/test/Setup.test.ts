/**
 * A new user's set-ups that used to run to the end with an empty or wrong result (issue 15): each is now found
 * before any work — by `data validate`, `--dry-run`, or the run itself before training — with the exit code and a
 * message naming the config key and the flag that fixes it.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { startOpenAiServer, unreachableBaseUrl } from "@ssra/test-support"
import { Effect } from "effect"
import { HttpServerError } from "effect/http"
import { Duration, ExitCode, ProgressView } from "../src/index.js"
import { runCli } from "./support/runCli.js"

const jsonl = (rows: ReadonlyArray<unknown>) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`

/** `queries` labeled queries × `perQuery` documents (grades 0..3), a click log, and test files as asked. */
const makeSet = (options: {
  readonly queries?: number
  readonly perQuery?: number
  /** retrieval test over the same documents as training (every document is then a test document) */
  readonly testOnTrainingDocs?: boolean
  /** retrieval test with its own documents, this many candidates per query */
  readonly ownTestCandidates?: number
  readonly noTests?: boolean
}) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-setup-"))
  const queries = options.queries ?? 8
  const perQuery = options.perQuery ?? 5
  const labeled = []
  for (let q = 0; q < queries; q++)
    for (let d = 0; d < perQuery; d++)
      labeled.push({ qid: `q${q}`, did: `d${q}-${d}`, query: `query ${q}`, doc: `document ${q} ${d}`, label: d % 4 })
  const unlabeled = labeled.slice(0, 10).map((p, i) => ({ qid: `u${i}`, did: p.did, query: `click ${i}`, doc: p.doc }))
  fs.writeFileSync(path.join(dir, "labeled.jsonl"), jsonl(labeled))
  fs.writeFileSync(path.join(dir, "unlabeled.jsonl"), jsonl(unlabeled))
  if (options.testOnTrainingDocs)
    fs.writeFileSync(
      path.join(dir, "retrieval_test.jsonl"),
      jsonl(labeled.map((p) => ({ ...p, qid: `t${p.qid}`, query: `test ${p.query}` })))
    )
  if (options.ownTestCandidates !== undefined) {
    const rows = []
    for (let q = 0; q < 4; q++)
      for (let d = 0; d < options.ownTestCandidates; d++)
        rows.push({
          qid: `t${q}`,
          did: `td${q}-${d}`,
          query: `test ${q}`,
          doc: `test document ${q} ${d}`,
          label: d % 4
        })
    fs.writeFileSync(path.join(dir, "retrieval_test.jsonl"), jsonl(rows))
  }
  return dir
}

const run = (dir: string, ...extra: ReadonlyArray<string>) =>
  runCli(["run", "--data", dir, "--run-dir", path.join(dir, "run"), ...extra])

describe("ssra set-up checks", () => {
  it.effect("item 1: every training document is a test document → the plan counts 0, dry run and run stop", () =>
    Effect.gen(function* () {
      const dir = makeSet({ testOnTrainingDocs: true })
      const dry = yield* run(dir, "--dry-run")
      assert.strictEqual(dry.code, 3, dry.output)
      assert.include(dry.output, "synthesis has no document to write queries for")
      assert.include(dry.output, "--allow-no-synthesis")
      assert.notMatch(dry.output, /\| synthesis \|/, "no synthesis stage is planned over 0 documents")
      const real = yield* run(dir)
      assert.strictEqual(real.code, 3, real.output)
      assert.include(real.output, "test documents are excluded from synthesis")
      assert.include(real.output, "nothing was trained yet")
      assert.isFalse(fs.existsSync(path.join(dir, "run", "model")))
      const allowed = yield* run(dir, "--dry-run", "--allow-no-synthesis", "--min-candidates", "5")
      assert.strictEqual(allowed.code, 0, allowed.output)
    })
  )

  it.effect("item 1: some documents excluded → a warning with the counts, and the plan's real number", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 10 })
      // a test row on one training document: that document is excluded
      fs.appendFileSync(
        path.join(dir, "retrieval_test.jsonl"),
        jsonl([{ qid: "t0", did: "d0-0", query: "test 0", doc: "document 0 0", label: 1 }])
      )
      const dry = yield* run(dir, "--dry-run")
      assert.strictEqual(dry.code, 0, dry.output)
      assert.include(dry.output, "synthesis will write for 39 documents, not the 40 requested")
    })
  )

  it.effect("item 2: no test files and no --split-test → refused before training, pointing at --split-test", () =>
    Effect.gen(function* () {
      const dir = makeSet({ noTests: true })
      const dry = yield* run(dir, "--dry-run")
      assert.strictEqual(dry.code, 3, dry.output)
      assert.include(dry.output, "no test set")
      assert.include(dry.output, "--split-test 0.2")
      const real = yield* run(dir)
      assert.strictEqual(real.code, 3, real.output)
      assert.include(real.output, "--no-eval")
      assert.isFalse(fs.existsSync(path.join(dir, "run", "model")))
      const noEval = yield* run(dir, "--dry-run", "--no-eval")
      assert.strictEqual(noEval.code, 0, noEval.output)
    })
  )

  it.effect("item 3: retrieval tests with < 10 candidates per query → validate, dry run and run say so", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 6 })
      const validate = yield* runCli(["data", "validate", "--data", dir])
      assert.strictEqual(validate.code, 3, validate.output)
      assert.include(validate.output, "evaluation.minCandidates = 10")
      assert.include(validate.output, "--min-candidates 6")
      assert.strictEqual((yield* runCli(["data", "validate", "--data", dir, "--min-candidates", "6"])).code, 0)
      const dry = yield* run(dir, "--dry-run")
      assert.strictEqual(dry.code, 3, dry.output)
      assert.include(dry.output, "--min-candidates")
      const real = yield* run(dir)
      assert.strictEqual(real.code, 3, real.output)
      assert.include(real.output, "evaluation.minCandidates")
      assert.isFalse(fs.existsSync(path.join(dir, "run", "model")))
      assert.strictEqual((yield* run(dir, "--dry-run", "--min-candidates", "6")).code, 0)
    })
  )

  it.effect("item 11: a small labeled set → a warning with the pair count", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 10 })
      const dry = yield* run(dir, "--dry-run")
      assert.strictEqual(dry.code, 0, dry.output)
      assert.include(dry.output, "only 40 labeled pairs (8 queries)")
      assert.include(dry.output, "noisy")
    })
  )

  it.effect("item 4: an endpoint no stage uses → a warning naming the flag that would use it", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 10 })
      const dry = yield* run(
        dir,
        "--dry-run",
        "--llm-base-url",
        "http://127.0.0.1:9/v1",
        "--llm-model",
        "m",
        "--score-model-endpoint",
        "http://127.0.0.1:9/v1#s"
      )
      assert.strictEqual(dry.code, 0, dry.output)
      assert.include(dry.output, "no stage of this run uses it: pass --score-model llm")
      assert.include(dry.output, "--judge llm")
      assert.include(dry.output, "pass --score-model fine-tuned")
    })
  )

  it.effect("item 4: a stage's endpoint is checked before any work: closed port → exit 5; a server → passes", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 10 })
      const closed = yield* Effect.promise(() => unreachableBaseUrl())
      const down = yield* run(dir, "--score-model", "fine-tuned", "--score-model-endpoint", `${closed}#score`)
      assert.strictEqual(down.code, 5, down.output)
      assert.include(down.output, closed)
      assert.include(down.output, "--score-model-endpoint")
      assert.include(down.output, "nothing was run yet")
      assert.isFalse(fs.existsSync(path.join(dir, "run", "model")))
      const llmDown = yield* run(dir, "--score-model", "llm", "--llm-base-url", closed, "--llm-model", "m")
      assert.strictEqual(llmDown.code, 5, llmDown.output)
      assert.include(llmDown.output, `cannot reach the LLM endpoint ${closed}`)
      // with a server listening the check passes, and the run goes on to its next check (no test set here)
      const server = yield* Effect.promise(() => startOpenAiServer())
      const noTests = makeSet({ noTests: true })
      const up = yield* run(noTests, "--score-model", "llm", "--llm-base-url", server.baseUrl, "--llm-model", "m")
      yield* Effect.promise(() => server.close())
      assert.strictEqual(up.code, 3, up.output)
      assert.include(up.output, "no test set")
      assert.strictEqual(server.calls(), 0, "no model call before the set-up checks")
    })
  )
})

describe("ssra small things (item 8)", () => {
  it.effect("an unknown flag prints the error and a pointer to --help, not the help", () =>
    Effect.gen(function* () {
      const { code, output } = yield* runCli(["run", "--bogus"])
      assert.strictEqual(code, 2)
      assert.include(output, "Unrecognized flag: --bogus")
      assert.include(output, "ssra run --help")
      assert.notInclude(output, "DESCRIPTION")
    })
  )

  it.effect("--labeled naming a missing file is a usage error (exit 2), like a missing --data folder", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 10 })
      const missing = path.join(dir, "nope.jsonl")
      const ran = yield* run(dir, "--labeled", missing, "--dry-run")
      assert.strictEqual(ran.code, 2, ran.output)
      assert.include(ran.output, `--labeled ${missing} does not exist`)
      assert.notInclude(ran.output, "ENOENT")
      const validated = yield* runCli(["data", "validate", "--labeled", missing])
      assert.strictEqual(validated.code, 2, validated.output)
    })
  )

  it.effect(
    "data validate --skip-invalid writes nothing into the current folder, and rejects only when there are",
    () =>
      Effect.gen(function* () {
        const dir = makeSet({ ownTestCandidates: 10 })
        const cwd = process.cwd()
        const here = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-cwd-"))
        process.chdir(here)
        const clean = yield* runCli(["data", "validate", "--data", dir, "--skip-invalid"]).pipe(
          Effect.ensuring(Effect.sync(() => process.chdir(cwd)))
        )
        assert.strictEqual(clean.code, 0, clean.output)
        assert.deepStrictEqual(fs.readdirSync(here), [])
        fs.appendFileSync(path.join(dir, "labeled.jsonl"), `${JSON.stringify({ qid: "x", did: "y", query: "q" })}\n`)
        const rejects = path.join(dir, "rejects")
        const dirty = yield* runCli(["data", "validate", "--data", dir, "--skip-invalid", "--rejects-dir", rejects])
        assert.strictEqual(dirty.code, 0, dirty.output)
        assert.include(dirty.output, `skipped 1 invalid rows of labeled (reasons in ${rejects})`)
        assert.deepStrictEqual(fs.readdirSync(rejects), ["labeled.jsonl.rejects.jsonl"])
      })
  )

  it.effect("data convert into a missing folder is an error, and creates nothing", () =>
    Effect.gen(function* () {
      const dir = makeSet({})
      const out = path.join(dir, "missing", "dir", "x.parquet")
      const { code, output } = yield* runCli(["data", "convert", "-i", path.join(dir, "labeled.jsonl"), "-o", out])
      assert.strictEqual(code, 2, output)
      assert.include(output, "does not exist")
      assert.isFalse(fs.existsSync(path.join(dir, "missing")))
    })
  )

  it.effect("numeric qids and dids are read as strings; a JSON array file says what it is", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-ids-"))
      const rows = [0, 1, 2, 3].map((i) => ({ qid: 7, did: 100 + i, query: "q", doc: `doc ${i}`, label: i }))
      fs.writeFileSync(path.join(dir, "labeled.jsonl"), jsonl(rows))
      const ok = yield* runCli(["data", "validate", "--labeled", path.join(dir, "labeled.jsonl")])
      assert.strictEqual(ok.code, 0, ok.output)
      fs.writeFileSync(path.join(dir, "array.jsonl"), JSON.stringify(rows, null, 2))
      const array = yield* runCli(["data", "validate", "--labeled", path.join(dir, "array.jsonl")])
      assert.strictEqual(array.code, 3, array.output)
      assert.include(array.output, "this is a JSON array, not JSON Lines")
      assert.include(array.output, "jq -c '.[]'")
    })
  )

  it.effect("--version is the package's version", () =>
    Effect.gen(function* () {
      const { output } = yield* runCli(["--version"])
      const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../package.json"), "utf8"))
      assert.include(output, `v${pkg.version}`)
    })
  )

  it.effect("the plan table has as many cells as headers, human times and costs in USD", () =>
    Effect.gen(function* () {
      const dir = makeSet({ ownTestCandidates: 10 })
      const server = "http://127.0.0.1:9/v1"
      const { code, output } = yield* runCli([
        "estimate",
        "--data",
        dir,
        "--llm-base-url",
        server,
        "--llm-model",
        "m",
        "--score-model",
        "llm"
      ])
      assert.strictEqual(code, 0, output)
      const rows = output.split("\n").filter((l) => l.startsWith("|"))
      const cells = (l: string) => l.split("|").length
      assert.isAbove(rows.length, 3)
      for (const row of rows) assert.strictEqual(cells(row), cells(rows[0]!), row)
      assert.match(output, /\| \d+\.\d\d USD \|/)
      assert.notMatch(output, /\| \d+ s \|.*\| \d{3,} s \|/)
    })
  )

  it.effect("serve on a busy port names the cause and what to do", () =>
    Effect.gen(function* () {
      const first = net.createServer()
      yield* Effect.promise(() => new Promise<void>((ok) => first.listen(0, "127.0.0.1", () => ok())))
      const port = (first.address() as net.AddressInfo).port
      const cause = yield* Effect.promise(
        () =>
          new Promise<Error>((ok) => {
            const second = net.createServer()
            second.once("error", ok)
            second.listen(port, "127.0.0.1")
          })
      )
      first.close()
      const { code, message } = ExitCode.classify(new HttpServerError.ServeError({ cause }))
      assert.strictEqual(code, 7)
      assert.include(message, `cannot serve: listen EADDRINUSE: address already in use 127.0.0.1:${port}`)
      assert.include(message, "another process listens on that port")
    })
  )

  it("a progress bar on a narrow terminal cuts the stage name, never the ETA's unit", () => {
    const out: Array<string> = []
    let t = 0
    const view = ProgressView.make({ write: (s: string) => out.push(s), isTTY: true, columns: 60 }, () => t)
    view.emit({ type: "progress", stage: "query-model:v2", task: "candidates", done: 0, total: 90, unit: "docs" })
    t += 1000
    view.emit({ type: "progress", stage: "query-model:v2", task: "candidates", done: 1, total: 90, unit: "docs" })
    assert.match(out.at(-1)!, /ETA 1 min 29 s$/)
  })

  it("durations are written in human units", () => {
    assert.strictEqual(Duration.human(2), "2 s")
    assert.strictEqual(Duration.human(200), "3 min 20 s")
    assert.strictEqual(Duration.human(3600 + 300), "1 h 05 min")
    assert.strictEqual(Duration.human(Number.NaN), "?")
  })
})

describe("ssra bins (item 9)", () => {
  const root = path.resolve(import.meta.dirname, "../../..")
  const preload = path.join(import.meta.dirname, "support", "old-node-preload.mjs")
  for (const bin of ["apps/cli/dist/bin.js", "apps/server/dist/bin.js", "apps/eval-runner/dist/bin.js"])
    it(`${bin} checks the Node version before loading anything`, () => {
      const old = spawnSync(process.execPath, ["--import", preload, path.join(root, bin), "--version"], {
        encoding: "utf8"
      })
      assert.strictEqual(old.status, 2, old.stderr)
      assert.include(old.stderr, "needs Node >=22.19, but it runs under Node 20.11.1")
      assert.include(old.stderr, "source scripts/bootstrap.sh")
      assert.strictEqual(old.stdout, "")
      const current = spawnSync(process.execPath, [path.join(root, bin), "--version"], { encoding: "utf8" })
      assert.strictEqual(current.status, 0, current.stderr)
      assert.match(current.stdout, /v0\.1\.0/)
    })

  it("SIGTERM stops a run through the bin wrapper: exit 143, the manifest says interrupted", async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-sigterm-"))
    const child = spawn(
      process.execPath,
      [
        path.join(root, "apps/cli/dist/bin.js"),
        "demo",
        "--data",
        path.join(root, "data/kuake_qtr"),
        "--run-dir",
        runDir
      ],
      { stdio: ["ignore", "ignore", "pipe"] }
    )
    // once the pipeline has started a stage (the real entry is loaded and working), ask it to stop
    await new Promise<void>((ok) => {
      child.stderr.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes('"stage-start"')) ok()
      })
    })
    child.kill("SIGTERM")
    const code = await new Promise<number | null>((ok) => child.on("exit", (c) => ok(c)))
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
    fs.rmSync(runDir, { recursive: true, force: true })
    assert.strictEqual(code, 143)
    assert.strictEqual(manifest.status, "interrupted")
  }, 120_000)
})
