import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, assert, describe, it } from "vitest"
import { writeTinyLlamaGguf } from "../src/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-tiny-gguf-"))
afterEach(() => {
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name))
})

describe("writeTinyLlamaGguf", () => {
  it("writes a GGUF v3 file under 1 MB and returns its size", () => {
    const file = path.join(dir, "a.gguf")
    const bytes = writeTinyLlamaGguf(file)
    const data = fs.readFileSync(file)
    assert.strictEqual(bytes, data.length)
    assert.isBelow(bytes, 1_000_000)
    assert.strictEqual(data.subarray(0, 4).toString("latin1"), "GGUF")
    assert.strictEqual(data.readUInt32LE(4), 3)
    assert.include(data.toString("latin1"), "general.architecture")
  })

  it("the same seed writes the same bytes; another seed other weights", () => {
    const [a, b, c] = ["a", "b", "c"].map((name) => path.join(dir, `${name}.gguf`))
    writeTinyLlamaGguf(a!, 7)
    writeTinyLlamaGguf(b!, 7)
    writeTinyLlamaGguf(c!, 8)
    assert.isTrue(fs.readFileSync(a!).equals(fs.readFileSync(b!)))
    assert.isFalse(fs.readFileSync(a!).equals(fs.readFileSync(c!)))
    assert.strictEqual(fs.statSync(a!).size, fs.statSync(c!).size)
  })
})
