import { assert, describe, it } from "@effect/vitest"
import { Featurizer } from "@ssra/embedding"

describe("Featurizer", () => {
  const f = Featurizer.make({ buckets: 1 << 12 })

  it("emits char bigrams inside letter runs and jieba words", () => {
    const features = f.features("益生菌，一天")
    assert.includeMembers([...features], ["c2:益生", "c2:生菌", "c2:一天", "w:益生菌", "w:一天"])
    assert.notInclude([...features], "c2:菌,")
    assert.notInclude([...features], "c2:菌一")
  })

  it("normalizes with core Text.normalize (full-width folds) and lower-cases", () => {
    assert.deepStrictEqual(f.featurize("ＡＢＣ  def"), f.featurize("abc def"))
  })

  it("is deterministic and seed-dependent; ids stay inside the bucket range", () => {
    const a = f.featurize("大人吃益生菌一天是几条")
    assert.deepStrictEqual(a, Featurizer.make({ buckets: 1 << 12 }).featurize("大人吃益生菌一天是几条"))
    assert.notDeepEqual(a, Featurizer.make({ buckets: 1 << 12, seed: 9 }).featurize("大人吃益生菌一天是几条"))
    assert.isTrue(a.every((id) => id >= 0 && id < 1 << 12))
  })

  it("optional unigrams; a one-character run still counts", () => {
    const uni = Featurizer.make({ charNgrams: [1, 2], words: false })
    assert.deepStrictEqual([...uni.features("眼皮")], ["c1:眼", "c1:皮", "c2:眼皮"])
    assert.deepStrictEqual([...Featurizer.make({ words: false }).features("痒")], ["c1:痒"])
  })

  it("punctuation-only text falls back to its characters; empty text is a FeaturizeError", () => {
    assert.deepStrictEqual([...f.features("？！")], ["f:?", "f:!"])
    assert.throws(() => f.featurize("  \u200b "), /empty after normalization/)
    try {
      f.featurize("")
      assert.fail("expected a FeaturizeError")
    } catch (error) {
      assert.instanceOf(error, Featurizer.FeaturizeError)
    }
  })
})
