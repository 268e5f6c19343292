import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { DualEncoder, Featurizer, Lexical, Safetensors } from "@ssra/embedding"
import { Effect } from "effect"
import { tmp } from "./helpers.js"

const docs = [
  "我的眼皮老是很痒，是什么原因",
  "眼睑炎怎么治疗",
  "感冒发烧吃什么药",
  "Hello world, hello again",
  "qq邮箱网页版登录入口"
]
const lexicalConfig: Lexical.LexicalConfig = {
  ...Lexical.defaultConfig,
  dimensions: 256,
  featurizer: { ...Lexical.defaultConfig.featurizer, buckets: 1 << 12 }
}

const withLexical = (weight: number) => {
  const model = DualEncoder.make(
    {
      featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 10 },
      dimensions: 32,
      lexical: { ...lexicalConfig, weight }
    },
    3
  )
  DualEncoder.fitLexical(model, docs)
  return model
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, j) => s + v * b[j]!, 0)

/** BM25 over the same hashed features, written directly (k1 1.2, b 0.75), as the reference for the channel. */
const bm25 = (channel: Lexical.LexicalChannel, query: string, doc: string): number => {
  const d = channel.featurizer.featurize(doc)
  const tf = new Map<number, number>()
  for (const id of d) tf.set(id, (tf.get(id) ?? 0) + 1)
  const norm = 1.2 * (1 - 0.75 + (0.75 * d.length) / channel.stats.averageLength)
  let s = 0
  for (const id of channel.featurizer.featurize(query)) {
    const f = tf.get(id)
    if (f !== undefined) s += channel.stats.idf[id]! * ((f * 2.2) / (f + norm))
  }
  return s
}

describe("Lexical channel", () => {
  it.effect("cos = α·lexical + (1 − α)·learned; documents are unit vectors; the lexical part ranks as BM25", () =>
    Effect.gen(function* () {
      const alpha = 0.7
      const model = withLexical(alpha)
      assert.strictEqual(model.dimensions, 32 + 256 + 1)
      const query = "眼皮很痒"
      const [q] = yield* model.embed([query], { kind: "query" })
      const d = yield* model.embed(docs, { kind: "document" })
      const [ql] = yield* model.embed([query], { kind: "query", dimensions: 32 })
      const dl = yield* model.embed(docs, { kind: "document", dimensions: 32 })
      const lexOnly = DualEncoder.withLexicalWeight(model, 1)
      const [qx] = yield* lexOnly.embed([query], { kind: "query" })
      const dx = yield* lexOnly.embed(docs, { kind: "document" })
      assert.approximately(Math.hypot(...q!), 1, 1e-5)
      for (let i = 0; i < docs.length; i++) {
        assert.approximately(Math.hypot(...d[i]!), 1, 1e-5)
        assert.approximately(dot(q!, d[i]!), alpha * dot(qx!, dx[i]!) + (1 - alpha) * dot(ql!, dl[i]!), 1e-5)
      }
      // with 256 slots and these short texts the hashed lexical score is BM25 / (‖idf_q‖ · cap) up to collisions
      const channel = model.lexical!
      const [qIdf] = [Lexical.encode(channel, query, "query")]
      assert.approximately(qIdf!.squaredNorm, 1, 1e-9)
      const ratios = docs.map((doc, i) => dot(qx!, dx[i]!) / Math.max(bm25(channel, query, doc), 1e-12))
      const nonZero = docs.map((doc) => bm25(channel, query, doc)).filter((s) => s > 0)
      assert.isAbove(nonZero.length, 1)
      const ranked = (scores: ReadonlyArray<number>) => scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!)
      assert.deepStrictEqual(
        ranked(docs.map((_, i) => dot(qx!, dx[i]!)))[0],
        ranked(docs.map((doc) => bm25(channel, query, doc)))[0]
      )
      assert.isTrue(ratios.every(Number.isFinite))
    })
  )

  it.effect("learned prefixes (Matryoshka) are the learned part alone; other widths are refused", () =>
    Effect.gen(function* () {
      const model = withLexical(0.5)
      const plain = DualEncoder.make(
        { featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 10 }, dimensions: 32 },
        3
      )
      const a = yield* model.embed(docs, { kind: "document", dimensions: 16 })
      const b = yield* plain.embed(docs, { kind: "document", dimensions: 16 })
      for (let i = 0; i < docs.length; i++) assert.deepStrictEqual(Array.from(a[i]!), Array.from(b[i]!))
      const bad = yield* Effect.flip(model.embed(["眼睑"], { kind: "query", dimensions: 100 }))
      assert.include(bad.message, "or 289 (learned + lexical)")
    })
  )

  it.effect(
    "checkpoint round trip is exact (format version 2); a model without the channel still writes version 1",
    () =>
      Effect.gen(function* () {
        const model = withLexical(0.9)
        model.queryTable[5] = 0.25
        const dir = path.join(tmp(), "lex")
        yield* DualEncoder.save(model, dir)
        const json = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
        assert.strictEqual(json.formatVersion, 2)
        assert.strictEqual(json.model.lexical.weight, 0.9)
        assert.strictEqual(
          Safetensors.readSync(path.join(dir, "model.safetensors")).tensors["lexical.idf"]!.data.length,
          1 << 12
        )
        const loaded = yield* DualEncoder.load(dir)
        for (const kind of ["query", "document"] as const) {
          const x = yield* model.embed(docs, { kind })
          const y = yield* loaded.embed(docs, { kind })
          for (let i = 0; i < docs.length; i++) assert.deepStrictEqual(Array.from(y[i]!), Array.from(x[i]!))
        }
        const cloned = DualEncoder.clone(model)
        const z = yield* cloned.embed(docs, { kind: "document" })
        const x = yield* model.embed(docs, { kind: "document" })
        assert.deepStrictEqual(Array.from(z[0]!), Array.from(x[0]!))
        // the lexical channel in a version-1 file is refused, not silently dropped
        fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...json, formatVersion: 1 }))
        assert.strictEqual((yield* Effect.flip(DualEncoder.load(dir))).reason, "corrupt")
        const plainDir = path.join(tmp(), "plain")
        yield* DualEncoder.save(
          DualEncoder.make({ featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 10 }, dimensions: 32 }, 3),
          plainDir
        )
        const plainJson = JSON.parse(fs.readFileSync(path.join(plainDir, "config.json"), "utf8"))
        assert.strictEqual(plainJson.formatVersion, 1)
        assert.isUndefined(plainJson.model.lexical)
      })
  )
})
