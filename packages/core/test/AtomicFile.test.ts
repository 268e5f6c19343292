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

describe("AtomicFile directories", () => {
  const deadPid = () =>
    spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString()
  const contents = (dir: string) =>
    Object.fromEntries(
      fs
        .readdirSync(dir)
        .sort()
        .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")])
    )

  it("writeDirectorySync publishes the whole new directory over the old one and leaves no temp", () => {
    const root = tmp()
    const target = path.join(root, "model")
    AtomicFile.writeDirectorySync(target, (temp) => {
      fs.writeFileSync(path.join(temp, "config.json"), "old config")
      fs.writeFileSync(path.join(temp, "weights.bin"), "old weights")
    })
    AtomicFile.writeDirectorySync(target, (temp) => {
      fs.mkdirSync(path.join(temp, "sub"))
      fs.writeFileSync(path.join(temp, "sub", "x.txt"), "x")
      fs.writeFileSync(path.join(temp, "config.json"), "new config")
    })
    assert.deepStrictEqual(fs.readdirSync(root), ["model"])
    assert.deepStrictEqual(fs.readdirSync(target).sort(), ["config.json", "sub"])
    assert.strictEqual(fs.readFileSync(path.join(target, "config.json"), "utf8"), "new config")
    assert.strictEqual(fs.readFileSync(path.join(target, "sub", "x.txt"), "utf8"), "x")
    // an output directory like any other: mkdir's permissions, not mkdtemp's private 0700
    const umask = process.umask()
    assert.strictEqual(fs.statSync(target).mode & 0o777, 0o777 & ~umask)
  })

  it("a failed write leaves the old directory untouched and no temp behind", () => {
    const root = tmp()
    const target = path.join(root, "model")
    AtomicFile.writeDirectorySync(target, (temp) => fs.writeFileSync(path.join(temp, "a.txt"), "old"))
    assert.throws(
      () =>
        AtomicFile.writeDirectorySync(target, (temp) => {
          fs.writeFileSync(path.join(temp, "a.txt"), "new, half")
          throw new Error("ENOSPC: no space left on device")
        }),
      /ENOSPC/
    )
    assert.deepStrictEqual(fs.readdirSync(root), ["model"])
    assert.deepStrictEqual(contents(target), { "a.txt": "old" })
  })

  it("copyDirectorySync copies a tree into place; a failed copy leaves no part of it", () => {
    const root = tmp()
    const from = path.join(root, "source")
    fs.mkdirSync(path.join(from, "nested"), { recursive: true, mode: 0o700 })
    fs.chmodSync(from, 0o700)
    fs.writeFileSync(path.join(from, "model.safetensors"), "weights")
    fs.writeFileSync(path.join(from, "nested", "b.json"), "{}")
    const target = path.join(root, "run", "model")
    fs.mkdirSync(target, { recursive: true })
    fs.writeFileSync(path.join(target, "stale.txt"), "from an earlier run")
    AtomicFile.copyDirectorySync(from, target)
    assert.strictEqual(fs.readFileSync(path.join(target, "model.safetensors"), "utf8"), "weights")
    assert.deepStrictEqual(fs.readdirSync(target).sort(), ["model.safetensors", "nested"])
    assert.strictEqual(fs.readFileSync(path.join(target, "nested", "b.json"), "utf8"), "{}")
    assert.strictEqual(fs.statSync(target).mode & 0o777, 0o777 & ~process.umask())
    assert.deepStrictEqual(fs.readdirSync(path.join(root, "run")), ["model"])
    assert.throws(() => AtomicFile.copyDirectorySync(path.join(root, "missing"), target))
    assert.deepStrictEqual(fs.readdirSync(target).sort(), ["model.safetensors", "nested"])
    assert.deepStrictEqual(fs.readdirSync(path.join(root, "run")), ["model"])
  })

  it("a publish killed between its two renames is finished by recoverDirectorySync and by the next publish", () => {
    const root = tmp()
    const target = path.join(root, "last")
    const dead = deadPid()
    // the state a kill leaves: the new copy complete in its temp, the old one moved aside, no target
    const temp = path.join(root, `.last.${dead}.tmp-0a1b2c`)
    fs.mkdirSync(temp)
    fs.writeFileSync(path.join(temp, "state.json"), "new")
    fs.mkdirSync(`${temp}.old`)
    fs.writeFileSync(path.join(`${temp}.old`, "state.json"), "old")
    assert.isTrue(AtomicFile.recoverDirectorySync(target))
    assert.deepStrictEqual(fs.readdirSync(root), ["last"])
    assert.deepStrictEqual(contents(target), { "state.json": "new" })
    assert.isFalse(AtomicFile.recoverDirectorySync(target))
    // only the moved-aside copy left: the next publish puts it back before replacing it, leaving nothing else
    fs.renameSync(target, `${temp}.old`)
    let seen: Record<string, string> | undefined
    AtomicFile.writeDirectorySync(target, (t) => {
      seen = contents(target)
      fs.writeFileSync(path.join(t, "state.json"), "newer")
    })
    assert.deepStrictEqual(seen, { "state.json": "new" })
    assert.deepStrictEqual(fs.readdirSync(root), ["last"])
    assert.deepStrictEqual(contents(target), { "state.json": "newer" })
  })

  it("a writer killed mid-publish leaves the old directory whole; the next publish sweeps its temp", async () => {
    const root = tmp()
    const target = path.join(root, "model")
    const other = path.join(root, `.other.${deadPid()}.tmp-abcdef`)
    fs.mkdirSync(other)
    AtomicFile.writeDirectorySync(target, (temp) => fs.writeFileSync(path.join(temp, "a.txt"), "OLD"))
    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@ssra/source", writerScript, "directory", target],
      { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stderr = ""
    child.stderr?.on("data", (d) => (stderr += String(d)))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)))
    const leftTemps = () => fs.readdirSync(root).filter((f) => f.startsWith(`.model.${child.pid}.tmp-`))
    const deadline = Date.now() + 45_000
    let written = 0
    try {
      while (Date.now() < deadline && written < 200) {
        const temps = leftTemps()
        written = temps.length === 1 ? fs.readdirSync(path.join(root, temps[0]!)).length : 0
        if (child.exitCode !== null) throw new Error(`writer exited early (${child.exitCode}): ${stderr}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    } finally {
      child.kill("SIGKILL")
    }
    assert.strictEqual(await exited, "SIGKILL")
    assert.isAtLeast(written, 200, "the writer was killed with its temp directory half full, not before starting")
    // never half-written: the target holds the old directory only; the half one exists only under its temp name
    assert.deepStrictEqual(contents(target), { "a.txt": "OLD" })
    assert.strictEqual(leftTemps().length, 1)
    AtomicFile.writeDirectorySync(target, (temp) => fs.writeFileSync(path.join(temp, "a.txt"), "NEW"))
    assert.deepStrictEqual(contents(target), { "a.txt": "NEW" })
    // the dead writer's temp of this target is swept; another target's temps are left to their own publish
    assert.deepStrictEqual(fs.readdirSync(root).sort(), [path.basename(other), "model"])
  }, 60_000)
})
