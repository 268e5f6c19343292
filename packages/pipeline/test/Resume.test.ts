import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Pipeline, WorkUnits } from "../src/index.js"
import { snapshot } from "./fixtures/snapshot.js"
import { tinyConfig } from "./fixtures/tiny.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-resume-"))
const reference = path.join(root, "reference")
const runTiny = (runDir: string, shard?: WorkUnits.Shard) =>
  Pipeline.run({ config: tinyConfig(runDir), systems: ["base", "ssra"], references: false, shard }).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

const child = (runDir: string): ChildProcess =>
  spawn(
    process.execPath,
    ["--conditions=@ssra/source", "--import", "tsx", path.join(import.meta.dirname, "fixtures", "run-tiny.ts"), runDir],
    {
      cwd: path.join(import.meta.dirname, ".."),
      stdio: ["ignore", "ignore", "pipe"]
    }
  )

const exited = (p: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on("exit", (code, signal) => resolve({ code, signal }))
  )

describe("resume and sharding", () => {
  beforeAll(async () => {
    await Effect.runPromise(runTiny(reference))
  }, 120_000)
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

  it("a run killed with SIGKILL mid-generation resumes to the same bytes as an uninterrupted run", async () => {
    const runDir = path.join(root, "killed")
    const proc = child(runDir)
    // Kill as soon as synthesis has committed its first chunk (the stage is then half done).
    const chunkDir = () => {
      const artifacts = path.join(runDir, "artifacts")
      if (!fs.existsSync(artifacts)) return undefined
      const name = fs.readdirSync(artifacts).find((n) => n.startsWith("synthesis:v2-"))
      return name === undefined ? undefined : path.join(artifacts, name)
    }
    let killedMidStage = false
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const dir = chunkDir()
        const chunks =
          dir === undefined
            ? []
            : fs.existsSync(path.join(dir, "chunks", "generation"))
              ? fs.readdirSync(path.join(dir, "chunks", "generation")).filter((f) => f.startsWith("chunk-"))
              : []
        if (chunks.length >= 1) {
          proc.kill("SIGKILL")
          killedMidStage = !fs.existsSync(path.join(dir!, "artifact.json"))
          clearInterval(timer)
          resolve()
        }
      }, 2)
      proc.on("exit", () => {
        clearInterval(timer)
        resolve()
      })
    })
    const first = await exited(proc)
    assert.strictEqual(first.signal, "SIGKILL")
    assert.isTrue(killedMidStage, "the child was killed before synthesis finished")
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
    assert.strictEqual(manifest.status, "running")
    const again = child(runDir)
    const second = await exited(again)
    assert.strictEqual(second.code, 0)
    const resumed = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
    assert.strictEqual(resumed.status, "complete")
    // the killed invocation never recorded its end: the rerun lists it as killed, then itself
    assert.deepStrictEqual(
      resumed.invocations.map((i: { outcome: string }) => i.outcome),
      ["killed", "complete"]
    )
    assert.isTrue(
      resumed.stages.find((s: { stage: string }) => s.stage === "train:base").reused,
      "finished stages are reused"
    )
    assert.deepStrictEqual(snapshot(runDir), snapshot(reference))
    // no lost, no duplicated rows
    const synth = fs.readdirSync(path.join(runDir, "artifacts")).find((n) => n.startsWith("synthesis:v2-"))!
    const ids = fs
      .readFileSync(path.join(runDir, "artifacts", synth, "candidates.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).id)
    assert.strictEqual(new Set(ids).size, ids.length)
  }, 120_000)

  it("shards merged with `merge` give the same result as one unsharded run", async () => {
    const a = path.join(root, "shard-a")
    const b = path.join(root, "shard-b")
    const merged = path.join(root, "merged")
    const exitA = await Effect.runPromise(Effect.exit(runTiny(a, { index: 0, count: 2 })))
    const exitB = await Effect.runPromise(Effect.exit(runTiny(b, { index: 1, count: 2 })))
    for (const exit of [exitA, exitB]) {
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
        assert.strictEqual(reason && "error" in reason ? (reason.error as { _tag: string })._tag : "", "ShardPending")
      }
    }
    assert.strictEqual(JSON.parse(fs.readFileSync(path.join(a, "manifest.json"), "utf8")).status, "shard-done")
    const { copied } = await Effect.runPromise(WorkUnits.mergeRuns(merged, [a, b]))
    assert.isAbove(copied, 0)
    await Effect.runPromise(runTiny(merged))
    assert.deepStrictEqual(snapshot(merged), snapshot(reference))
  }, 120_000)
})
