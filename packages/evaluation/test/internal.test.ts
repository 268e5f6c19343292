import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Sampling } from "@ssra/core"
import { describe, expect, it } from "vitest"
import { Metrics } from "../src/index.js"
import { forEachChunk, forEachLine, splitFields } from "../src/internal/textLines.js"

describe("compareUtf8", () => {
  it("orders like a byte-wise comparison of the UTF-8 encodings (strcmp)", () => {
    const rng = new Sampling.SeededRandom(11)
    const alphabet = ["a", "Z", "0", "é", "中", "\uFF21", "\uE000", "\u{1F600}", "\u{10FFFF}", "\u{20000}", "-", "_"]
    const word = () => Array.from({ length: 1 + rng.int(4) }, () => alphabet[rng.int(alphabet.length)]).join("")
    for (let i = 0; i < 2000; i++) {
      const a = word()
      const b = word()
      const bytes = Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))
      expect(Math.sign(Metrics.compareUtf8(a, b)), `${a} vs ${b}`).toBe(bytes)
    }
  })
})

describe("line and chunk reading", () => {
  it("splits fields on any whitespace and counts past capacity", () => {
    const bounds = new Int32Array(4)
    const text = "  q1\tQ0  d1 \r"
    expect(splitFields(text, 0, text.length, bounds)).toBe(3)
    expect(text.slice(bounds[0]!, bounds[1]!)).toBe("q1")
    expect(text.slice(bounds[2]!, bounds[3]!)).toBe("Q0")
  })
  it("reassembles lines across block boundaries, multi-byte text and a missing final newline", () => {
    const dir = mkdtempSync(join(tmpdir(), "ssra-lines-"))
    const lines = Array.from({ length: 500 }, (_, i) => `q${i} Q0 文档${"é".repeat(i % 7)} ${i} ${i / 7} t`)
    const file = join(dir, "x.run")
    writeFileSync(file, lines.join("\n"))
    for (const block of [7, 64, 1000, 1 << 20]) {
      const seen: Array<[number, string]> = []
      forEachChunk(
        file,
        (text, first) => forEachLine(text, first, (t, s, e, line) => seen.push([line, t.slice(s, e)])),
        block
      )
      expect(seen.length).toBe(lines.length)
      seen.forEach(([line, text], i) => {
        expect(line).toBe(i + 1)
        expect(text).toBe(lines[i])
      })
    }
  })
})
