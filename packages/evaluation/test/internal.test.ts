import { Sampling } from "@ssra/core"
import { describe, expect, it } from "vitest"
import { Metrics } from "../src/index.js"

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
