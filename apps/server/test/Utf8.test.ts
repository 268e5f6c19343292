import { assert, describe, it } from "@effect/vitest"
import * as Utf8 from "../src/internal/utf8.js"

const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>) =>
  new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p)))))

describe("strict UTF-8 of request bodies", () => {
  it("valid text (Chinese, 4-byte emoji, a BOM) decodes; invalid bytes give the first bad offset", () => {
    assert.deepStrictEqual(Utf8.decode(bytes("蜜蜂🐝 ok")), { text: "蜜蜂🐝 ok" })
    assert.strictEqual(Utf8.firstInvalidOffset(bytes([0xef, 0xbb, 0xbf], "{}")), -1)
    // a lone continuation byte, a truncated 3-byte sequence, an overlong "/", a UTF-16 surrogate, > U+10FFFF
    assert.strictEqual(Utf8.firstInvalidOffset(bytes("ab", [0x80])), 2)
    assert.strictEqual(Utf8.firstInvalidOffset(bytes("蜜", [0xe8, 0x9c], "x")), 3)
    assert.strictEqual(Utf8.firstInvalidOffset(bytes("a", [0xc0, 0xaf])), 1)
    assert.strictEqual(Utf8.firstInvalidOffset(bytes([0xed, 0xa0, 0x80])), 0)
    assert.strictEqual(Utf8.firstInvalidOffset(bytes("🐝", [0xf4, 0x90, 0x80, 0x80])), 4)
    assert.deepStrictEqual(Utf8.decode(bytes("a", [0xff])), { offset: 1, byte: 0xff })
  })
})
