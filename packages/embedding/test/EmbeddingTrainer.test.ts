import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade, type Models, Sampling, type TrainingRow } from "@ssra/core"
import { DualEncoder, EmbeddingTrainer, Featurizer, HardNegativeMiner, Lexical, TrainingSet } from "@ssra/embedding"
import { Effect } from "effect"
import { makeBatches } from "../src/internal/batching.js"
import { SparseRows } from "../src/internal/sparse.js"
import { batchLoss, type StepContext, scatter } from "../src/internal/step.js"
import { corpusMrr, loadGroups, tmp } from "./helpers.js"

const smallModel = (towers: "shared" | "separate" = "shared", seed = 5) =>
  DualEncoder.make(
    {
      featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 14 },
      dimensions: 32,
      matryoshkaDimensions: [16, 32],
      towers
    },
    seed
  )

const row = (
  query: string,
  positive: string,
  grade: 0 | 1 | 2 | 3 = 3,
  negatives: Array<string> = []
): TrainingRow.TrainingRow => ({
  query,
  positive,
  negatives,
  grade,
  weight: grade,
  origin: "labeled"
})

// a few hundred real pairs: train on the first 120 kuake queries' groups, hold out the next 60
const data = Effect.gen(function* () {
  const pairs = yield* loadGroups("kuake_qtr", "labeled.jsonl", 180)
  const qids = [...new Set(pairs.map((p) => p.qid))]
  const heldOut = new Set(qids.slice(120))
  const train = pairs.filter((p) => !heldOut.has(p.qid))
  const test = pairs.filter((p) => heldOut.has(p.qid))
  const groups = [...new Set(test.map((p) => p.qid))]
    .map((qid) => {
      const docs = test.filter((p) => p.qid === qid)
      return { query: docs[0]!.query, docs: docs.map((d) => ({ doc: d.doc, label: d.label })) }
    })
    .filter((g) => g.docs.some((d) => d.label > 0))
  return { train, groups }
})

const mrrOf = (model: DualEncoder.DualEncoderModel, groups: Parameters<typeof corpusMrr>[0]) =>
  corpusMrr(
    groups,
    (t) => DualEncoder.encodeTexts(model, t, "query"),
    (t) => DualEncoder.encodeTexts(model, t, "document")
  )

describe("EmbeddingTrainer", () => {
  it.effect("loss decreases and held-out retrieval improves on real kuake pairs", () =>
    Effect.gen(function* () {
      const { train, groups } = yield* data
      const rows = TrainingSet.fromLabeledPairs(train, { scheme: "raw", scale: Grade.ssraScale })
      assert.isAbove(rows.length, 300)
      assert.isAbove(groups.length, 40)
      const model = smallModel()
      const before = mrrOf(model, groups)
      const events: Array<EmbeddingTrainer.ProgressEvent> = []
      const result = yield* EmbeddingTrainer.train({
        model,
        rows,
        args: { epochs: 8, batchSize: 32, learningRate: 0.05, progressEvery: 5 },
        onProgress: (e) => events.push(e)
      })
      const after = mrrOf(result.model, groups)
      assert.isAbove(events.length, 3)
      assert.isBelow(events[events.length - 1]!.loss, events[0]!.loss * 0.7)
      assert.isTrue(
        events.every((e) => e.pairsPerSecond > 0 && e.etaSeconds >= 0 && e.totalSteps > 0 && e.step <= result.steps)
      )
      assert.isAbove(after, before)
    })
  )

  it.effect("featurizing in yielding slices trains bit-identical weights to the one-pass code it replaced", () =>
    Effect.gen(function* () {
      // 1466 rows: three slices. Regression constant: SHA-256 of both tables and the log-temperature printed by
      // this same training on the code before featurization yielded (commit ed7d822).
      const pairs = yield* loadGroups("kuake_qtr", "labeled.jsonl", 400)
      const rows = TrainingSet.fromLabeledPairs(pairs, { scheme: "raw", scale: Grade.ssraScale })
      assert.strictEqual(rows.length, 1466)
      const result = yield* EmbeddingTrainer.train({
        model: smallModel("separate"),
        rows,
        args: { epochs: 1, batchSize: 32, learningRate: 0.05, maxSteps: 20 }
      })
      const h = createHash("sha256")
      h.update(new Uint8Array(result.model.queryTable.buffer))
      h.update(new Uint8Array(result.model.documentTable.buffer))
      h.update(String(result.model.logTemperature))
      assert.strictEqual(h.digest("hex"), "9c828e28ff8b97b4a2840f4e4f109416955417a84b0fe010cd50bda5dadcf899")
    })
  )

  it("gradient check through pooling into the embedding tables (every loss term on)", () => {
    const model = DualEncoder.make(
      {
        featurizer: { ...Featurizer.defaultConfig, buckets: 64 },
        dimensions: 8,
        matryoshkaDimensions: [4, 8],
        towers: "separate",
        pooling: "sqrt",
        featureWeighting: "idf"
      },
      11
    )
    const texts = [
      "眼皮痒",
      "眼睛很痒怎么办",
      "益生菌",
      "大人吃益生菌",
      "感冒发烧",
      "发烧吃什么药",
      "头疼",
      "偏头疼的原因"
    ]
    DualEncoder.fitFeatureWeights(model, texts.slice(0, 5))
    assert.isAbove(new Set(model.featureWeights).size, 2)
    const features = texts.map((t) => model.featurizer.featurize(t))
    model.logTemperature = Math.log(0.5)
    const ctx: StepContext = {
      model,
      args: { ...EmbeddingTrainer.defaultArgs, maxNegativesPerRow: 2 },
      lossOptions: { dimensions: [4, 8], queryQuery: true, documentDocument: true, falseNegativeMargin: null },
      features,
      queryOf: Int32Array.of(0, 2, 4),
      positiveOf: Int32Array.of(1, 3, 5),
      weightOf: Float64Array.of(1, 2, 3),
      negativesOf: [Int32Array.of(7), Int32Array.of(6), new Int32Array(0)],
      gradeOf: Int8Array.of(1, 2, 3),
      knownGrade: new Map(),
      textCount: texts.length,
      // fixed residual offsets (as the lexical channel's) that differ per (query, document) pair
      lexicalOffset: (qt, dt) => 0.05 * ((qt * 3 + dt) % 4)
    }
    const batch = [0, 1, 2]
    const lossOf = () => batchLoss(ctx, batch, new Sampling.SeededRandom(1)).result.loss
    const { result, negIds } = batchLoss(ctx, batch, new Sampling.SeededRandom(1))
    const q = new SparseRows(64, 8)
    const d = new SparseRows(64, 8)
    scatter(ctx, batch, negIds, result, q, d)
    const h = 1e-3
    let checked = 0
    for (const [grads, table] of [
      [q, model.queryTable],
      [d, model.documentTable]
    ] as const) {
      for (let s = 0; s < grads.count; s++) {
        for (let j = 0; j < 8; j += 3) {
          const at = grads.rows[s]! * 8 + j
          const keep = table[at]!
          table[at] = keep + h
          const up = lossOf()
          table[at] = keep - h
          const down = lossOf()
          table[at] = keep
          const numeric = (up - down) / (2 * h)
          assert.approximately(grads.grad[s * 8 + j]!, numeric, 2e-3 + 2e-2 * Math.abs(numeric))
          checked++
        }
      }
    }
    assert.isAbove(checked, 40)

    // graded contrast: an explicit negative of row 0's query graded below the row (3) stays a negative; one graded
    // as high is masked (it used to be masked at any grade >= 1, which dropped most "lower-grades" negatives)
    const T = texts.length
    const graded = { ...ctx, gradeOf: Int8Array.of(3, 2, 3) }
    const lossWith = (known: Map<number, number>) =>
      batchLoss({ ...graded, knownGrade: known }, batch, new Sampling.SeededRandom(1)).result.loss
    const base = lossWith(new Map())
    assert.strictEqual(lossWith(new Map([[0 * T + 7, 2]])), base)
    assert.notStrictEqual(lossWith(new Map([[0 * T + 7, 3]])), base)
  })

  it.effect("lexical residual training: offsets from the fixed channel change the learned part; no NaN", () =>
    Effect.gen(function* () {
      const { train } = yield* data
      const rows = TrainingSet.fromLabeledPairs(train, { scheme: "raw", scale: Grade.scale(3) })
      const lexical = {
        ...Lexical.defaultConfig,
        dimensions: 128,
        weight: 0.5,
        featurizer: { ...Lexical.defaultConfig.featurizer, buckets: 1 << 12 }
      }
      const make = () => {
        const m = DualEncoder.make(
          {
            featurizer: { ...Featurizer.defaultConfig, buckets: 1 << 12 },
            dimensions: 16,
            matryoshkaDimensions: [16],
            lexical
          },
          5
        )
        DualEncoder.fitLexical(
          m,
          train.map((p) => p.doc)
        )
        return m
      }
      const args = { epochs: 1, batchSize: 32, maxSteps: 4, gradeScaleMax: 3 as const }
      const residual = (yield* EmbeddingTrainer.train({ model: make(), rows, args })).model
      const plain = (yield* EmbeddingTrainer.train({ model: make(), rows, args: { ...args, lexicalResidual: false } }))
        .model
      assert.isTrue(residual.queryTable.every(Number.isFinite))
      let differs = 0
      for (let i = 0; i < residual.queryTable.length; i++) if (residual.queryTable[i] !== plain.queryTable[i]) differs++
      assert.isAbove(differs, 0)
    })
  )

  it("batches never repeat a query or a document", () => {
    const rng = new Sampling.SeededRandom(3)
    const n = 500
    const queryKey = Int32Array.from({ length: n }, () => rng.int(60))
    const docKey = Int32Array.from({ length: n }, () => rng.int(200))
    const batches = makeBatches(
      Sampling.shuffle(
        Array.from({ length: n }, (_, i) => i),
        1
      ),
      queryKey,
      docKey,
      16
    )
    let used = 0
    for (const b of batches) {
      assert.isAtMost(b.length, 16)
      assert.strictEqual(new Set(b.map((r) => queryKey[r])).size, b.length)
      assert.strictEqual(new Set(b.map((r) => docKey[r])).size, b.length)
      used += b.length
    }
    assert.isAbove(used, n * 0.95)
  })

  it.effect("bad input: empty set, batch larger than the data, grade outside the scale, empty text, bad args", () =>
    Effect.gen(function* () {
      const model = smallModel()
      const rows = [row("感冒", "感冒怎么办"), row("发烧", "发烧吃什么药", 2)]
      const fail = (r: ReadonlyArray<TrainingRow.TrainingRow>, args: Partial<EmbeddingTrainer.TrainingArgs> = {}) =>
        Effect.flip(EmbeddingTrainer.train({ model, rows: r, args: { batchSize: 2, ...args } }))
      assert.strictEqual((yield* fail([])).reason, "empty")
      const big = yield* fail(rows, { batchSize: 3 })
      assert.strictEqual(big.reason, "batch-size")
      assert.include(big.message, "larger than the 2 training rows")
      const grade = yield* fail([row("a", "b"), row("c", "d", 3)], { gradeScaleMax: 2 })
      assert.strictEqual(grade.reason, "grade")
      assert.strictEqual((grade as any).row, 0)
      const empty = yield* fail([row("感冒", "感冒怎么办"), row("发烧", " \u3000 ")])
      assert.strictEqual(empty.reason, "featurize")
      assert.strictEqual((empty as any).row, 1)
      assert.strictEqual((yield* fail(rows, { learningRate: Number.NaN })).reason, "invalid-args")
      // every number that reaches the loss is checked, not only the learning rate
      for (const [args, words] of [
        [{ falseNegativeMargin: Number.NaN }, "falseNegativeMargin"],
        [{ temperatureLearningRate: -1 }, "temperatureLearningRate"],
        [{ gradeScaleMax: 5 as never }, "gradeScaleMax"],
        [{ seed: Number.NaN }, "seed"],
        [{ hardNegatives: { k: 2 } as never }, "hardNegatives.margin"]
      ] as const) {
        const e = yield* fail(rows, args)
        assert.strictEqual(e.reason, "invalid-args", words)
        assert.include(e.message, words)
      }
      assert.strictEqual((yield* fail([row("a", "b", 0), row("c", "d", 0)])).reason, "weight")
      assert.throws(
        () =>
          TrainingSet.fromLabeledPairs([{ qid: "q", did: "d", query: "a", doc: "b", label: 3 }], {
            scheme: "raw",
            scale: Grade.scale(2)
          }),
        /outside the scale 0..2/
      )
    })
  )

  it.effect("a diverging run fails loudly instead of writing NaN", () =>
    Effect.gen(function* () {
      const model = smallModel()
      model.queryTable.fill(Number.NaN, 0, 32 * (1 << 14))
      const dir = tmp()
      const error = yield* Effect.flip(
        EmbeddingTrainer.train({
          model,
          rows: [row("感冒", "感冒怎么办"), row("发烧", "发烧吃什么药")],
          args: { batchSize: 2, epochs: 1 },
          checkpointDir: dir
        })
      )
      assert.strictEqual(error._tag, "TrainingError")
      assert.strictEqual((error as any).reason, "non-finite")
      assert.isFalse(fs.existsSync(path.join(dir, "last")))
    })
  )

  it.effect("weight schemes: raw keeps grade-0 rows at weight 0, negatives-kept turns them into negatives", () =>
    Effect.gen(function* () {
      const pairs = [
        { qid: "q", did: "a", query: "感冒", doc: "感冒怎么办", label: 3 as const },
        { qid: "q", did: "b", query: "感冒", doc: "感冒药", label: 1 as const },
        { qid: "q", did: "c", query: "感冒", doc: "骨折", label: 0 as const }
      ]
      const raw = TrainingSet.fromLabeledPairs(pairs, { scheme: "raw", scale: Grade.ssraScale })
      assert.deepStrictEqual(
        raw.map((r) => r.weight),
        [3, 1, 0]
      )
      const norm = TrainingSet.fromLabeledPairs(pairs, { scheme: "normalized", scale: Grade.scale(3) })
      assert.deepStrictEqual(
        norm.map((r) => r.weight),
        [1, 1 / 3, 0]
      )
      const kept = TrainingSet.fromLabeledPairs(pairs, { scheme: "negatives-kept", scale: Grade.ssraScale })
      assert.deepStrictEqual(
        kept.map((r) => [r.positive, r.negatives, r.weight]),
        [
          ["感冒怎么办", ["骨折"], 1],
          ["感冒药", ["骨折"], 1 / 3]
        ]
      )
    })
  )

  it.effect("evaluation every N steps keeps the best checkpoint, stops early, and resumes exactly", () =>
    Effect.gen(function* () {
      const { train } = yield* data
      const rows = TrainingSet.fromLabeledPairs(train.slice(0, 200), { scheme: "raw", scale: Grade.ssraScale })
      const args = { epochs: 2, batchSize: 16, evaluateEvery: 4, checkpointEvery: 3, seed: 9 }
      // a dev metric that peaks at step 8, then falls: best = step 8, early stop after 2 worse evaluations
      let calls = 0
      const evaluate = () => Effect.sync(() => ({ primary: [0.1, 0.5, 0.4, 0.3, 0.2][calls++] ?? 0, metrics: {} }))
      const dir = tmp()
      const stopped = yield* EmbeddingTrainer.train({
        model: smallModel(),
        rows,
        args: { ...args, earlyStoppingPatience: 2 },
        evaluate,
        checkpointDir: dir
      })
      assert.isTrue(stopped.stoppedEarly)
      assert.strictEqual(stopped.best?.step, 8)
      assert.strictEqual(stopped.steps, 16)
      const best = yield* DualEncoder.load(path.join(dir, "best"))
      assert.deepStrictEqual(best.queryTable, stopped.model.queryTable)

      // straight run vs. stop at step 7 + resume: identical weights and optimizer trajectory
      const straight = yield* EmbeddingTrainer.train({
        model: smallModel("separate"),
        rows,
        args: { ...args, evaluateEvery: null }
      })
      const dir2 = tmp()
      const part = yield* EmbeddingTrainer.train({
        model: smallModel("separate"),
        rows,
        args: { ...args, evaluateEvery: null, maxSteps: 7 },
        checkpointDir: dir2
      })
      assert.strictEqual(part.steps, 7)
      const resumed = yield* EmbeddingTrainer.train({
        model: smallModel("separate", 99),
        rows,
        args: { ...args, evaluateEvery: null, resume: true },
        checkpointDir: dir2
      })
      assert.strictEqual(resumed.steps, straight.steps)
      assert.deepStrictEqual(resumed.model.queryTable, straight.model.queryTable)
      assert.deepStrictEqual(resumed.model.documentTable, straight.model.documentTable)
      // the same with a learned temperature: its Adagrad sum must survive the checkpoint exactly
      const learned = { ...args, evaluateEvery: null, learnTemperature: true }
      const straightTau = yield* EmbeddingTrainer.train({ model: smallModel(), rows, args: learned })
      const dir3 = tmp()
      yield* EmbeddingTrainer.train({
        model: smallModel(),
        rows,
        args: { ...learned, maxSteps: 7 },
        checkpointDir: dir3
      })
      const resumedTau = yield* EmbeddingTrainer.train({
        model: smallModel(),
        rows,
        args: { ...learned, resume: true },
        checkpointDir: dir3
      })
      assert.notStrictEqual(straightTau.model.logTemperature, Math.log(0.05))
      assert.strictEqual(resumedTau.model.logTemperature, straightTau.model.logTemperature)
      assert.deepStrictEqual(resumedTau.model.queryTable, straightTau.model.queryTable)
      const other = yield* Effect.flip(
        EmbeddingTrainer.train({
          model: smallModel(),
          rows: rows.slice(1),
          args: { ...args, resume: true },
          checkpointDir: dir2
        })
      )
      assert.strictEqual((other as any).reason, "resume")
    })
  )

  it.effect("learned temperature moves; self-contrast and hard negatives train without NaN", () =>
    Effect.gen(function* () {
      const { train } = yield* data
      const rows = TrainingSet.fromLabeledPairs(train.slice(0, 240), { scheme: "raw", scale: Grade.ssraScale })
      const result = yield* EmbeddingTrainer.train({
        model: smallModel(),
        rows,
        args: {
          epochs: 2,
          batchSize: 16,
          learnTemperature: true,
          temperatureLearningRate: 0.05,
          queryQuery: true,
          documentDocument: true,
          hardNegatives: { k: 2, margin: 0.05, source: "current", dimensions: 16, guardMinGrade: 2 }
        }
      })
      assert.notStrictEqual(Math.exp(result.model.logTemperature), 0.05)
      assert.isTrue(result.model.queryTable.every(Number.isFinite))
    })
  )
})

describe("HardNegativeMiner", () => {
  it.effect("keeps top-k non-positives below the 5% margin; the grader guard drops graded ≥ 2", () =>
    Effect.gen(function* () {
      const model = smallModel()
      const rows = [
        row("感冒发烧怎么办", "感冒发烧怎么办才好"),
        row("感冒发烧怎么办", "感冒了怎么办", 2),
        row("头疼", "头疼怎么缓解"),
        row("失眠", "失眠怎么办"),
        row("无关", "无关的文档", 0)
      ]
      const corpus = [
        "感冒发烧怎么办才好",
        "感冒发烧怎么办呢",
        "发烧怎么办",
        "感冒吃什么",
        "头疼怎么缓解",
        "头疼医院",
        "失眠怎么办",
        "骨折",
        "感冒了怎么办"
      ]
      const mined = yield* HardNegativeMiner.mine({ model, rows, k: 2, corpus, dimensions: 32 })
      const scores = (q: string, d: string) => {
        const [qv] = DualEncoder.encodeTexts(model, [q], "query")
        const [dv] = DualEncoder.encodeTexts(model, [d], "document")
        return qv!.reduce((s, x, j) => s + x * dv![j]!, 0)
      }
      mined.mined.forEach((docs, i) => {
        const r = rows[i]!
        assert.isAtMost(docs.length, 2)
        if (r.weight === 0) assert.strictEqual(docs.length, 0)
        const pos = scores(r.query, r.positive)
        for (const d of docs) {
          assert.notInclude(
            ["感冒发烧怎么办才好", "感冒了怎么办"].filter(() => r.query === "感冒发烧怎么办"),
            d
          )
          assert.notStrictEqual(d, r.positive)
          assert.isAtMost(scores(r.query, d), pos - 0.05 * Math.abs(pos) + 1e-6)
        }
      })
      assert.deepStrictEqual(mined.rows[0]!.negatives, mined.mined[0])
      assert.isAbove(mined.counts.mined, 0)
      // a grader that calls every pair with a "头" document grade 2
      const grader: Models.Grader = {
        id: "test-grader",
        scale: Grade.ssraScale,
        grade: (pairs) =>
          Effect.succeed(
            pairs.map(
              (p) =>
                ({
                  grade: p.doc.includes("头") ? 2 : 0,
                  probabilities: [1, 0, 0, 0],
                  expected: 0
                }) as Models.GradeJudgment
            )
          )
      }
      const guarded = yield* HardNegativeMiner.mine({ model, rows, k: 8, corpus, dimensions: 32, grader })
      assert.isTrue(guarded.mined.every((docs) => docs.every((d) => !d.includes("头"))))
      assert.isAbove(guarded.counts.droppedByGrader, 0)
    })
  )
})
