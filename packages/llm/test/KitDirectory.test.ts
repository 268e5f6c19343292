import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { KitDirectory } from "../src/index.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-kit-dir-"))
const kind = { marker: "kit.json", what: "test kit" } as const
const kitFiles = (n: number) => ({
  "kit.json": { text: `{"n": ${n}}\n` },
  "launch.sh": { text: "#!/usr/bin/env bash\necho hi\n", executable: true }
})
const writeKit = (dir: string, n: number) =>
  KitDirectory.write(dir, kind, (temp) => KitDirectory.writeFiles(temp, kitFiles(n)).pipe(Effect.as(temp)))

describe("KitDirectory.write", () => {
  it.effect("writes a kit; executables get 0755, other files none of the x bits", () =>
    Effect.gen(function* () {
      const dir = path.join(tmp(), "nested", "kit")
      yield* writeKit(dir, 1)
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["kit.json", "launch.sh"])
      assert.strictEqual(fs.statSync(path.join(dir, "launch.sh")).mode & 0o777, 0o755)
      assert.strictEqual(fs.statSync(path.join(dir, "kit.json")).mode & 0o111, 0)
      assert.strictEqual(fs.statSync(dir).mode & 0o755, 0o755)
      assert.strictEqual(fs.readFileSync(path.join(dir, "launch.sh"), "utf8"), "#!/usr/bin/env bash\necho hi\n")
    })
  )

  it.effect("replaces an earlier kit whole, and keeps it when the new one fails", () =>
    Effect.gen(function* () {
      const parent = tmp()
      const dir = path.join(parent, "kit")
      yield* writeKit(dir, 1)
      fs.writeFileSync(path.join(dir, "notes.txt"), "stale")
      const temp = yield* writeKit(dir, 2)
      assert.isFalse(fs.existsSync(path.join(dir, "notes.txt")))
      assert.strictEqual(fs.readFileSync(path.join(dir, "kit.json"), "utf8"), '{"n": 2}\n')
      assert.isFalse(fs.existsSync(temp))
      assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
      // a failing body: the earlier kit stays as it was, the temporary directory is gone
      const failed = yield* Effect.flip(
        KitDirectory.write(dir, kind, (t) =>
          KitDirectory.writeFiles(t, kitFiles(3)).pipe(Effect.andThen(Effect.fail("boom" as const)))
        )
      )
      assert.strictEqual(failed, "boom")
      assert.strictEqual(fs.readFileSync(path.join(dir, "kit.json"), "utf8"), '{"n": 2}\n')
      assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
    })
  )

  it.effect("a write killed mid-swap or mid-build is finished or swept by the next write, and checked first", () =>
    Effect.gen(function* () {
      const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString()
      const parent = tmp()
      const dir = path.join(parent, "kit")
      // killed between the swap's renames: the new kit complete in its temp, the old one moved aside, no kit
      const temp = path.join(parent, `.kit.${dead}.tmp-0a1b2c`)
      const kitAt = (d: string, n: number) => {
        fs.mkdirSync(d)
        fs.writeFileSync(path.join(d, "kit.json"), `{"n": ${n}}\n`)
        fs.writeFileSync(path.join(d, "launch.sh"), "#!/usr/bin/env bash\n", { mode: 0o755 })
      }
      kitAt(temp, 2)
      kitAt(`${temp}.old`, 1)
      // and a build killed before its swap: its half-written temp
      const staging = path.join(parent, `.kit.${dead}.tmp-Zz9Yy8`)
      fs.mkdirSync(staging)
      fs.writeFileSync(path.join(staging, "kit.json"), "{")
      let seen: string | undefined
      yield* KitDirectory.write(dir, kind, (t) =>
        Effect.sync(() => (seen = fs.readFileSync(path.join(dir, "kit.json"), "utf8"))).pipe(
          Effect.andThen(KitDirectory.writeFiles(t, kitFiles(3)))
        )
      )
      // the swap was finished (the new kit put in place) before this write replaced it
      assert.strictEqual(seen, '{"n": 2}\n')
      assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
      assert.strictEqual(fs.readFileSync(path.join(dir, "kit.json"), "utf8"), '{"n": 3}\n')
      assert.strictEqual(fs.statSync(path.join(dir, "launch.sh")).mode & 0o777, 0o755)
      // a kit put back by the recovery is checked like any: one holding a trained model is refused, kept whole
      fs.mkdirSync(path.join(dir, "output"))
      fs.writeFileSync(path.join(dir, "output", "model.bin"), "weights")
      fs.renameSync(dir, `${temp}.old`)
      const refused = yield* Effect.flip(writeKit(dir, 4))
      assert.strictEqual(refused.reason, "exists")
      assert.include(refused.message, "output/")
      assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
      assert.strictEqual(fs.readFileSync(path.join(dir, "output", "model.bin"), "utf8"), "weights")
      assert.strictEqual(fs.readFileSync(path.join(dir, "kit.json"), "utf8"), '{"n": 3}\n')
    })
  )

  it.effect("refuses a file, a directory that is no kit, and a kit holding a subdirectory, untouched", () =>
    Effect.gen(function* () {
      const parent = tmp()
      const file = path.join(parent, "file")
      fs.writeFileSync(file, "mine")
      const asFile = yield* Effect.flip(writeKit(file, 1))
      assert.strictEqual(asFile._tag, "KitDirectoryError")
      assert.strictEqual(asFile.reason, "exists")
      assert.include(asFile.message, "not a directory")
      const other = path.join(parent, "other")
      fs.mkdirSync(other)
      fs.writeFileSync(path.join(other, "mine.txt"), "keep")
      const notKit = yield* Effect.flip(writeKit(other, 1))
      assert.strictEqual(notKit.reason, "exists")
      assert.strictEqual(notKit.file, other)
      assert.include(notKit.message, "not an ssra kit")
      assert.include(notKit.message, "test kit")
      assert.deepStrictEqual(fs.readdirSync(other), ["mine.txt"])
      // a kit of another kind (its marker missing) is no kit of this one
      fs.writeFileSync(path.join(other, "launch.sh"), "")
      assert.strictEqual((yield* Effect.flip(writeKit(other, 1))).reason, "exists")
      const dir = path.join(parent, "kit")
      yield* writeKit(dir, 1)
      fs.mkdirSync(path.join(dir, "output"))
      fs.writeFileSync(path.join(dir, "output", "model.bin"), "weights")
      const trained = yield* Effect.flip(writeKit(dir, 2))
      assert.strictEqual(trained.reason, "exists")
      assert.include(trained.message, "output/")
      assert.isDefined(trained.hint)
      assert.strictEqual(fs.readFileSync(path.join(dir, "output", "model.bin"), "utf8"), "weights")
      assert.strictEqual(fs.readFileSync(path.join(dir, "kit.json"), "utf8"), '{"n": 1}\n')
      assert.deepStrictEqual(fs.readdirSync(parent).sort(), ["file", "kit", "other"])
    })
  )
})

describe("KitDirectory files and requirements", () => {
  it.effect("an unwritable file is an io error naming it", () =>
    Effect.gen(function* () {
      const dir = tmp()
      fs.mkdirSync(path.join(dir, "taken"))
      const failed = yield* Effect.flip(KitDirectory.writeFiles(dir, { taken: { text: "x" } }))
      assert.strictEqual(failed.reason, "io")
      assert.strictEqual(failed.file, path.join(dir, "taken"))
      assert.include(failed.message, "EISDIR")
    })
  )

  it("gpuRequirements drops pytest and ruff with their comment, keeps the pins, puts torch's CUDA build first", () => {
    const text = [
      "# Direct dependencies, pinned exactly.",
      "torch==2.13.0",
      "numpy==2.4.6",
      "# serving",
      "fastapi==0.142.2",
      "# tests and lint",
      "pytest==9.1.1",
      "ruff==0.16.9",
      ""
    ].join("\r\n")
    const out = KitDirectory.gpuRequirements(text, ["# extra"])
    const lines = out.split("\n")
    const pins = lines.filter((l) => l !== "" && !l.startsWith("#"))
    assert.deepStrictEqual(pins, ["torch==2.13.0", "numpy==2.4.6", "fastapi==0.142.2"])
    assert.notInclude(out, "pytest")
    assert.notInclude(out, "ruff")
    assert.notInclude(out, "tests and lint")
    assert.notInclude(out, "Direct dependencies")
    assert.include(out, "# serving\nfastapi==0.142.2")
    assert.include(out, "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/<cuda-tag>")
    assert.strictEqual(lines.at(-2), "# extra")
    assert.isTrue(out.endsWith("\n"))
    assert.include(KitDirectory.gpuRequirements("numpy==1\n"), "pip install torch --index-url")
  })
})
