/**
 * Ctrl-C and SIGTERM on the real `ssra` executable, mid-stage: it stops, exits 130 (SIGINT) or 143 (SIGTERM) with
 * one line saying to rerun, the manifest says `interrupted` and records the invocation, and the same command then
 * resumes from the finished stages and completes, its report counting every invocation's time.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { smallRunArgs } from "./support/runCli.js"

const cliDir = path.resolve(import.meta.dirname, "..")
const bin = path.join(cliDir, "src", "bin.ts")
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-interrupt-"))
const args = ["run", ...smallRunArgs(root)]
const runDir = path.join(root, "run")

interface Result {
  readonly code: number | null
  readonly stderr: string
  readonly stdout: string
  /** Milliseconds from the signal to the process's exit (printed, not asserted). */
  readonly stopMs: number | null
}

/** Runs `ssra run` on the small set; with `signal`, sends it once stage `at` has started. */
const ssra = (signal?: { readonly name: "SIGINT" | "SIGTERM"; readonly at: string }) =>
  new Promise<Result>((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@ssra/source", "--import", "tsx", bin, ...args], {
      cwd: cliDir,
      env: { ...process.env, NO_COLOR: "1" }
    })
    let stderr = ""
    let stdout = ""
    let sentAt: number | undefined
    child.stdout.on("data", (d) => {
      stdout += String(d)
    })
    child.stderr.on("data", (d) => {
      stderr += String(d)
      // not a terminal: progress comes as JSON lines
      if (
        signal !== undefined &&
        sentAt === undefined &&
        stderr.includes(`"type":"stage-start","stage":"${signal.at}"`)
      ) {
        sentAt = performance.now()
        child.kill(signal.name)
      }
    })
    child.on("error", reject)
    child.on("close", (code) =>
      resolve({ code, stderr, stdout, stopMs: sentAt === undefined ? null : Math.round(performance.now() - sentAt) })
    )
  })

const manifest = () =>
  JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as {
    status: string
    error?: string
    invocations: Array<{ outcome: string; durationMs: number; endedAt?: string }>
  }

afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

describe("ssra run interrupted", () => {
  it("SIGINT mid-stage: exit 130, one line, manifest interrupted", { timeout: 240_000 }, async () => {
    const r = await ssra({ name: "SIGINT", at: "query-model:v1" })
    console.log(`SIGINT during query-model:v1: stopped ${r.stopMs} ms after the signal`)
    assert.strictEqual(r.code, 130, r.stderr.slice(-2000))
    const lines = r.stderr.split("\n").filter((l) => l.includes("rerun the same command to resume"))
    assert.deepStrictEqual(lines, ["interrupted — finished work is kept; rerun the same command to resume"])
    assert.include(r.stderr, '{"type":"run-end","outcome":"interrupted"}')
    const m = manifest()
    assert.strictEqual(m.status, "interrupted")
    assert.include(m.error ?? "", "rerun the same command")
    assert.deepStrictEqual(
      m.invocations.map((i) => i.outcome),
      ["interrupted"]
    )
    assert.isString(m.invocations[0]!.endedAt)
  })

  it("SIGTERM mid-stage: exit 143, manifest interrupted, earlier invocation kept", { timeout: 240_000 }, async () => {
    const r = await ssra({ name: "SIGTERM", at: "stage1" })
    console.log(`SIGTERM during stage1: stopped ${r.stopMs} ms after the signal`)
    assert.strictEqual(r.code, 143, r.stderr.slice(-2000))
    assert.include(r.stderr, "interrupted — finished work is kept; rerun the same command to resume")
    // the stages the first invocation finished were reused, not redone
    assert.include(r.stderr, '"stage":"score-model","skipped":true')
    const m = manifest()
    assert.strictEqual(m.status, "interrupted")
    assert.deepStrictEqual(
      m.invocations.map((i) => i.outcome),
      ["interrupted", "interrupted"]
    )
  })

  it("the same command resumes and completes; the report sums the invocations", { timeout: 240_000 }, async () => {
    const r = await ssra()
    assert.strictEqual(r.code, 0, r.stderr.slice(-2000))
    const m = manifest()
    assert.strictEqual(m.status, "complete")
    assert.deepStrictEqual(
      m.invocations.map((i) => i.outcome),
      ["interrupted", "interrupted", "complete"]
    )
    const report = fs.readFileSync(path.join(runDir, "report", "report.md"), "utf8")
    assert.match(report, /total time [\d.]+ s over 3 invocations/)
    const html = fs.readFileSync(path.join(runDir, "report", "report.html"), "utf8")
    assert.match(html, /total time [\d.]+ s over 3 invocations/)
  })
})
