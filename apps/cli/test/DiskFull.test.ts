/**
 * The real `ssra` executable on a disk that fills up partway. A preload (test/support/disk-full-preload.mjs) wraps
 * `fs.writeSync`/`fs.writeFileSync` so writes under the run directory fail with ENOSPC once a byte budget is spent
 * — after a short write, as a real disk does. The promises checked: exit code 7 with a message naming the path and
 * saying to check the disk; no half or temp file anywhere; every finished stage still validates; and the same
 * command, once there is space, resumes from the finished stages to exactly the result of a run that never failed.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const cliDir = path.resolve(import.meta.dirname, "..")
const bin = path.join(cliDir, "src", "bin.ts")
const preload = path.join(import.meta.dirname, "support", "disk-full-preload.mjs")
const dataDir = path.resolve(cliDir, "../../data/kuake_qtr")

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-diskfull-"))
const configFile = path.join(root, "ssra.json")

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `ssra`; with `disk`, writes under `disk.dir` fail with ENOSPC after `disk.bytes` (and are logged to `log`). */
const ssra = (
  args: ReadonlyArray<string>,
  disk?: { readonly dir: string; readonly bytes: number; readonly log?: string }
): Result => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }
  delete env.SSRA_DISK_FULL_DIR
  delete env.SSRA_DISK_FULL_BYTES
  delete env.SSRA_DISK_FULL_LOG
  if (disk !== undefined) {
    env.SSRA_DISK_FULL_DIR = disk.dir
    env.SSRA_DISK_FULL_BYTES = String(disk.bytes)
    if (disk.log !== undefined) env.SSRA_DISK_FULL_LOG = disk.log
  }
  const r = spawnSync(
    process.execPath,
    ["--conditions=@ssra/source", "--import", "tsx", "--import", preload, bin, ...args],
    { cwd: cliDir, env, encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }
  )
  if (r.error !== undefined) throw r.error
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const runArgs = (runDir: string) => [
  "run",
  "--config",
  configFile,
  "--data",
  dataDir,
  "--skip-invalid",
  "--run-dir",
  runDir,
  "--json"
]

const walk = (dir: string): Array<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? [path.join(dir, e.name), ...walk(path.join(dir, e.name))] : [path.join(dir, e.name)]
    )

/**
 * What a write in progress leaves: AtomicFile's `.<name>.<pid>.<hex>.tmp`, a checkpoint directory's `.<name>.tmp-*`
 * and a checkpoint copy's `<name>.tmp-<pid>` — any of them after the process ended is a leak.
 */
const leftovers = (runDir: string) => walk(runDir).filter((p) => /\.tmp($|-)/.test(path.basename(p)))

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

interface ArtifactRecord {
  readonly stage: string
  readonly key: string
  readonly files: ReadonlyArray<{ readonly path: string; readonly sha256: string; readonly bytes: number }>
}

/** Artifact directories with a record (= finished), each checked against its record: every file, hash and size. */
const finishedArtifacts = (runDir: string): Map<string, ArtifactRecord> => {
  const out = new Map<string, ArtifactRecord>()
  const artifacts = path.join(runDir, "artifacts")
  if (!fs.existsSync(artifacts)) return out
  for (const name of fs.readdirSync(artifacts).sort()) {
    const recordFile = path.join(artifacts, name, "artifact.json")
    if (!fs.existsSync(recordFile)) continue
    const record = JSON.parse(fs.readFileSync(recordFile, "utf8")) as ArtifactRecord
    assert.strictEqual(name, `${record.stage}-${record.key}`, recordFile)
    for (const f of record.files) {
      const file = path.join(artifacts, name, f.path)
      assert.isTrue(fs.existsSync(file), `${file} is listed by its finished artifact`)
      assert.strictEqual(fs.statSync(file).size, f.bytes, file)
      assert.strictEqual(sha256(file), f.sha256, file)
    }
    out.set(name, record)
  }
  return out
}

/** Every JSON file parses; every line of every JSONL file parses (nothing half-written under a final name). */
const assertEveryFileParses = (runDir: string) => {
  let checked = 0
  for (const file of walk(runDir)) {
    if (file.endsWith(".jsonl")) {
      const text = fs.readFileSync(file, "utf8")
      assert.isTrue(text === "" || text.endsWith("\n"), `${file} ends with a complete line`)
      for (const line of text.split("\n").filter(Boolean)) JSON.parse(line)
      checked++
    } else if (file.endsWith(".json")) {
      JSON.parse(fs.readFileSync(file, "utf8"))
      checked++
    }
  }
  return checked
}

/** Content of a finished run: every artifact's file hashes, the served checkpoints and the results, byte for byte. */
const snapshot = (runDir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, record] of finishedArtifacts(runDir))
    for (const f of record.files) out[`artifacts/${name}/${f.path}`] = f.sha256
  for (const dir of ["model", "score-model", "query-model"])
    for (const f of fs.readdirSync(path.join(runDir, dir)).sort())
      out[`${dir}/${f}`] = sha256(path.join(runDir, dir, f))
  out["report/results.json"] = sha256(path.join(runDir, "report", "results.json"))
  return out
}

const summaryOf = (r: Result) => JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { systems: unknown }

interface ManifestStage {
  readonly stage: string
  readonly key: string
  readonly dir: string
  readonly reused: boolean
}
const manifestOf = (runDir: string) =>
  JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as {
    status: string
    stages: ReadonlyArray<ManifestStage>
  }

/** Bytes the reference run wrote under its run directory, write by write, in order (from the preload's log). */
let writes: Array<{ readonly bytes: number; readonly file: string }> = []
let reference: { readonly runDir: string; readonly result: Result; readonly snapshot: Record<string, string> }

/**
 * Runs with the disk filling after `budget` bytes and checks what a failed run must leave; returns the names of
 * the finished artifacts it left.
 */
const failOnFullDisk = (runDir: string, budget: number) => {
  const failed = ssra(runArgs(runDir), { dir: runDir, bytes: budget })
  assert.strictEqual(failed.code, 7, failed.stderr.slice(-2000))
  const message = failed.stderr
    .split("\n")
    .filter((l) => !l.startsWith("{"))
    .join("\n")
  assert.include(message, "ENOSPC")
  assert.include(message, "disk has space")
  // the error is the failing stage's own (not the failure to record it in manifest.json afterwards)
  assert.match(message, /error: \[[a-z0-9:-]+\] /)
  // the failing file is named by its path inside the run directory
  assert.match(message, new RegExp(`${runDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${path.sep}\\S+`))
  assert.notInclude(message, "internal error")
  assert.notInclude(message, "invalid input")
  assert.deepStrictEqual(leftovers(runDir), [])
  assert.isAbove(assertEveryFileParses(runDir), 0)
  const finished = finishedArtifacts(runDir)
  // every stage the manifest records as done has its complete, valid artifact
  const manifest = manifestOf(runDir)
  assert.notStrictEqual(manifest.status, "complete")
  for (const s of manifest.stages) {
    assert.isTrue(finished.has(`${s.stage}-${s.key}`), `manifest stage ${s.stage} has a finished artifact`)
    assert.strictEqual(s.dir, path.join(runDir, "artifacts", `${s.stage}-${s.key}`))
  }
  return finished
}

/** Reruns the same command with space; checks it reused exactly the finished stages and matches the reference. */
const resume = (runDir: string, finished: Map<string, ArtifactRecord>) => {
  const again = ssra(runArgs(runDir))
  assert.strictEqual(again.code, 0, again.stderr.slice(-2000))
  const manifest = manifestOf(runDir)
  assert.strictEqual(manifest.status, "complete")
  const reused = manifest.stages.filter((s) => s.reused).map((s) => `${s.stage}-${s.key}`)
  assert.sameMembers(reused, [...finished.keys()])
  // the progress stream says the same: those stages ended as skipped, the others were built
  const ends = again.stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string; stage: string; skipped?: boolean })
    .filter((e) => e.type === "stage-end")
  assert.sameMembers(
    ends.filter((e) => e.skipped).map((e) => e.stage),
    [...finished.values()].map((r) => r.stage)
  )
  assert.isTrue(
    ends.some((e) => e.skipped === false),
    "the stages the full disk stopped were built"
  )
  assert.deepStrictEqual(summaryOf(again).systems, summaryOf(reference.result).systems)
  assert.deepStrictEqual(snapshot(runDir), reference.snapshot)
  assert.deepStrictEqual(leftovers(runDir), [])
}

describe("ssra run on a full disk", () => {
  beforeAll(() => {
    // the smallest real run (the pipeline's tiny fixture): a slice of the bundled Quark set, tiny models
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        seed: 7,
        data: { sample: { labeledQueries: 60, unlabeledRows: 40, retrievalQueries: 6, pairRows: 80 } },
        queryModel: { maxTrainingDocs: 40, candidatesPerDoc: 8 },
        stage2: { documents: 16 },
        synthesis: { documents: 28 },
        training: { dimensions: 16, buckets: 2048, epochs: 1, batchSize: 16 },
        evaluation: { bootstrapSamples: 50 },
        generation: { chunkSize: 4 }
      })
    )
    // the reference: a run that never hits the fault (the preload only logs its writes)
    const runDir = path.join(root, "reference")
    const log = path.join(root, "writes.log")
    const result = ssra(runArgs(runDir), { dir: runDir, bytes: Number.MAX_SAFE_INTEGER, log })
    assert.strictEqual(result.code, 0, result.stderr.slice(-2000))
    writes = fs
      .readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [bytes, file] = l.split("\t")
        return { bytes: Number(bytes), file: file! }
      })
    reference = { runDir, result, snapshot: snapshot(runDir) }
  }, 120_000)
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

  it("halfway through the run: exit 7 naming the file and the disk, nothing half-written; the rerun resumes to the same result", () => {
    const total = writes.reduce((n, w) => n + w.bytes, 0)
    const runDir = path.join(root, "half")
    const finished = failOnFullDisk(runDir, Math.floor(total / 2))
    // the budget lands after some stages finished and before others
    assert.includeMembers(
      [...finished.values()].map((r) => r.stage),
      ["prepare", "train:base", "score-model"]
    )
    assert.isBelow(finished.size, finishedArtifacts(reference.runDir).size)
    resume(runDir, finished)
  })

  it("in the middle of the first model checkpoint (safetensors): no partial checkpoint is kept; the rerun resumes", () => {
    // the budget runs out halfway through writing the first model.safetensors
    let before = 0
    const index = writes.findIndex((w) => {
      if (path.basename(w.file).includes("model.safetensors")) return true
      before += w.bytes
      return false
    })
    assert.isAtLeast(index, 0, "the reference run wrote a safetensors checkpoint")
    const runDir = path.join(root, "checkpoint")
    const finished = failOnFullDisk(runDir, before + Math.floor(writes[index]!.bytes / 2))
    const stages = [...finished.values()].map((r) => r.stage)
    assert.include(stages, "prepare")
    assert.notInclude(stages, "train:base")
    // the stage being trained left no model file at all: neither under its final name nor as a temp
    const trainDirs = fs.readdirSync(path.join(runDir, "artifacts")).filter((n) => n.startsWith("train:base-"))
    for (const name of trainDirs)
      assert.deepStrictEqual(
        walk(path.join(runDir, "artifacts", name)).filter((p) => p.endsWith(".safetensors")),
        []
      )
    resume(runDir, finished)
  })

  it("data convert to a full disk: exit 7 says it is an I/O error on the output file, not bad input; no file left", () => {
    const dir = path.join(root, "convert")
    fs.mkdirSync(dir)
    // JSONL goes through the line writer (as TREC does); Parquet has its own writer
    for (const name of ["out.jsonl", "out.parquet"]) {
      const out = path.join(dir, name)
      const r = ssra(["data", "convert", "-i", path.join(dataDir, "labeled.jsonl"), "-o", out], {
        dir,
        bytes: 3000
      })
      assert.strictEqual(r.code, 7, r.stderr)
      assert.include(r.stderr, `I/O error: ${out}`)
      assert.include(r.stderr, "ENOSPC")
      assert.include(r.stderr, "disk has space")
      assert.notInclude(r.stderr, "invalid input")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }
  })
})
