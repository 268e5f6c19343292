import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { Hash } from "../src/index.js"

describe("Hash.hashValue", () => {
  const reference = (v: unknown) => Hash.sha256(Hash.canonicalJson(v))

  it("equals the SHA-256 of canonicalJson for every kind of value", () => {
    const values: Array<unknown> = [
      0,
      -0,
      1.5e300,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      "",
      '感冒吃什么药 \u2028 "quoted" \\ \n',
      true,
      null,
      [],
      {},
      [undefined, () => 1, Symbol("s"), null, 1],
      { b: 1, a: undefined, c: () => 1, d: null },
      // integer-like keys are enumerated first, numerically, whatever the sort says
      { "10": "x", "9": "y", a: 1, "-1": 2, "01": 3, "4294967295": 4, "4294967294": 5 },
      { z: [{ y: 1, x: [2, { w: 3, v: [] }] }], nested: { b: { d: 1, c: 2 }, a: [[[]]] } },
      new Uint8Array([3, 1, 2]),
      { bytes: new Uint8Array([9, 8]), when: new Date(0), some: Option.some(1) },
      Object.assign(Object.create(null), { b: 2, a: 1 }),
      { toJSON: () => ({ b: 1, a: 2 }) },
      // JSON.stringify semantics: toJSON(key) first, then the canonical replacer
      { a: { toJSON: () => undefined }, b: 1 },
      [{ toJSON: () => undefined }],
      { k: { toJSON: (key: string) => key }, list: [{ toJSON: (key: string) => `at ${key}` }] },
      { a: Object.assign([1, 2], { toJSON: () => "x" }) },
      { toJSON: 5, a: 1 },
      { b: Buffer.from("hi"), m: new Map([[1, 2]]), s: new Set([1]), f: new Float64Array([1.5]) },
      { n: new Number(1), s: new String("ab"), t: new Boolean(true) },
      {
        get g() {
          return { b: 1, a: 2 }
        }
      },
      new Array(3), // holes
      Object.assign(new Array(3), { 1: 2 }),
      { "\ud800": "\udc00x", s: `${"a".repeat(70_000)}\ud83d\ude00` },
      new (class A {
        z = 1
        a = { y: 2, x: 1 }
      })()
    ]
    for (const [i, v] of values.entries()) assert.strictEqual(Hash.hashValue(v), reference(v), `value #${i}`)
  })

  it("fails where JSON.stringify gives no text: undefined, a function, a circular structure, a BigInt", () => {
    assert.throws(() => Hash.hashValue(undefined), /no JSON text/)
    assert.throws(() => Hash.hashValue(() => 1), /no JSON text/)
    const loop: Array<unknown> = [1]
    loop.push({ loop })
    assert.throws(() => Hash.hashValue(loop), /circular/)
    assert.throws(() => Hash.hashValue({ a: 1n }), TypeError)
  })

  it("a value larger than the flush size hashes the same as its whole text", () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({
      qid: `q${i}`,
      query: `查询 ${i}`,
      doc: `文档标题 ${"长".repeat(i % 50)}`,
      probabilities: [0.1, 0.2, i / 20_000]
    }))
    const text = Hash.canonicalJson(rows)
    assert.isAbove(text.length, 1 << 20)
    assert.strictEqual(Hash.hashValue(rows), Hash.sha256(text))
    assert.notStrictEqual(Hash.hashValue(rows), Hash.hashValue(rows.slice(1)))
  })
})
