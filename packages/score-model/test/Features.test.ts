import { assert, describe, it } from "@effect/vitest"
import { Features } from "@ssra/score-model"

describe("Features", () => {
  const r = Features.resources(["感冒吃什么药好", "头疼怎么办", "汽车保养常识", "宝宝发烧怎么办"])
  const row = (query: string, doc: string) => {
    const m = Features.lexical(r, [{ query, doc }])
    return Object.fromEntries(m.names.map((n, i) => [n, m.values[i]!])) as Record<
      (typeof Features.lexicalNames)[number],
      number
    >
  }

  it("computes hand-checked coverage, containment and LCS values", () => {
    const f = row("头疼", "头疼怎么办")
    assert.strictEqual(f.char_cov_query, 1)
    assert.strictEqual(f.char_cov_doc, 2 / 5)
    assert.strictEqual(f.bigram_cov_query, 1)
    assert.strictEqual(f.bigram_cov_doc, 1 / 4)
    assert.strictEqual(f.lcs_over_query, 1)
    assert.strictEqual(f.lcs_over_doc, 2 / 5)
    assert.strictEqual(f.query_in_title, 1)
    assert.strictEqual(f.title_in_query, 0)
    assert.strictEqual(f.exact_title, 0)
    assert.strictEqual(f.missing_words, 0)
    assert.isAbove(f.bm25, 0)
    const none = row("头疼", "汽车保养常识")
    assert.strictEqual(none.char_cov_query, 0)
    assert.strictEqual(none.bm25, 0)
    assert.strictEqual(none.lcs_over_query, 0)
    assert.strictEqual(none.word_cov_query, 0)
    assert.isAbove(none.missing_max_idf, 0)
    assert.strictEqual(none.has_ascii_query, 0)
    assert.strictEqual(none.ascii_cov_query, 1)
  })

  it("matches on the title (first line) and ASCII tokens", () => {
    const f = row("iPhone 15 价格", "iphone 15价格\n画面文字：苹果手机")
    assert.strictEqual(f.exact_title, 1)
    assert.strictEqual(f.has_ascii_query, 1)
    assert.strictEqual(f.ascii_cov_query, 1)
    const partial = row("iphone 16", "iphone 15 价格")
    assert.strictEqual(partial.ascii_cov_query, 1 / 2)
    // the trailing site name is not part of the main title
    const site = row("qq邮箱", "怎样登录qq邮箱-百度经验")
    assert.strictEqual(site.main_title_cov_query, 1)
    assert.strictEqual(site.main_title_cov_title, 3 / 7)
    assert.isAbove(site.extra_idf_share, 0)
    assert.isAbove(site.extra_max_idf, 0)
    const same = row("qq邮箱", "qq邮箱")
    assert.strictEqual(same.extra_idf_share, 0)
    assert.strictEqual(same.extra_max_idf, 0)
  })

  it("standardizes with stored mean/std and never writes NaN", () => {
    const m = Features.lexical(r, [
      { query: "头疼", doc: "头疼怎么办" },
      { query: "感冒", doc: "汽车" }
    ])
    const s = Features.fitStandardizer(m)
    const z = Features.standardize(m, s)
    assert.isTrue(z.every((v) => Number.isFinite(v)))
    assert.isTrue(s.std.every((v) => v > 0))
  })
})
