/**
 * A full disk, simulated at the OS boundary: `fs.writeSync` (the CommonJS `node:fs` object, re-exported to the ESM
 * namespace with `syncBuiltinESMExports`) fails with a real-shaped ENOSPC error once a byte budget for one directory
 * is spent — after a short write, as a real disk does. Every project write goes through that call, so these tests
 * check the promises end to end: the typed error names the file and says what to do, an existing target keeps its
 * old bytes, no temp file is left, and the same write succeeds once space is free again.
 */
import * as fs from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { AtomicFile, type DatasetError, Jsonl, Pair } from "@ssra/core"
import { Effect, Stream } from "effect"
import { afterEach } from "vitest"

const cjsFs = createRequire(import.meta.url)("node:fs") as typeof fs

const enospc = () =>
  Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" })

interface DiskFull {
  /** ENOSPC errors thrown so far (proves the fault really reached the code under test). */
  readonly failures: () => number
  /** Bytes that reached files under the directory. */
  readonly written: () => number
  /** Makes room: later writes succeed again. */
  readonly free: () => void
  readonly restore: () => void
}

let active: DiskFull | undefined

/** From now on, writes to files under `dir` fail with ENOSPC once `budget` bytes have been written there. */
const fillDiskAfter = (dir: string, budget: number): DiskFull => {
  const prefix = path.resolve(dir) + path.sep
  const original = { openSync: cjsFs.openSync, closeSync: cjsFs.closeSync, writeSync: cjsFs.writeSync }
  const watched = new Set<number>()
  let left = budget
  let failures = 0
  let written = 0
  const patched = cjsFs as { -readonly [K in keyof typeof fs]: (typeof fs)[K] }
  patched.openSync = ((file: fs.PathLike, ...rest: Array<unknown>) => {
    const fd = (original.openSync as (...args: Array<unknown>) => number)(file, ...rest)
    if (typeof file === "string" && path.resolve(file).startsWith(prefix)) watched.add(fd)
    return fd
  }) as typeof fs.openSync
  patched.closeSync = ((fd: number) => {
    watched.delete(fd)
    original.closeSync(fd)
  }) as typeof fs.closeSync
  patched.writeSync = ((fd: number, data: NodeJS.ArrayBufferView, offset?: number, length?: number) => {
    if (!watched.has(fd)) return (original.writeSync as (...args: Array<unknown>) => number)(fd, data, offset, length)
    // the project writes buffers as (fd, buffer, offset, length); anything else would be a new code path to cover
    assert.isTrue(ArrayBuffer.isView(data), "writeSync is called with a buffer")
    if (left <= 0) {
      failures++
      throw enospc()
    }
    const off = offset ?? 0
    const n = Math.min(length ?? data.byteLength - off, left)
    const done = original.writeSync(fd, data, off, n)
    left -= done
    written += done
    return done
  }) as typeof fs.writeSync
  syncBuiltinESMExports()
  const handle: DiskFull = {
    failures: () => failures,
    written: () => written,
    free: () => {
      left = Number.POSITIVE_INFINITY
    },
    restore: () => {
      Object.assign(patched, original)
      syncBuiltinESMExports()
      active = undefined
    }
  }
  active = handle
  return handle
}

afterEach(() => active?.restore())

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-diskfull-"))

/** Files AtomicFile leaves behind while writing (`.<name>.<pid>.<hex>.tmp`), in `dir`. */
const tempFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith(".") || f.endsWith(".tmp"))

/** The promises for any failed write: typed, names the file, says it is the disk and what to do. */
const assertDiskFullError = (error: DatasetError.DatasetError, target: string) => {
  assert.strictEqual(error._tag, "DatasetError")
  assert.strictEqual(error.reason, "io")
  assert.strictEqual(error.file, target)
  assert.include(error.message, target)
  assert.include(error.message, "ENOSPC")
  assert.include(error.hint ?? "", "disk has space")
  assert.include(error.message, "disk has space")
}

const pairs = (n: number, docBytes = 40): Array<Pair.LabeledPair> =>
  Array.from({ length: n }, (_, i) => ({
    qid: `q${i}`,
    did: `d${i}`,
    query: `查询 ${i}`,
    doc: `文档 ${i} ${"内容".repeat(docBytes / 6)}`,
    label: i % 4
  }))

describe("a full disk", () => {
  it.effect("AtomicFile.writeFile of a new file: typed error naming the file, no file, no temp; retry succeeds", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const target = path.join(dir, "new.bin")
      const content = Buffer.alloc(64 * 1024, 7)
      const disk = fillDiskAfter(dir, 10_000)
      const error = yield* Effect.flip(AtomicFile.writeFile(target, content))
      assert.isAbove(disk.failures(), 0)
      // the short write really reached the disk before the error: the temp file held partial bytes
      assert.strictEqual(disk.written(), 10_000)
      assertDiskFullError(error, target)
      assert.isFalse(fs.existsSync(target))
      assert.deepStrictEqual(tempFiles(dir), [])
      disk.free()
      yield* AtomicFile.writeFile(target, content)
      assert.isTrue(fs.readFileSync(target).equals(content))
      assert.deepStrictEqual(tempFiles(dir), [])
    })
  )

  it.effect("AtomicFile.writeJson over an existing file keeps the old bytes; retry replaces them", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const target = path.join(dir, "manifest.json")
      yield* AtomicFile.writeJson(target, { status: "running", stages: ["prepare"] })
      const before = fs.readFileSync(target)
      const next = { status: "complete", stages: Array.from({ length: 500 }, (_, i) => `stage-${i}`) }
      const disk = fillDiskAfter(dir, 1_000)
      const error = yield* Effect.flip(AtomicFile.writeJson(target, next))
      assert.isAbove(disk.failures(), 0)
      assertDiskFullError(error, target)
      assert.isTrue(fs.readFileSync(target).equals(before), "the old file is untouched")
      assert.deepStrictEqual(fs.readdirSync(dir), ["manifest.json"])
      disk.free()
      yield* AtomicFile.writeJson(target, next)
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(target, "utf8")), next)
      assert.deepStrictEqual(fs.readdirSync(dir), ["manifest.json"])
    })
  )

  it("AtomicFile.writeFileSync (code outside Effect) throws the ENOSPC error itself and cleans up", () => {
    const dir = tmp()
    const target = path.join(dir, "weights.bin")
    fs.writeFileSync(target, "old")
    const disk = fillDiskAfter(dir, 0)
    let thrown: unknown
    try {
      AtomicFile.writeFileSync(target, Buffer.alloc(4096, 1))
    } catch (error) {
      thrown = error
    }
    assert.strictEqual((thrown as NodeJS.ErrnoException | undefined)?.code, "ENOSPC")
    assert.strictEqual(disk.failures(), 1)
    assert.strictEqual(fs.readFileSync(target, "utf8"), "old")
    assert.deepStrictEqual(fs.readdirSync(dir), ["weights.bin"])
  })

  it.effect(
    "Jsonl.writeAll (flushed at commit): typed error with hint; old file kept; no temp; retry round-trips",
    () =>
      Effect.gen(function* () {
        const dir = tmp()
        const target = path.join(dir, "labeled.jsonl")
        const old = pairs(3)
        yield* Jsonl.writeAll(target, old, { schema: Pair.LabeledPair })
        const before = fs.readFileSync(target)
        const rows = pairs(400)
        const disk = fillDiskAfter(dir, 5_000)
        const error = yield* Effect.flip(Jsonl.writeAll(target, rows, { schema: Pair.LabeledPair }))
        assert.isAbove(disk.failures(), 0)
        assertDiskFullError(error, target)
        assert.isTrue(fs.readFileSync(target).equals(before))
        assert.deepStrictEqual(fs.readdirSync(dir), ["labeled.jsonl"])
        disk.free()
        const summary = yield* Jsonl.writeAll(target, rows, { schema: Pair.LabeledPair })
        assert.strictEqual(summary.rows, rows.length)
        assert.deepStrictEqual(yield* Jsonl.readAll(target, Pair.LabeledPair), rows)
        assert.deepStrictEqual(fs.readdirSync(dir), ["labeled.jsonl"])
      })
  )

  it.effect("Jsonl.write streaming past the 1 MiB buffer fails mid-stream with the same typed, hinted error", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const target = path.join(dir, "documents.jsonl")
      fs.writeFileSync(target, "")
      // ~3 MiB of rows in chunks of 64: the writer flushes to the disk while the stream is still running
      const rows = pairs(6_000, 480)
      let pulled = 0
      const stream = Stream.fromIterable(rows).pipe(
        Stream.rechunk(64),
        Stream.tap(() => Effect.sync(() => pulled++))
      )
      const disk = fillDiskAfter(dir, 300_000)
      const error = yield* Effect.flip(Jsonl.write(target, stream, { schema: Pair.LabeledPair }))
      assert.isAbove(disk.failures(), 0)
      assert.isBelow(pulled, rows.length, "the write stopped at the first failed flush, not at the end")
      assertDiskFullError(error, target)
      assert.strictEqual(fs.readFileSync(target, "utf8"), "")
      assert.deepStrictEqual(fs.readdirSync(dir), ["documents.jsonl"])
      disk.free()
      const summary = yield* Jsonl.write(target, Stream.fromIterable(rows), { schema: Pair.LabeledPair })
      assert.strictEqual(summary.rows, rows.length)
      assert.strictEqual(summary.bytes, fs.statSync(target).size)
      assert.deepStrictEqual(fs.readdirSync(dir), ["documents.jsonl"])
    })
  )

  it.effect("reading with onInvalid skip: a rejects file on a full disk is the file the error names", () =>
    Effect.gen(function* () {
      const inputDir = tmp()
      const rejectsDir = tmp()
      const input = path.join(inputDir, "labeled.jsonl")
      const rejectsFile = path.join(rejectsDir, "labeled.rejects.jsonl")
      // every other line is invalid (no label), so the rejects file gets ~30 kB
      const lines = pairs(400).map((p, i) => JSON.stringify(i % 2 === 0 ? p : { ...p, label: undefined }))
      fs.writeFileSync(input, `${lines.join("\n")}\n`)
      const disk = fillDiskAfter(rejectsDir, 1_000)
      const error = yield* Effect.flip(Jsonl.readAll(input, Pair.LabeledPair, { onInvalid: "skip", rejectsFile }))
      assert.isAbove(disk.failures(), 0)
      assert.strictEqual(error.reason, "io")
      assert.strictEqual(error.file, rejectsFile, "names the rejects file, not the input being read")
      assert.include(error.message, "ENOSPC")
      assert.include(error.hint ?? "", "disk has space")
      assert.deepStrictEqual(tempFiles(rejectsDir), [])
      disk.free()
      const rows = yield* Jsonl.readAll(input, Pair.LabeledPair, { onInvalid: "skip", rejectsFile })
      assert.strictEqual(rows.length, 200)
      assert.strictEqual(fs.readFileSync(rejectsFile, "utf8").trim().split("\n").length, 200)
    })
  )

  it.effect(
    "writes outside the full directory are unaffected (the fault is scoped, so the checks above are real)",
    () =>
      Effect.gen(function* () {
        const full = tmp()
        const other = tmp()
        const disk = fillDiskAfter(full, 0)
        yield* AtomicFile.writeJson(path.join(other, "ok.json"), { ok: true })
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(other, "ok.json"), "utf8")), { ok: true })
        assert.strictEqual(disk.failures(), 0)
        disk.restore()
        // restored: the once-full directory takes writes again without `free`
        yield* AtomicFile.writeJson(path.join(full, "ok.json"), { ok: true })
        assert.deepStrictEqual(fs.readdirSync(full), ["ok.json"])
      })
  )
})
