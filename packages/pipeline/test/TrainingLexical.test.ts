import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { Pair } from "@ssra/core"
import { DualEncoder, Lexical } from "@ssra/embedding"
import { Effect, Exit, Result } from "effect"
import { afterAll } from "vitest"
import { Evaluate, Pipeline, PipelineConfig, type RunManifest, Training } from "../src/index.js"
import { dataDir, tinyConfig } from "./fixtures/tiny.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-lexical-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
const tmp = (name: string) => path.join(root, name)

const readJsonl = (file: string): Array<any> =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))

/** Decodes defaults ← `layer` as a config file would be; the error message on failure. */
const decode = (layer: unknown) =>
  Effect.result(PipelineConfig.decodeResolved(PipelineConfig.merge(PipelineConfig.defaults, layer))).pipe(
    Effect.map((r) => (Result.isSuccess(r) ? { config: r.success } : { error: String(r.failure.message) }))
  )

describe("training.lexical config", () => {
  it.effect("is off by default; {} turns it on with the documented defaults; explicit fields are kept", () =>
    Effect.gen(function* () {
      assert.isNull(PipelineConfig.defaults.training.lexical)
      const off = yield* decode({})
      assert.isNull(off.config!.training.lexical)
      const on = yield* decode({ training: { lexical: {} } })
      assert.deepStrictEqual(on.config!.training.lexical, { dimensions: 2048, weight: 0.8, k1: 1.2, b: 0.75 })
      const set = yield* decode({ training: { lexical: { dimensions: 512, weight: 0.5, k1: 2, b: 0.3 } } })
      assert.deepStrictEqual(set.config!.training.lexical, { dimensions: 512, weight: 0.5, k1: 2, b: 0.3 })
      // a later layer's null turns an earlier layer's channel off
      const merged = PipelineConfig.merge(
        PipelineConfig.defaults,
        { training: { lexical: { weight: 0.5 } } },
        {
          training: { lexical: null }
        }
      ) as PipelineConfig.Config
      assert.isNull(merged.training.lexical)
    })
  )

  it.effect("rejects out-of-range values and unknown keys, naming the field", () =>
    Effect.gen(function* () {
      const weight = yield* decode({ training: { lexical: { weight: 1.5 } } })
      assert.isUndefined(weight.config)
      assert.include(weight.error, `["training"]["lexical"]["weight"]`)
      assert.include(weight.error, "between 0 and 1")
      const dims = yield* decode({ training: { lexical: { dimensions: 0 } } })
      assert.include(dims.error, `["training"]["lexical"]["dimensions"]`)
      assert.include(dims.error, "between 1 and 65536")
      const big = yield* decode({ training: { lexical: { dimensions: 70000 } } })
      assert.include(big.error, `["training"]["lexical"]["dimensions"]`)
      const fractional = yield* decode({ training: { lexical: { dimensions: 10.5 } } })
      assert.include(fractional.error, `["training"]["lexical"]["dimensions"]`)
      // every issue is reported, not just the first
      const both = yield* decode({ training: { lexical: { k1: -1, b: 2 } } })
      assert.include(both.error, `["training"]["lexical"]["k1"]`)
      assert.include(both.error, `["training"]["lexical"]["b"]`)
      const typo = yield* decode({ training: { lexical: { alpha: 0.5 } } })
      assert.include(typo.error, `["training"]["lexical"]["alpha"]`)
      const notObject = yield* decode({ training: { lexical: true } })
      assert.include(notObject.error, `["training"]["lexical"]`)
    })
  )

  it("maps the section onto Lexical's config (defaults for absent fields, its own featurizer)", () => {
    assert.isNull(Training.lexicalConfig(null))
    assert.isNull(Training.lexicalConfig(undefined))
    assert.deepStrictEqual(Training.lexicalConfig({ dimensions: 256 }), {
      ...Lexical.defaultConfig,
      dimensions: 256,
      weight: 0.8
    })
  })
})

// The first labeled rows of the bundled Quark set (≈ 20 queries with graded candidates).
const labeledSlice = (): Array<Pair.LabeledPair> =>
  readJsonl(path.join(dataDir, "labeled.jsonl"))
    .slice(0, 160)
    .map((r) => ({ qid: r.qid, did: r.did, query: r.query, doc: r.doc, label: r.label }))

const stubRecorder = { addStage: () => Effect.void } as unknown as RunManifest.Recorder

const trainSlice = (runDir: string, lexical: unknown) => {
  const config = tinyConfig(runDir, { training: { lexical } })
  return Training.run(
    { config, runDir, recorder: stubRecorder },
    { system: "base", labeled: labeledSlice(), synthetic: [], binary: false, scale: { max: 3 } }
  )
}

describe("training with the lexical channel (stage level)", () => {
  it.effect("the artifact key changes with the channel and its settings; without it the spec is unchanged", () =>
    Effect.gen(function* () {
      const runDir = tmp("keys")
      const off = yield* trainSlice(runDir, null)
      const on = yield* trainSlice(runDir, { dimensions: 128, weight: 0.8 })
      const onExplicit = yield* trainSlice(runDir, { dimensions: 128, weight: 0.8, k1: 1.2, b: 0.75 })
      const otherWeight = yield* trainSlice(runDir, { dimensions: 128, weight: 0.5 })
      assert.notStrictEqual(on.record.key, off.record.key)
      assert.notStrictEqual(otherWeight.record.key, on.record.key)
      // the same resolved channel is the same artifact (reused, not retrained)
      assert.strictEqual(onExplicit.record.key, on.record.key)
      assert.isTrue(onExplicit.skipped)
      // off: the spec has exactly the fields it had before the option existed (old cache keys stay valid)
      const offConfig = off.record.config as { model: Record<string, unknown>; args: Record<string, unknown> }
      assert.deepStrictEqual(Object.keys(offConfig.model).sort(), ["dimensions", "featurizer"])
      assert.notProperty(offConfig.args, "lexicalResidual")
      const onConfig = on.record.config as { model: { lexical: Lexical.LexicalConfig }; args: Record<string, unknown> }
      assert.deepStrictEqual(onConfig.model.lexical, { ...Lexical.defaultConfig, dimensions: 128, weight: 0.8 })
      assert.strictEqual(onConfig.args.lexicalResidual, true)
      // the manifest component carries the lexical config and the fitted corpus statistics
      const info = on.record.info as {
        components: Array<{ config: { model: { lexical?: unknown } } }>
        lexical: { documents: number; averageLength: number; normCap: number; embeddingDimensions: number }
      }
      assert.deepStrictEqual(info.components[0]!.config.model.lexical, onConfig.model.lexical)
      const documents = new Set(labeledSlice().map((p) => p.doc)).size
      assert.strictEqual(info.lexical.documents, documents)
      assert.isAbove(info.lexical.averageLength, 1)
      assert.isAbove(info.lexical.normCap, 0)
      assert.strictEqual(info.lexical.embeddingDimensions, 16 + 128 + 1)
      assert.notProperty(off.record.info as object, "lexical")
    })
  )
})

describe("training with the lexical channel (whole run)", () => {
  it.effect(
    "trains base with the channel, the format-2 checkpoint reloads it, and evaluation uses the full embedding",
    () =>
      Effect.gen(function* () {
        const runDir = tmp("run")
        const config = tinyConfig(runDir, { training: { lexical: { dimensions: 256, weight: 0.8 } } })
        const result = yield* Pipeline.run({ config, systems: ["base"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
        const manifest = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"))
        assert.deepStrictEqual(manifest.config.training.lexical, { dimensions: 256, weight: 0.8 })
        const train = (manifest.stages as Array<{ stage: string; dir: string; components: Array<any> }>).find(
          (s) => s.stage === "train:base"
        )!
        assert.strictEqual(train.components[0].config.model.lexical.dimensions, 256)

        const checkpoint = JSON.parse(fs.readFileSync(path.join(train.dir, "model", "config.json"), "utf8"))
        assert.strictEqual(checkpoint.formatVersion, DualEncoder.formatVersion)
        const model = yield* DualEncoder.load(path.join(train.dir, "model"))
        assert.isNotNull(model.lexical)
        assert.strictEqual(model.dimensions, 16 + 256 + 1)
        assert.strictEqual(model.config.lexical!.weight, 0.8)
        assert.isAbove(model.lexical!.stats.averageLength, 1)

        const prepareDir = fs.readdirSync(path.join(runDir, "artifacts")).find((n) => n.startsWith("prepare-"))!
        const retrievalTest: Array<Pair.LabeledPair> = readJsonl(
          path.join(runDir, "artifacts", prepareDir, "retrieval_test.jsonl")
        )
        const texts = retrievalTest.slice(0, 12)
        const docs = yield* model.embed(
          texts.map((p) => p.doc),
          { kind: "document" }
        )
        const queries = yield* model.embed(
          texts.map((p) => p.query),
          { kind: "query" }
        )
        for (const v of [...docs, ...queries]) assert.strictEqual(v.length, 16 + 256 + 1)
        // the lexical part is really there: nonzero, and a document vector has unit norm (pad slot)
        const lexicalNorm = (v: Float32Array) => Math.hypot(...v.subarray(16, 16 + 256))
        assert.isAbove(lexicalNorm(docs[0]!), 0)
        assert.isAbove(lexicalNorm(queries[0]!), 0)
        assert.approximately(Math.hypot(...docs[0]!), 1, 1e-5)
        // a learned prefix only when asked for
        const prefix = yield* model.embed([texts[0]!.doc], { kind: "document", dimensions: 16 })
        assert.strictEqual(prefix[0]!.length, 16)

        // identical embeddings after another save → load round trip
        const copy = tmp("copy")
        yield* DualEncoder.save(model, copy)
        const reloaded = yield* DualEncoder.load(copy)
        assert.strictEqual(reloaded.dimensions, model.dimensions)
        const docs2 = yield* reloaded.embed(
          texts.map((p) => p.doc),
          { kind: "document" }
        )
        const queries2 = yield* reloaded.embed(
          texts.map((p) => p.query),
          { kind: "query" }
        )
        assert.deepStrictEqual(docs2, docs)
        assert.deepStrictEqual(queries2, queries)

        // the run's evaluation of base is exactly the reloaded full (learned + lexical) embedding's
        const base = result.rows.find((r) => r.system === "base")!
        assert.strictEqual(base.status, "ok")
        const ctx = { config, runDir: tmp("eval"), recorder: stubRecorder }
        const data = { dataset: "kuake_qtr", retrievalTest, pairTest: [], scale: { max: 3 as const } }
        const full = yield* Evaluate.evaluate(ctx, "base", { _tag: "embedder", embedder: reloaded }, data)
        assert.strictEqual(full.retrieval!.ssra.metrics.ndcg_at_10, base.retrieval!.ssra.metrics.ndcg_at_10)
        // …and not the learned part alone
        const learnedOnly = yield* Evaluate.evaluate(
          ctx,
          "base",
          {
            _tag: "embedder",
            embedder: {
              ...reloaded,
              dimensions: 16,
              embed: (t, o) => reloaded.embed(t, { ...o, dimensions: 16 })
            }
          },
          data
        )
        assert.notDeepEqual(learnedOnly.retrieval!.ssra.per_unit, full.retrieval!.ssra.per_unit)
      }),
    120_000
  )

  it.effect("a run with a lexical weight outside [0, 1] fails before training", () =>
    Effect.gen(function* () {
      const runDir = tmp("bad")
      const exit = yield* Effect.exit(trainSlice(runDir, { dimensions: 64, weight: 1.5 }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.strictEqual((error as any)?.error?._tag, "PipelineError")
      assert.strictEqual((error as any)?.error?.reason, "input")
      assert.include(String((error as any)?.error?.message), "training.lexical")
      assert.include(String((error as any)?.error?.message), `["weight"]`)
      assert.isFalse(
        fs.existsSync(path.join(runDir, "artifacts")) &&
          fs.readdirSync(path.join(runDir, "artifacts")).some((n) => n.startsWith("train:"))
      )
    })
  )
})
