import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { AtomicFile } from "@ssra/core"
import { Effect } from "effect"

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const writerScript = path.join(packageDir, "test", "fixtures", "killable-writer.ts")
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-atomic-"))

const tempFilesIn = (dir: string, target: string) =>
  fs.readdirSync(dir).filter((f) => f.startsWith(`.${path.basename(target)}.`) && f.endsWith(".tmp"))

/** Starts the writer, waits until its temp file holds `minBytes`, kills it with SIGKILL, and waits for it to die. */
const killMidWrite = async (
  format: "jsonl" | "parquet",
  target: string,
  minBytes: number
): Promise<{ tempBytes: number; signal: NodeJS.Signals | null }> => {
  const dir = path.dirname(target)
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@ssra/source", writerScript, format, target],
    {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let stderr = ""
  child.stderr?.on("data", (d) => (stderr += String(d)))
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)))
  const deadline = Date.now() + 45_000
  let tempBytes = 0
  try {
    while (Date.now() < deadline) {
      const temps = tempFilesIn(dir, target)
      tempBytes = temps.reduce((sum, f) => {
        try {
          return sum + fs.statSync(path.join(dir, f)).size
        } catch {
          return sum
        }
      }, 0)
      if (tempBytes >= minBytes) break
      if (child.exitCode !== null) throw new Error(`writer exited early (${child.exitCode}): ${stderr}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  } finally {
    child.kill("SIGKILL")
  }
  const signal = await exited
  return { tempBytes, signal }
}

describe("AtomicFile", () => {
  it.effect("writeFile replaces the whole content and leaves no temp file", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const target = path.join(dir, "a.json")
      yield* AtomicFile.writeJson(target, { a: 1 })
      yield* AtomicFile.writeJson(target, { b: [1, 2] })
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(target, "utf8")), { b: [1, 2] })
      assert.deepStrictEqual(tempFilesIn(dir, target), [])
    })
  )

  it("abort removes the temp file and never touches the target", () => {
    const dir = tmp()
    const target = path.join(dir, "x.txt")
    fs.writeFileSync(target, "old")
    const writer = AtomicFile.openSync(target)
    writer.write("new content")
    writer.abort()
    assert.strictEqual(fs.readFileSync(target, "utf8"), "old")
    assert.deepStrictEqual(tempFilesIn(dir, target), [])
  })

  for (const format of ["jsonl", "parquet"] as const) {
    it(`a ${format} writer killed with SIGKILL mid-write leaves the old file, or no file, never a partial one`, async () => {
      const dir = tmp()
      const existing = path.join(dir, `pairs.${format}`)
      const fresh = path.join(dir, `fresh.${format}`)
      fs.writeFileSync(existing, "OLD CONTENT\n")
      // both writers run at once: one over an existing file, one creating a new file
      const [overExisting, overNothing] = await Promise.all([
        killMidWrite(format, existing, 3 << 19),
        killMidWrite(format, fresh, 3 << 19)
      ])
      for (const killed of [overExisting, overNothing]) {
        assert.strictEqual(killed.signal, "SIGKILL")
        assert.isAtLeast(
          killed.tempBytes,
          3 << 19,
          "the writer was killed after writing megabytes, not before starting"
        )
      }
      assert.strictEqual(fs.readFileSync(existing, "utf8"), "OLD CONTENT\n")
      assert.isFalse(fs.existsSync(fresh))
      // the half-written data exists only under the temp names
      assert.isAtLeast(tempFilesIn(dir, fresh).length, 1)
      assert.isAtLeast(tempFilesIn(dir, existing).length, 1)
    })
  }
})

describe("AtomicFile.sweepStale", () => {
  it("removes a dead writer's temp files and directories, keeps live ones and everything else", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-sweep-"))
    // a process id that no longer runs: a child that has exited
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString()
    const live = String(process.ppid)
    fs.mkdirSync(path.join(dir, "model"))
    fs.writeFileSync(path.join(dir, `.labeled.jsonl.${dead}.0a1b2c3d.tmp`), "half")
    fs.mkdirSync(path.join(dir, `.model.${dead}.tmp-Ab12Cd`))
    fs.writeFileSync(path.join(dir, `.model.${dead}.tmp-Ab12Cd`, "model.safetensors"), "half")
    fs.writeFileSync(path.join(dir, "model", `.config.json.${dead}.ffff0000.tmp`), "half")
    fs.writeFileSync(path.join(dir, `.other.jsonl.${live}.0a1b2c3d.tmp`), "writing")
    fs.writeFileSync(path.join(dir, `.own.jsonl.${process.pid}.0a1b2c3d.tmp`), "writing")
    fs.writeFileSync(path.join(dir, "labeled.jsonl"), "done")
    fs.writeFileSync(path.join(dir, ".artifact.json"), "{}")
    fs.writeFileSync(path.join(dir, "model", "config.json"), "{}")

    assert.strictEqual(AtomicFile.sweepStale(dir), 2)
    assert.deepStrictEqual(fs.readdirSync(path.join(dir, "model")).sort(), [
      `.config.json.${dead}.ffff0000.tmp`,
      "config.json"
    ])
    assert.strictEqual(AtomicFile.sweepStale(dir, { recursive: true }), 1)
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), [
      ".artifact.json",
      `.other.jsonl.${live}.0a1b2c3d.tmp`,
      `.own.jsonl.${process.pid}.0a1b2c3d.tmp`,
      "labeled.jsonl",
      "model"
    ])
    assert.deepStrictEqual(fs.readdirSync(path.join(dir, "model")), ["config.json"])
    assert.strictEqual(AtomicFile.sweepStale(path.join(dir, "missing")), 0)
  })

  it("names temps so the sweep can read their writer", () => {
    assert.match(
      path.basename(AtomicFile.tempPathFor("/x/labeled.jsonl")),
      new RegExp(`^\\.labeled\\.jsonl\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`)
    )
    assert.strictEqual(path.basename(AtomicFile.tempDirPrefixFor("/x/model")), `.model.${process.pid}.tmp-`)
  })
})
