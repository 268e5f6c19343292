import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { Pair } from "@ssra/core"
import { DualEncoder, Lexical, LexicalWeight } from "@ssra/embedding"
import { Effect, Exit, Result } from "effect"
import { afterAll } from "vitest"
import { Evaluate, Pipeline, PipelineConfig, Report, type RunManifest, Training } from "../src/index.js"
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

const resolvedDefaults: PipelineConfig.LexicalSection = {
  dimensions: 2048,
  weight: "auto",
  k1: 1.2,
  b: 0.75,
  heldOutFraction: 0.5,
  heldOutMinCandidates: 5
}

describe("training.lexical config", () => {
  it.effect("is on by default with α selected on held-out data; explicit fields are kept; null turns it off", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(PipelineConfig.defaults.training.lexical, resolvedDefaults)
      const byDefault = yield* decode({})
      assert.deepStrictEqual(byDefault.config!.training.lexical, resolvedDefaults)
      const empty = yield* decode({ training: { lexical: {} } })
      assert.deepStrictEqual(empty.config!.training.lexical, resolvedDefaults)
      const set = yield* decode({ training: { lexical: { dimensions: 512, weight: 0.5, k1: 2, b: 0.3 } } })
      assert.deepStrictEqual(set.config!.training.lexical, {
        ...resolvedDefaults,
        dimensions: 512,
        weight: 0.5,
        k1: 2,
        b: 0.3
      })
      const tuned = yield* decode({ training: { lexical: { heldOutFraction: 0.25, heldOutMinCandidates: 8 } } })
      assert.deepStrictEqual(tuned.config!.training.lexical, {
        ...resolvedDefaults,
        heldOutFraction: 0.25,
        heldOutMinCandidates: 8
      })
      const off = yield* decode({ training: { lexical: null } })
      assert.isNull(off.config!.training.lexical)
      // a later layer's null turns an earlier layer's channel off
      const merged = PipelineConfig.merge(
        PipelineConfig.defaults,
        { training: { lexical: { weight: 0.5 } } },
        {
          training: { lexical: null }
        }
      ) as PipelineConfig.Config
      assert.isNull(merged.training.lexical)
      // the demo's config keeps the default channel
      const demo = yield* decode(PipelineConfig.demo("data/kuake_qtr", "runs/demo"))
      assert.deepStrictEqual(demo.config!.training.lexical, resolvedDefaults)
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
      const word = yield* decode({ training: { lexical: { weight: "best" } } })
      assert.include(word.error, `["training"]["lexical"]["weight"]`)
      const fraction = yield* decode({ training: { lexical: { heldOutFraction: 1 } } })
      assert.include(fraction.error, `["training"]["lexical"]["heldOutFraction"]`)
      const min = yield* decode({ training: { lexical: { heldOutMinCandidates: 1 } } })
      assert.include(min.error, `["training"]["lexical"]["heldOutMinCandidates"]`)
      const typo = yield* decode({ training: { lexical: { alpha: 0.5 } } })
      assert.include(typo.error, `["training"]["lexical"]["alpha"]`)
      const notObject = yield* decode({ training: { lexical: true } })
      assert.include(notObject.error, `["training"]["lexical"]`)
    })
  )

  it("maps the section onto Lexical's config (defaults for absent fields, its own featurizer) and the α selection", () => {
    assert.isNull(Training.lexicalConfig(null))
    assert.isNull(Training.lexicalConfig(undefined))
    // α "auto": the model trains at LexicalWeight.trainingWeight, α is selected afterwards
    assert.deepStrictEqual(Training.lexicalConfig({ dimensions: 256 }), {
      ...Lexical.defaultConfig,
      dimensions: 256,
      weight: LexicalWeight.trainingWeight
    })
    assert.deepStrictEqual(Training.lexicalSelection({ dimensions: 256 }), { fraction: 0.5, minCandidates: 5 })
    assert.deepStrictEqual(Training.lexicalSelection({ weight: "auto", heldOutFraction: 0.2 }), {
      fraction: 0.2,
      minCandidates: 5
    })
    // a fixed α: trained and served at it, nothing selected
    assert.deepStrictEqual(Training.lexicalConfig({ dimensions: 256, weight: 0.8 }), {
      ...Lexical.defaultConfig,
      dimensions: 256,
      weight: 0.8
    })
    assert.isNull(Training.lexicalSelection({ weight: 0.8 }))
    assert.isNull(Training.lexicalSelection(null))
  })
})

// The first labeled rows of the bundled Quark set (≈ 20 queries with graded candidates).
const labeledSlice = (): Array<Pair.LabeledPair> =>
  readJsonl(path.join(dataDir, "labeled.jsonl"))
    .slice(0, 160)
    .map((r) => ({ qid: r.qid, did: r.did, query: r.query, doc: r.doc, label: r.label }))

const stubRecorder = { addStage: () => Effect.void } as unknown as RunManifest.Recorder

const trainSlice = (runDir: string, lexical: unknown, seed = 7) => {
  const config = tinyConfig(runDir, { seed, training: { lexical } })
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

type WeightRecord = Training.LexicalWeightRecord
const componentOf = (a: { record: { info: unknown } }) =>
  (a.record.info as { components: Array<{ id: string; config: { model: any; lexicalWeight?: WeightRecord } }> })
    .components[0]!

describe("training with the lexical channel: α selected on held-out labeled queries (the default)", () => {
  it.effect("α comes from the seeded held-out split, deterministically, and is recorded and served", () =>
    Effect.gen(function* () {
      const a = yield* trainSlice(tmp("auto-a"), { dimensions: 128 })
      // another run directory, the same seed: trained again, the same artifact key, α and held-out scores
      const b = yield* trainSlice(tmp("auto-b"), { dimensions: 128 })
      assert.isFalse(b.skipped)
      assert.strictEqual(b.record.key, a.record.key)
      const record = componentOf(a).config.lexicalWeight!
      assert.deepStrictEqual(componentOf(b).config.lexicalWeight, record)

      const split = yield* LexicalWeight.split(labeledSlice(), { seed: 7 })
      assert.isAbove(split.heldOut.length, 0)
      assert.strictEqual(record.selection, "held-out")
      assert.strictEqual(record.seed, 7)
      assert.strictEqual(record.fraction, 0.5)
      assert.strictEqual(record.minCandidates, 5)
      assert.strictEqual(record.eligibleQueries, split.eligibleQueries)
      assert.strictEqual(record.heldOutQueries, split.heldOut.length)
      assert.isAbove(record.tuningRows, 0)
      // every α of the grid was scored; the chosen one is the best (the first of equal ones)
      assert.deepStrictEqual(
        record.heldOutNdcgByWeight.map((b) => b.weight),
        LexicalWeight.defaultGrid
      )
      const scores = record.heldOutNdcgByWeight.map((b) => b.ndcg)
      assert.strictEqual(record.heldOutNdcg, Math.max(...scores))
      assert.strictEqual(
        record.weight,
        record.heldOutNdcgByWeight.find((b) => b.ndcg > record.heldOutNdcg! - 1e-9)!.weight
      )
      assert.isUndefined(record.reason)
      // the counts (stage-end line, the report's training table) and the served checkpoint carry the α
      assert.strictEqual(a.record.counts.lexicalWeight, record.weight)
      assert.strictEqual(a.record.counts.lexicalHeldOutQueries, split.heldOut.length)
      assert.strictEqual(componentOf(a).config.model.lexical.weight, record.weight)
      const model = yield* Training.load(a)
      assert.strictEqual(model.config.lexical!.weight, record.weight)
      assert.strictEqual(componentOf(a).id, model.id)

      // the key names the selection and the held-out queries: the same settings are reused, others retrain
      const spec = a.record.config as { model: { lexical: Lexical.LexicalConfig }; lexicalWeight: unknown }
      assert.strictEqual(spec.model.lexical.weight, LexicalWeight.trainingWeight)
      assert.deepStrictEqual(spec.lexicalWeight, {
        selection: "held-out",
        seed: 7,
        fraction: 0.5,
        minCandidates: 5,
        grid: LexicalWeight.defaultGrid,
        k: 10
      })
      assert.deepStrictEqual(
        a.record.inputs.map((i) => i.name),
        ["rows", "lexical-held-out"]
      )
      const again = yield* trainSlice(tmp("auto-a"), { dimensions: 128 })
      assert.isTrue(again.skipped)
      const fixed = yield* trainSlice(tmp("auto-a"), { dimensions: 128, weight: record.weight })
      assert.notStrictEqual(fixed.record.key, a.record.key)
      assert.isUndefined(componentOf(fixed).config.lexicalWeight)
      assert.notProperty(fixed.record.counts, "lexicalHeldOutQueries")
      const fraction = yield* trainSlice(tmp("auto-a"), { dimensions: 128, heldOutFraction: 0.3 })
      assert.notStrictEqual(fraction.record.key, a.record.key)
      assert.strictEqual(
        componentOf(fraction).config.lexicalWeight!.heldOutQueries,
        (yield* LexicalWeight.split(labeledSlice(), { seed: 7, fraction: 0.3 })).heldOut.length
      )
      // another seed: another split (and training seed), another artifact
      const other = yield* trainSlice(tmp("auto-a"), { dimensions: 128 }, 8)
      assert.notStrictEqual(other.record.key, a.record.key)
      assert.strictEqual(componentOf(other).config.lexicalWeight!.seed, 8)
    })
  )

  it.effect("no labeled query to hold out: α stays at the training weight and the record says why", () =>
    Effect.gen(function* () {
      const a = yield* trainSlice(tmp("fallback"), { dimensions: 64, heldOutMinCandidates: 1000 })
      const record = componentOf(a).config.lexicalWeight!
      assert.strictEqual(record.heldOutQueries, 0)
      assert.strictEqual(record.weight, LexicalWeight.trainingWeight)
      assert.isNull(record.heldOutNdcg)
      assert.deepStrictEqual(record.heldOutNdcgByWeight, [])
      assert.include(record.reason!, "1000 judged candidates")
      assert.strictEqual(a.record.counts.lexicalHeldOutQueries, 0)
      assert.strictEqual((yield* Training.load(a)).config.lexical!.weight, LexicalWeight.trainingWeight)
    })
  )

  it.effect("invalid selection settings in a programmatic config fail before training, naming the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(trainSlice(tmp("bad-selection"), { heldOutFraction: 1.5 }))
      assert.strictEqual(error._tag, "PipelineError")
      assert.strictEqual(error.reason, "input")
      assert.include(error.message, "training.lexical")
      assert.include(error.message, "fraction")
    })
  )
})

describe("the report's training table", () => {
  const input = (rows: Array<Report.SystemRow>): Report.ReportInput => ({
    title: "t",
    dataset: "d",
    scaleMax: 3,
    rows,
    tables: [],
    alignment: [],
    filters: [],
    resamples: 10,
    seed: 1,
    runDir: "r",
    durationMs: 0
  })
  const row = (system: string, counts: Record<string, number>): Report.SystemRow => ({
    system,
    label: system,
    status: "ok",
    trainingRows: { rows: 10, labeledRows: 10, syntheticRows: 0, ...counts }
  })
  const lineOf = (text: string, system: string) => text.split("\n").find((l) => l.startsWith(`| ${system} |`))!

  it("has a lexical α column saying how each α was chosen; none without any channel", () => {
    const text = Report.markdown(
      input([
        row("base", { lexicalWeight: 0.6, lexicalHeldOutQueries: 819 }),
        row("fixed", { lexicalWeight: 0.8 }),
        row("fallback", { lexicalWeight: 0.5, lexicalHeldOutQueries: 0 }),
        row("plain", {})
      ]),
      new Map()
    )
    assert.include(text, "| system | rows | labeled | synthetic | by grade | lexical α |")
    assert.isTrue(lineOf(text, "base").endsWith("| 0.6 (selected on 819 held-out queries) |"))
    assert.isTrue(lineOf(text, "fixed").endsWith("| 0.8 (fixed) |"))
    assert.isTrue(lineOf(text, "fallback").endsWith("| 0.5 (not selected: no query to hold out) |"))
    assert.isTrue(lineOf(text, "plain").endsWith("| none |"))
    const off = Report.markdown(input([row("plain", {})]), new Map())
    assert.notInclude(off, "lexical α")
    assert.include(off, "| system | rows | labeled | synthetic | by grade |\n")
  })
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
        assert.deepStrictEqual(manifest.config.training.lexical, { ...resolvedDefaults, dimensions: 256, weight: 0.8 })
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
})

describe("training with the lexical channel (whole run, default config)", () => {
  it.effect(
    "the default config trains base and ssra with the channel, α selected per system on the same held-out queries",
    () =>
      Effect.gen(function* () {
        const runDir = tmp("default-run")
        const config = tinyConfig(runDir)
        const result = yield* Pipeline.run({ config, systems: ["base", "ssra"], references: false }).pipe(
          Effect.provide(NodeHttpClient.layerUndici)
        )
        const manifest = JSON.parse(fs.readFileSync(result.manifestFile, "utf8"))
        assert.deepStrictEqual(manifest.config.training.lexical, resolvedDefaults)
        const stages = manifest.stages as Array<{
          stage: string
          counts: Record<string, number>
          components: Array<any>
        }>
        const trained = ["train:base", "train:ssra"].map((name) => stages.find((s) => s.stage === name)!)
        const records = trained.map((s) => s.components[0].config.lexicalWeight as WeightRecord)
        for (const [i, s] of trained.entries()) {
          assert.strictEqual(s.components[0].config.model.lexical.dimensions, 2048)
          assert.strictEqual(s.counts.lexicalWeight, records[i]!.weight)
          assert.include(LexicalWeight.defaultGrid, records[i]!.weight)
          assert.isAbove(records[i]!.heldOutQueries, 0)
        }
        // the held-out queries are the run's (labeled data, run seed), whatever the system trains on beside them
        assert.strictEqual(records[0]!.heldOutQueries, records[1]!.heldOutQueries)
        assert.isAbove(records[1]!.tuningRows, records[0]!.tuningRows)
        // the report's training table shows each system's α
        const report = fs.readFileSync(path.join(runDir, "report", "report.md"), "utf8")
        assert.include(report, "lexical α")
        assert.include(report, `${records[0]!.weight} (selected on ${records[0]!.heldOutQueries} held-out queries)`)
      }),
    180_000
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
