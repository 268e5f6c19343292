import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Bm25, CharNgram, Metrics, Tokenize } from "../src/index.js"

describe("Tokenize", () => {
  it("characters are NFKC-normalized, lower-cased, whitespace-free code points", () => {
    expect(Tokenize.chars("Ａb 中\u3000文😀")).toEqual(["a", "b", "中", "文", "😀"])
    expect(Tokenize.charNgrams("中文检索", 2)).toEqual(["中文", "文检", "检索"])
    expect(Tokenize.charNgrams("中", 2)).toEqual(["中"])
    expect(Tokenize.charNgrams("", 2)).toEqual([])
    expect(Tokenize.charUnigramsAndBigrams("中文检")).toEqual(["中", "文", "检", "中文", "文检"])
  })
  it("jieba cuts words", () => {
    const words = Tokenize.jiebaWords("我们中出了一个叛徒")
    expect(words.join("")).toBe("我们中出了一个叛徒")
    expect(words.length).toBeGreaterThan(2)
    expect(words.length).toBeLessThan(9)
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
})

describe("Bm25", () => {
  const corpus = ["咽喉炎偏方", "治疗咽喉炎的偏方", "感冒吃什么药", "咽喉痛怎么办"]
  it("uses IDF and length normalization from the corpus", () => {
    const index = Bm25.make(corpus)
    expect(index.documents).toBe(4)
    expect(index.averageLength).toBeCloseTo((9 + 15 + 11 + 11) / 4, 12)
    expect(index.idf("咽")).toBeCloseTo(Math.log(1 + (4 - 3 + 0.5) / (3 + 0.5)), 15)
    expect(index.score("咽喉炎", "咽喉炎偏方")).toBeGreaterThan(index.score("咽喉炎", "咽喉痛怎么办"))
    expect(index.score("咽喉炎", "感冒吃什么药")).toBe(0)
    // a document outside the corpus is scored with its own length
    expect(index.score("咽喉炎", "咽喉炎")).toBeGreaterThan(0)
  })
  it("rejects bad parameters and supports the other tokenizers", () => {
    expect(() => Bm25.make(corpus, { b: 2 })).toThrow(/b <= 1/)
    expect(Bm25.make(corpus, { tokenizer: "jieba" }).score("咽喉炎", "治疗咽喉炎的偏方")).toBeGreaterThan(0)
    expect(Bm25.make(corpus, { tokenizer: "char" }).tokenizer).toBe("char")
  })
})

// The data README's lexical reference numbers, reproduced on the bundled dev tests.
const read = (set: string, file: string) =>
  readFileSync(new URL(`../../../data/${set}/${file}`, import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { qid: string; did: string; query: string; doc: string; label: number })

const ndcg10 = (rows: ReturnType<typeof read>, score: (q: string, d: string) => number) => {
  const byQuery = new Map<string, typeof rows>()
  for (const r of rows) byQuery.set(r.qid, [...(byQuery.get(r.qid) ?? []), r])
  let sum = 0
  for (const group of byQuery.values()) {
    const qrels = Object.fromEntries(group.map((r) => [r.did, r.label]))
    const run = Object.fromEntries(group.map((r) => [r.did, score(r.query, r.doc)]))
    sum += Metrics.ndcgAtK(qrels, run, 10)
  }
  return sum / byQuery.size
}

describe("reference scorers on the dev tests (data/SOURCE-README.md)", () => {
  const cases = [
    { set: "qbqtc", scorer: "cosine", ndcg: 0.822, ap: [0.853, 0.152, null] },
    { set: "qbqtc", scorer: "bm25", ndcg: 0.844, ap: [0.818, 0.124, null] },
    { set: "kuake_qtr", scorer: "cosine", ndcg: 0.894, ap: [0.944, 0.84, 0.671] },
    { set: "kuake_qtr", scorer: "bm25", ndcg: 0.887, ap: [0.905, 0.735, 0.543] }
  ] as const
  for (const c of cases) {
    it(`${c.set} ${c.scorer}`, async () => {
      const retrieval = read(c.set, "retrieval_test.jsonl")
      const pairs = read(c.set, "pair_test.jsonl")
      const make = (rows: typeof retrieval) =>
        c.scorer === "cosine" ? CharNgram.cosineUnigramsAndBigrams : Bm25.make(rows.map((r) => r.doc)).score
      const pairScore = make(pairs)
      const scored = await Effect.runPromise(
        c.scorer === "cosine"
          ? CharNgram.scorer("1-2")(pairs)
          : Effect.succeed(pairs.map((p) => pairScore(p.query, p.doc)))
      )
      const ap = Metrics.apAtThresholds(
        pairs.map((p) => p.label),
        scored
      )
      // AP matches the README's 3 printed decimals within one unit of the last digit
      const got = [ap["ap@>=1"], ap["ap@>=2"], ap["ap@>=3"]]
      got.forEach((v, i) => {
        const want = c.ap[i]
        if (want === null) expect(v).toBeNull()
        else expect(Math.abs((v as number) - want!)).toBeLessThanOrEqual(0.0011)
      })
      // nDCG@10 within 0.004 (qbqtc cosine exact to 3 decimals; see README for the residual differences)
      expect(Math.abs(ndcg10(retrieval, make(retrieval)) - c.ndcg)).toBeLessThan(0.004)
    })
  }
})
