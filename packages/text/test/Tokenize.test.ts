import { CharNgram, Jieba, TextOptionError, Tokenize } from "@ssra/text"
import { describe, expect, it } from "vitest"

describe("Tokenize", () => {
  it("characters are NFKC-normalized, lower-cased, whitespace-free code points", () => {
    expect(Tokenize.chars("Ａb 中\u3000文😀")).toEqual(["a", "b", "中", "文", "😀"])
    expect(Tokenize.chars("Hello, 世界！")).toEqual(["h", "e", "l", "l", "o", ",", "世", "界", "!"])
    expect(Tokenize.charNgrams("中文检索", 2)).toEqual(["中文", "文检", "检索"])
    expect(Tokenize.charNgrams("中", 2)).toEqual(["中"])
    expect(Tokenize.charNgrams("", 2)).toEqual([])
    expect(Tokenize.charNgrams("中文检索", 1)).toEqual(["中", "文", "检", "索"])
    expect(Tokenize.charNgrams("中文检索", 3)).toEqual(["中文检", "文检索"])
    expect(Tokenize.charUnigramsAndBigrams("中文检")).toEqual(["中", "文", "检", "中文", "文检"])
  })
  it("Latin and CJK mixed: whitespace is dropped before n-grams, so grams cross a space", () => {
    expect(Tokenize.charNgrams("AI 医疗", 2)).toEqual(["ai", "i医", "医疗"])
    expect(Tokenize.charUnigramsAndBigrams("Go语言")).toEqual(["g", "o", "语", "言", "go", "o语", "语言"])
    expect(() => Tokenize.charNgrams("中文", 0)).toThrow(/positive integer/)
    expect(() => Tokenize.charNgrams("中文", 1.5)).toThrow(TextOptionError.TextOptionError)
  })
  it("jieba words: precise mode with HMM, normalized and lower-cased, whitespace dropped", () => {
    expect(Tokenize.jiebaWords("我爱北京天安门 and Node.js 2024年")).toEqual([
      "我",
      "爱",
      "北京",
      "天安门",
      "and",
      "node",
      ".",
      "js",
      "2024",
      "年"
    ])
    expect(Tokenize.jiebaWords("我们中出了一个叛徒").join("")).toBe("我们中出了一个叛徒")
  })
  it("Jieba.cut keeps the text as given; the HMM joins words the dictionary lacks", () => {
    expect(Jieba.cut("他来到了网易杭研大厦", true)).toEqual(["他", "来到", "了", "网易", "杭研", "大厦"])
    expect(Jieba.cut("他来到了网易杭研大厦", false)).toEqual(["他", "来到", "了", "网易", "杭", "研", "大厦"])
    expect(Jieba.cut("Node 中文", false)).toEqual(["Node", " ", "中文"])
  })
  it("byName picks the tokenizer", () => {
    expect(Tokenize.byName("char-1-2")("中文")).toEqual(["中", "文", "中文"])
    expect(Tokenize.byName("char")("中文")).toEqual(["中", "文"])
    expect(Tokenize.byName("char-2")("中文检")).toEqual(["中文", "文检"])
    expect(Tokenize.byName("jieba")("北京天安门")).toEqual(["北京", "天安门"])
  })
})

describe("CharNgram.cosine", () => {
  it("is 1 for equal texts, 0 for disjoint, symmetric, in [0, 1]", () => {
    expect(CharNgram.cosine("咽喉炎偏方", "咽喉炎偏方")).toBeCloseTo(1, 15)
    expect(CharNgram.cosine("咽喉炎", "感冒药")).toBe(0)
    expect(CharNgram.cosine("", "感冒药")).toBe(0)
    const a = CharNgram.cosine("咽喉炎偏方", "治疗咽喉炎的偏方")
    expect(a).toBe(CharNgram.cosine("治疗咽喉炎的偏方", "咽喉炎偏方"))
    // bigrams 咽喉 喉炎 炎偏 偏方 vs 治疗 疗咽 咽喉 喉炎 炎的 的偏 偏方: 3 shared, norms 2 and √7
    expect(a).toBeCloseTo(3 / (2 * Math.sqrt(7)), 15)
  })
  it("unigrams + bigrams, and cosineWith picks the grams", () => {
    // 中 文 中文 vs 中 国 中国: one shared unigram, norms √3 and √3
    expect(CharNgram.cosineUnigramsAndBigrams("中文", "中国")).toBeCloseTo(1 / 3, 15)
    expect(CharNgram.cosineWith("1-2")("中文", "中国")).toBe(CharNgram.cosineUnigramsAndBigrams("中文", "中国"))
    expect(CharNgram.cosineWith(1)("中文", "中国")).toBeCloseTo(1 / 2, 15)
  })
})
