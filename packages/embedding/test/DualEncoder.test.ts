import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { AtomicFile } from "@ssra/core"
import { DualEncoder, Featurizer, Safetensors } from "@ssra/embedding"
import { Effect, Exit } from "effect"
import { tmp } from "./helpers.js"

const small = (towers: "shared" | "separate" = "shared") =>
  DualEncoder.make({ featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 10 }, dimensions: 32, towers }, 3)

const texts = ["眼睑老是痒", "我的眼皮老是很痒，是什么原因", "Hello world", "？"]

describe("DualEncoder", () => {
  it.effect("embeds L2-normalized vectors; Matryoshka prefixes are re-normalized", () =>
    Effect.gen(function* () {
      const model = small()
      const full = yield* model.embed(texts, { kind: "document" })
      const prefix = yield* model.embed(texts, { kind: "document", dimensions: 16 })
      for (let i = 0; i < texts.length; i++) {
        assert.strictEqual(full[i]!.length, 32)
        assert.strictEqual(prefix[i]!.length, 16)
        assert.approximately(Math.hypot(...full[i]!), 1, 1e-5)
        assert.approximately(Math.hypot(...prefix[i]!), 1, 1e-5)
        const n = Math.hypot(...full[i]!.subarray(0, 16))
        for (let j = 0; j < 16; j++) assert.approximately(prefix[i]![j]!, full[i]![j]! / n, 1e-6)
      }
      assert.deepStrictEqual(model.config.matryoshkaDimensions, [32])
      assert.deepStrictEqual(
        DualEncoder.make({ dimensions: 128, featurizer: { ...Featurizer.defaultConfig, buckets: 64 } }).config
          .matryoshkaDimensions,
        [32, 64, 128]
      )
    })
  )

  it.effect("an empty text or a bad width is a ModelError (invalid-input)", () =>
    Effect.gen(function* () {
      const model = small()
      const empty = yield* Effect.flip(model.embed(["ok", " "], { kind: "query" }))
      assert.strictEqual(empty.reason, "invalid-input")
      assert.include(empty.message, "empty after normalization")
      const wide = yield* Effect.flip(model.embed(["ok"], { kind: "query", dimensions: 64 }))
      assert.include(wide.message, "1..32")
    })
  )

  it.effect("works as an effect/ai EmbeddingModel", () =>
    Effect.gen(function* () {
      const model = small()
      const ai = yield* DualEncoder.embeddingModel(model, { kind: "document", dimensions: 16 })
      const many = yield* ai.embedMany(texts)
      const direct = yield* model.embed(texts, { kind: "document", dimensions: 16 })
      assert.strictEqual(many.embeddings.length, texts.length)
      many.embeddings.forEach((e, i) => {
        assert.deepStrictEqual(e.vector, Array.from(direct[i]!))
      })
      const one = yield* ai.embed(texts[0]!)
      assert.deepStrictEqual(one.vector, Array.from(direct[0]!))
      const error = yield* Effect.flip(ai.embedMany(["   "]))
      assert.strictEqual(error._tag, "AiError")
    })
  )

  it.effect("save → load gives bit-identical embeddings (shared and separate towers)", () =>
    Effect.gen(function* () {
      for (const towers of ["shared", "separate"] as const) {
        const model = small(towers)
        model.documentTable[5] = 0.123456789
        model.provenance = { data: { rowsSha256: "abc" } }
        const dir = path.join(tmp(), "model")
        yield* DualEncoder.save(model, dir)
        assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["config.json", "model.safetensors"])
        const back = yield* DualEncoder.load(dir)
        assert.deepStrictEqual(back.config, model.config)
        assert.deepStrictEqual(back.provenance, model.provenance)
        assert.strictEqual(back.logTemperature, model.logTemperature)
        for (const kind of ["query", "document"] as const) {
          const a = yield* model.embed(texts, { kind })
          const b = yield* back.embed(texts, { kind })
          for (let i = 0; i < texts.length; i++)
            assert.deepStrictEqual(Buffer.from(a[i]!.buffer), Buffer.from(b[i]!.buffer))
        }
        // overwrite in place keeps a loadable directory
        yield* DualEncoder.save(back, dir)
        assert.strictEqual((yield* DualEncoder.load(dir)).id, model.id)
      }
    })
  )

  it.effect("idf feature weights: fitted BM25 IDF, saved and loaded with the model", () =>
    Effect.gen(function* () {
      const model = DualEncoder.make(
        { featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 10 }, dimensions: 16, featureWeighting: "idf" },
        3
      )
      const corpus = ["感冒怎么办", "感冒吃什么药", "感冒发烧", "骨折怎么办"]
      DualEncoder.fitFeatureWeights(model, corpus)
      const [common] = model.featurizer.featurize("感冒")
      const [rare] = model.featurizer.featurize("骨折")
      assert.approximately(model.featureWeights![common!]!, Math.log(1 + 1.5 / 3.5), 1e-6)
      assert.isAbove(model.featureWeights![rare!]!, model.featureWeights![common!]!)
      const dir = path.join(tmp(), "idf")
      yield* DualEncoder.save(model, dir)
      const back = yield* DualEncoder.load(dir)
      assert.deepStrictEqual(back.featureWeights, model.featureWeights)
      const a = yield* model.embed(corpus, { kind: "query" })
      const b = yield* back.embed(corpus, { kind: "query" })
      assert.deepStrictEqual(a, b)
      assert.throws(() => DualEncoder.fitFeatureWeights(small(), corpus), /featureWeighting/)
    })
  )

  it.effect("writes a standard safetensors file", () =>
    Effect.gen(function* () {
      const dir = path.join(tmp(), "m")
      yield* DualEncoder.save(small("separate"), dir)
      const bytes = fs.readFileSync(path.join(dir, "model.safetensors"))
      const headerLength = Number(bytes.readBigUInt64LE(0))
      assert.strictEqual((8 + headerLength) % 8, 0)
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"))
      assert.deepStrictEqual(header["query.embedding"].shape, [1024, 32])
      assert.strictEqual(header["query.embedding"].dtype, "F32")
      assert.strictEqual(header.__metadata__.formatVersion, "1")
      const ends = Object.entries(header)
        .filter(([k]) => k !== "__metadata__")
        .map(([, v]: any) => v.data_offsets[1])
      assert.strictEqual(8 + headerLength + Math.max(...ends), bytes.length)
      const file = Safetensors.readSync(path.join(dir, "model.safetensors"))
      assert.strictEqual(file.tensors["document.embedding"]!.data.length, 1024 * 32)
    })
  )

  it.effect("refuses a checkpoint of another format version, a corrupt file and NaN weights", () =>
    Effect.gen(function* () {
      const dir = path.join(tmp(), "m")
      const model = small()
      yield* DualEncoder.save(model, dir)
      const configFile = path.join(dir, "config.json")
      const json = JSON.parse(fs.readFileSync(configFile, "utf8"))
      fs.writeFileSync(configFile, JSON.stringify({ ...json, formatVersion: 3 }))
      const version = yield* Effect.flip(DualEncoder.load(dir))
      assert.strictEqual(version.reason, "version")
      assert.include(version.message, "format version 3 is not supported")
      fs.writeFileSync(configFile, JSON.stringify(json))
      const weights = path.join(dir, "model.safetensors")
      fs.appendFileSync(weights, "x")
      assert.strictEqual((yield* Effect.flip(DualEncoder.load(dir))).reason, "mismatch")
      assert.strictEqual((yield* Effect.flip(DualEncoder.load(path.join(dir, "nope")))).reason, "not-found")
      model.queryTable[7] = Number.NaN
      const target = path.join(tmp(), "nan")
      const exit = yield* Effect.exit(DualEncoder.save(model, target))
      assert.isTrue(Exit.isFailure(exit))
      assert.isFalse(fs.existsSync(target))
      assert.throws(() => Safetensors.decode(new Uint8Array(4)), /shorter than the 8-byte header/)
      // a config.json the model refuses is an invalid checkpoint, not a disk problem
      const bad = path.join(tmp(), "bad")
      yield* DualEncoder.save(small(), bad)
      const badConfig = JSON.parse(fs.readFileSync(path.join(bad, "config.json"), "utf8"))
      badConfig.model.matryoshkaDimensions = [64, 8]
      fs.writeFileSync(path.join(bad, "config.json"), JSON.stringify(badConfig))
      const invalid = yield* Effect.flip(DualEncoder.load(bad))
      assert.strictEqual(invalid.reason, "invalid")
      assert.notInclude(invalid.message, "writable")
      badConfig.model.matryoshkaDimensions = json.model.matryoshkaDimensions
      badConfig.weights.file = "../m/model.safetensors"
      fs.writeFileSync(path.join(bad, "config.json"), JSON.stringify(badConfig))
      const outside = yield* Effect.flip(DualEncoder.load(bad))
      assert.strictEqual(outside.reason, "invalid")
      assert.include(outside.message, "not a file name inside the checkpoint directory")
    })
  )

  it.effect("a swap killed between its two renames is finished on the next load or save", () =>
    Effect.gen(function* () {
      const root = tmp()
      const dir = path.join(root, "m")
      const a = small()
      yield* DualEncoder.save(a, dir)
      const b = small()
      b.queryTable[0] = b.queryTable[0]! + 1
      // the state a kill leaves: the new copy complete in its temp, the old one moved aside, no `m`
      const temp = path.join(root, ".m.4242.tmp-AbCdEf")
      yield* DualEncoder.save(b, path.join(root, "b"))
      fs.renameSync(path.join(root, "b"), temp)
      fs.renameSync(dir, `${temp}.old`)
      const loaded = yield* DualEncoder.load(dir)
      assert.deepStrictEqual(loaded.queryTable, b.queryTable)
      assert.deepStrictEqual(fs.readdirSync(root), ["m"])
      // only the old copy left (the new one lost): the old one comes back
      fs.renameSync(dir, `${temp}.old`)
      assert.isTrue(AtomicFile.recoverDirectorySync(dir))
      assert.deepStrictEqual((yield* DualEncoder.load(dir)).queryTable, b.queryTable)
      assert.isFalse(AtomicFile.recoverDirectorySync(dir))
    })
  )

  it("make refuses a config outside its schema instead of guessing", () => {
    assert.throws(() => DualEncoder.make({ pooling: "max" as never }), /invalid DualEncoder config/)
    assert.throws(() => DualEncoder.make({ towers: "x" as never }), /invalid DualEncoder config/)
    assert.throws(() => DualEncoder.make({ initScale: Number.NaN }), /invalid DualEncoder config/)
  })
})
