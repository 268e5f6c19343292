import { Failure } from "@ssra/core"
import { Bm25, Idf, TextOptionError } from "@ssra/text"
import { describe, expect, it } from "vitest"

describe("Idf.bm25", () => {
  it("is ln(1 + (N − df + 0.5) / (df + 0.5)), by hand", () => {
    // N = 4: df 3 → ln(1 + 1.5/3.5) = ln(10/7); df 0 → ln(1 + 4.5/0.5) = ln 10; df 4 → ln(1 + 0.5/4.5) = ln(10/9)
    expect(Idf.bm25(4, 3)).toBeCloseTo(Math.log(10 / 7), 15)
    expect(Idf.bm25(4, 0)).toBeCloseTo(Math.log(10), 15)
    expect(Idf.bm25(4, 4)).toBeCloseTo(Math.log(10 / 9), 15)
    expect(Idf.bm25(4, 2)).toBeCloseTo(Math.log(2), 15)
    // always positive, decreasing in df
    expect(Idf.bm25(4, 4)).toBeGreaterThan(0)
    expect(Idf.bm25(100, 10)).toBeGreaterThan(Idf.bm25(100, 11))
    expect(Idf.bm25(0, 0)).toBeCloseTo(Math.log(2), 15)
  })
})

describe("Bm25", () => {
  const corpus = ["咽喉炎偏方", "治疗咽喉炎的偏方", "感冒吃什么药", "咽喉痛怎么办"]
  it("uses IDF and length normalization from the corpus", () => {
    const index = Bm25.make(corpus)
    expect(index.documents).toBe(4)
    expect(index.averageLength).toBeCloseTo((9 + 15 + 11 + 11) / 4, 12)
    expect(index.idf("咽")).toBeCloseTo(Math.log(1 + (4 - 3 + 0.5) / (3 + 0.5)), 15)
    expect(index.idf("咽")).toBe(Idf.bm25(4, 3))
    expect(index.score("咽喉炎", "咽喉炎偏方")).toBeGreaterThan(index.score("咽喉炎", "咽喉痛怎么办"))
    expect(index.score("咽喉炎", "感冒吃什么药")).toBe(0)
    // a document outside the corpus is scored with its own length
    expect(index.score("咽喉炎", "咽喉炎")).toBeGreaterThan(0)
  })
  it("scores by hand: char tokens, k1 1.2, b 0.75", () => {
    // corpus "ab", "ac", "b": N 3, average length 5/3; idf(a) = ln(1 + 1.5/2.5) = ln 1.6
    const index = Bm25.make(["ab", "ac", "b"], { tokenizer: "char" })
    expect(index.averageLength).toBeCloseTo(5 / 3, 15)
    // "a" in "ab": tf 1, length 2 → norm 1 − 0.75 + 0.75·2/(5/3) = 1.15; weight ln 1.6 · 2.2 / (1 + 1.2·1.15)
    const want = (Math.log(1.6) * 2.2) / (1 + 1.2 * 1.15)
    expect(index.score("a", "ab")).toBeCloseTo(want, 14)
    // a repeated query term counts once; "aa" in the document saturates
    expect(index.score("aa", "ab")).toBe(index.score("a", "ab"))
    const norm = 1 - 0.75 + (0.75 * 2) / (5 / 3)
    expect(index.score("a", "aa")).toBeCloseTo((Math.log(1.6) * 2 * 2.2) / (2 + 1.2 * norm), 14)
  })
  it("lengthNorm and termWeight are the pieces of the score", () => {
    expect(Bm25.lengthNorm(2, 5 / 3, 0.75)).toBeCloseTo(1.15, 15)
    expect(Bm25.lengthNorm(7, 0, 0.75)).toBe(1)
    expect(Bm25.lengthNorm(7, 3, 0)).toBe(1)
    expect(Bm25.termWeight(2, 3, 1, 1.2)).toBeCloseTo((2 * 3 * 2.2) / (3 + 1.2), 15)
    // idf 1 is the saturated term weight exactly
    expect(Bm25.termWeight(1, 3, 0.9, 1.2)).toBe((3 * 2.2) / (3 + 1.2 * 0.9))
  })
  it("rejects bad parameters and supports the other tokenizers", () => {
    expect(() => Bm25.make(corpus, { b: 2 })).toThrow(/b <= 1/)
    // a typed, classified error (a usage error: exit 2 in the CLI), not a RangeError
    const error = (() => {
      try {
        Bm25.make(corpus, { b: 2 })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(TextOptionError.TextOptionError)
    expect(error).not.toBeInstanceOf(RangeError)
    expect(Failure.classify(error).class).toBe("usage")
    expect(Bm25.make(corpus, { tokenizer: "jieba" }).score("咽喉炎", "治疗咽喉炎的偏方")).toBeGreaterThan(0)
    expect(Bm25.make(corpus, { tokenizer: "char" }).tokenizer).toBe("char")
    expect(Bm25.make([]).score("a", "a")).toBeGreaterThan(0)
  })
})
