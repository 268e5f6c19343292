import { assert, describe, it } from "@effect/vitest"
import { Sampling } from "@ssra/core"
import { Effect, Random } from "effect"

const items = Array.from({ length: 200 }, (_, i) => ({ id: i, grade: i % 4, group: `q${i % 37}` }))

describe("Sampling", () => {
  it("SeededRandom: same seed, same stream; another seed, another stream", () => {
    const draw = (seed: number) => {
      const rng = new Sampling.SeededRandom(seed)
      return Array.from({ length: 32 }, () => rng.nextUint32())
    }
    assert.deepStrictEqual(draw(52), draw(52))
    assert.notDeepEqual(draw(52), draw(53))
    const rng = new Sampling.SeededRandom(7)
    for (let i = 0; i < 1000; i++) {
      const x = rng.next()
      assert.isTrue(x >= 0 && x < 1)
      const k = rng.int(5)
      assert.isTrue(Number.isInteger(k) && k >= 0 && k < 5)
    }
    assert.deepStrictEqual(
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.next()
        )(new Sampling.SeededRandom(1).fork("negatives"))
      ),
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.next()
        )(new Sampling.SeededRandom(1).fork("negatives"))
      )
    )
  })

  it("shuffle and sample are deterministic per seed and permute without loss", () => {
    const a = Sampling.shuffle(items, 52)
    assert.deepStrictEqual(a, Sampling.shuffle(items, 52))
    assert.notDeepEqual(a, Sampling.shuffle(items, 53))
    assert.notDeepEqual(a, items)
    assert.deepStrictEqual(
      [...a].sort((x, y) => x.id - y.id),
      items
    )
    const s = Sampling.sample(items, 10, 1)
    assert.strictEqual(s.length, 10)
    assert.strictEqual(new Set(s.map((x) => x.id)).size, 10)
    assert.deepStrictEqual(s, Sampling.sample(items, 10, 1))
    assert.notDeepEqual(s, Sampling.sample(items, 10, 2))
    assert.strictEqual(Sampling.sample(items, 1000, 1).length, items.length)
  })

  it("splitByGroup keeps each group on one side, deterministically", () => {
    const { first, second } = Sampling.splitByGroup(items, (x) => x.group, 0.2, 9)
    assert.strictEqual(first.length + second.length, items.length)
    const firstGroups = new Set(first.map((x) => x.group))
    for (const x of second) assert.isFalse(firstGroups.has(x.group))
    assert.strictEqual(new Set(second.map((x) => x.group)).size, Math.round(37 * 0.2))
    assert.deepStrictEqual(
      Sampling.splitByGroup(items, (x) => x.group, 0.2, 9),
      { first, second }
    )
    // input order does not change which groups are held out
    const reversed = Sampling.splitByGroup([...items].reverse(), (x) => x.group, 0.2, 9)
    assert.deepStrictEqual(new Set(reversed.second.map((x) => x.group)), new Set(second.map((x) => x.group)))
    assert.notDeepEqual(
      new Set(Sampling.splitByGroup(items, (x) => x.group, 0.2, 10).second.map((x) => x.group)),
      new Set(second.map((x) => x.group))
    )
  })

  it("balanced takes up to n per stratum; stratified keeps the shares", () => {
    const skewed = [...items, ...Array.from({ length: 100 }, (_, i) => ({ id: 1000 + i, grade: 0, group: "g" }))]
    const b = Sampling.balanced(skewed, (x) => x.grade, 20, 52)
    assert.strictEqual(b.length, 80)
    for (const g of [0, 1, 2, 3]) assert.strictEqual(b.filter((x) => x.grade === g).length, 20)
    assert.deepStrictEqual(
      b,
      Sampling.balanced(skewed, (x) => x.grade, 20, 52)
    )
    assert.notDeepEqual(
      b,
      Sampling.balanced(skewed, (x) => x.grade, 20, 53)
    )

    const s = Sampling.stratified(skewed, (x) => x.grade, 60, 5)
    assert.strictEqual(s.length, 60)
    // grade 0 holds 150 of 300 rows: half of the sample
    assert.strictEqual(s.filter((x) => x.grade === 0).length, 30)
    for (const g of [1, 2, 3]) assert.strictEqual(s.filter((x) => x.grade === g).length, 10)
    assert.deepStrictEqual(
      s,
      Sampling.stratified(skewed, (x) => x.grade, 60, 5)
    )
  })

  it.effect("withSeed and fromRandom make Effect's Random reproducible", () =>
    Effect.gen(function* () {
      const draw = Effect.gen(function* () {
        const a = yield* Random.nextIntBetween(0, 1_000_000)
        const rng = yield* Sampling.fromRandom
        return [a, rng.nextUint32()]
      })
      const x = yield* Sampling.withSeed(52)(draw)
      const y = yield* Sampling.withSeed(52)(draw)
      const z = yield* Sampling.withSeed(53)(draw)
      assert.deepStrictEqual(x, y)
      assert.notDeepEqual(x, z)
    })
  )

  it("hashSeed is stable", () => {
    assert.strictEqual(Sampling.hashSeed("qbqtc"), Sampling.hashSeed("qbqtc"))
    assert.notStrictEqual(Sampling.hashSeed("qbqtc"), Sampling.hashSeed("kuake_qtr"))
    // FNV-1a 32-bit of the empty string
    assert.strictEqual(Sampling.hashSeed(""), 0x811c9dc5)
  })
})
