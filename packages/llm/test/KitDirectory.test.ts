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

describe("KitDirectory", () => {
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
