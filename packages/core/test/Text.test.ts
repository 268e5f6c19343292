import { assert, describe, it } from "@effect/vitest"
import { Document, Text } from "@ssra/core"

describe("Text", () => {
  it("normalize folds full-width forms, the ideographic space, controls and zero-width marks", () => {
    assert.strictEqual(Text.normalize("ＱＱ邮箱　网页版"), "QQ邮箱 网页版")
    assert.strictEqual(Text.normalize("ｉＰｈｏｎｅ１５（官方）"), "iPhone15(官方)")
    assert.strictEqual(Text.normalize("  蜜蜂\t\n纪录片\u200b  "), "蜜蜂 纪录片")
    assert.strictEqual(Text.normalize("\uFEFF科目一\u0000"), "科目一")
    assert.strictEqual(Text.normalize("①㎏"), "1kg")
    // idempotent
    const once = Text.normalize("ＡＢＣ　１２３，你好！")
    assert.strictEqual(Text.normalize(once), once)
    assert.strictEqual(once, "ABC 123,你好!")
  })

  it("dedupKey makes near-identical queries equal", () => {
    assert.strictEqual(Text.dedupKey("ＱＱ邮箱，网页版！"), Text.dedupKey("qq邮箱 网页版"))
    assert.notStrictEqual(Text.dedupKey("qq邮箱"), Text.dedupKey("qq音乐"))
  })

  it("hanRatio and hasHan", () => {
    assert.strictEqual(Text.hanRatio("蜜蜂ab"), 0.5)
    assert.strictEqual(Text.hanRatio("123"), 0)
    assert.isTrue(Text.hasHan("qq邮箱"))
    assert.isFalse(Text.hasHan("qq mail"))
  })

  it("Document.render records title, OCR and ASR under a named template, normalized", () => {
    const doc = Document.make({ id: "v1", title: "蜜蜂　纪录片", ocr: "ＢＢＣ出品", asr: "" })
    assert.strictEqual(doc.text, "蜜蜂 纪录片\n画面文字：BBC出品")
    assert.strictEqual(Document.defaultTemplate.id, "title-ocr-asr/v1")
    assert.throws(() => Document.make({ id: "v2", title: "　" }), /empty text/)
  })
})
