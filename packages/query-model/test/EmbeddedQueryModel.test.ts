import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Jsonl, type Models, Pair, Sampling, Text } from "@ssra/core"
import { EmbeddedQueryModel, QueryModel } from "@ssra/query-model"
import { Effect } from "effect"
import { lexicalGrade, lexicalGrader } from "./fixtures.js"

// A small real subset of the bundled Quark medical set: 180 documents for training, 30 held out.
const DATA = path.resolve(import.meta.dirname, "../../../data/kuake_qtr/labeled.jsonl")

let d2q: Array<Pair.D2QGroup>
let heldOut: Array<{ did: string; doc: string }>
let pool: Array<string>
let model: EmbeddedQueryModel.EmbeddedQueryModel

const requestsFor = (
  docs: ReadonlyArray<{ did: string; doc: string }>,
  n: number,
  seed = 5
): Array<Models.QueryRequest> =>
  docs.flatMap((d) =>
    [1, 2, 3].map((g) => ({ document: { id: d.did, title: d.doc, text: d.doc }, targetGrade: g as 1 | 2 | 3, n, seed }))
  )

beforeAll(async () => {
  const rows = await Effect.runPromise(Jsonl.readAll(DATA, Pair.LabeledPair))
  const byDoc = new Map<string, Pair.D2QGroup & { queries: Array<Pair.D2QGroup["queries"][number]> }>()
  for (const r of rows) {
    let g = byDoc.get(r.did)
    if (g === undefined) byDoc.set(r.did, (g = { did: r.did, doc: r.doc, queries: [] }))
    g.queries.push({ query: r.query, grade: r.label, origin: "human" })
  }
  const docs = Sampling.sample([...byDoc.keys()].sort(), 210, 1)
  d2q = docs.slice(0, 180).map((d) => byDoc.get(d)!)
  heldOut = docs.slice(180).map((d) => ({ did: d, doc: byDoc.get(d)!.doc }))
  pool = rows.slice(0, 6000).map((r) => r.query)
  model = await Effect.runPromise(
    EmbeddedQueryModel.train({
      d2q,
      queryPool: pool,
      grader: lexicalGrader(3),
      scale: { max: 3 },
      seed: 9,
      iterations: 150
    })
  )
}, 120_000)

describe("EmbeddedQueryModel", () => {
  it("trains a selector and reports what it learned", () => {
    assert.strictEqual(model.kind, "embedded")
    assert.match(model.id, /^embedded-query-model:[0-9a-f]{12}$/)
    assert.deepStrictEqual(model.scale, { max: 3 })
    const r = model.report
    assert.strictEqual(r.documents.train + r.documents.heldOut, 180)
    assert.isAbove(r.rows.train, 1000)
    assert.isAbove(r.graderCalls, 0)
    assert.isAbove(r.heldOutAccuracy!, 0.5)
    assert.deepStrictEqual(Object.keys(r.selectionAgreement), ["1", "2", "3"])
    // every row is counted under its source; edits exist
    const total = Object.values(r.labelsBySource).reduce((s, l) => s + l.reduce((a, b) => a + b, 0), 0)
    assert.strictEqual(total, r.rows.train + r.rows.heldOut)
    assert.isAbove(
      r.labelsBySource.key!.reduce((a, b) => a + b, 0),
      0
    )
  })

  it.effect("trainingGradings counts exactly the pairs train sends its grader (more than candidatesPerDoc each)", () =>
    Effect.gen(function* () {
      let graded = 0
      const base = lexicalGrader(3)
      const counting: Models.Grader = {
        ...base,
        grade: (pairs) =>
          Effect.suspend(() => {
            graded += pairs.length
            return base.grade(pairs)
          })
      }
      const options = { d2q: d2q.slice(0, 40), queryPool: pool, seed: 4, maxTrainingDocs: 30, candidatesPerDoc: 4 }
      yield* EmbeddedQueryModel.train({ ...options, grader: counting, scale: { max: 3 }, iterations: 20 })
      assert.strictEqual(EmbeddedQueryModel.trainingGradings(options), graded)
      assert.isAbove(graded, 30 * 4)
    })
  )

  it.effect("writes n distinct queries per request, never the same query twice for a document", () =>
    Effect.gen(function* () {
      const out = yield* model.generate(requestsFor(heldOut, 2))
      assert.strictEqual(out.length, heldOut.length * 3)
      for (let d = 0; d < heldOut.length; d++) {
        const forDoc = out.slice(d * 3, d * 3 + 3).flat()
        assert.strictEqual(new Set(forDoc.map((q) => Text.dedupKey(q.query))).size, forDoc.length)
        for (const list of out.slice(d * 3, d * 3 + 3)) assert.isAtMost(list.length, 2)
      }
      const first = out[0]![0]!
      assert.deepStrictEqual(first.generator, { id: model.id, promptVersion: "embedded-selector/v1" })
      assert.strictEqual(first.targetGrade, 1)
    })
  )

  it.effect("draws from the real query pool and hits the target grade far above chance", () =>
    Effect.gen(function* () {
      const requests = requestsFor(heldOut, 1)
      const out = yield* model.generate(requests)
      const poolKeys = new Set(pool.map(Text.dedupKey))
      let real = 0
      let total = 0
      const agree = [0, 0, 0, 0]
      const count = [0, 0, 0, 0]
      const rng = new Sampling.SeededRandom(3)
      let randomAgree = 0
      requests.forEach((r, i) => {
        for (const q of out[i]!) {
          total++
          if (poolKeys.has(Text.dedupKey(q.query))) real++
          count[r.targetGrade]!++
          if (lexicalGrade(q.query, r.document.text, 3) === r.targetGrade) agree[r.targetGrade]!++
          if (lexicalGrade(pool[rng.int(pool.length)]!, r.document.text, 3) === r.targetGrade) randomAgree++
        }
      })
      const agreement = (agree[1]! + agree[2]! + agree[3]!) / total
      assert.isAbove(real / total, 0.1)
      assert.isAbove(agreement, 0.75)
      assert.isBelow(randomAgree / total, 0.15)
      for (const g of [1, 2, 3]) assert.isAbove(agree[g]! / count[g]!, 0.4)
    })
  )

  it.effect("a real-query bonus trades edits for real pool queries", () =>
    Effect.gen(function* () {
      const poolKeys = new Set(pool.map(Text.dedupKey))
      const share = (out: ReadonlyArray<ReadonlyArray<Models.GeneratedQuery>>) => {
        const all = out.flat()
        return all.filter((q) => poolKeys.has(Text.dedupKey(q.query))).length / all.length
      }
      const requests = requestsFor(heldOut, 1)
      const base = share(yield* model.generate(requests))
      const boosted = share(yield* EmbeddedQueryModel.withGeneration(model, { realQueryBonus: 5 }).generate(requests))
      assert.isAbove(boosted, base)
      assert.isAbove(boosted, 0.5)
    })
  )

  it.effect("is seeded: equal seeds give equal output", () =>
    Effect.gen(function* () {
      const a = yield* model.generate(requestsFor(heldOut.slice(0, 10), 2, 17))
      const b = yield* model.generate(requestsFor(heldOut.slice(0, 10), 2, 17))
      assert.deepStrictEqual(a, b)
    })
  )

  it.effect("the diversity penalty steers repeated documents to different queries", () =>
    Effect.gen(function* () {
      const doc = heldOut[0]!.doc
      const twins: Array<Models.QueryRequest> = ["a", "b", "c"].map((id) => ({
        document: { id, title: doc, text: doc },
        targetGrade: 3,
        n: 1,
        seed: 1
      }))
      const plain = yield* EmbeddedQueryModel.withGeneration(model, { temperature: 0, usagePenalty: 0 }).generate(twins)
      assert.strictEqual(new Set(plain.map((l) => l[0]!.query)).size, 1)
      const penalized = yield* EmbeddedQueryModel.withGeneration(model, { temperature: 0, usagePenalty: 50 }).generate(
        twins
      )
      assert.strictEqual(new Set(penalized.map((l) => l[0]!.query)).size, 3)
    })
  )

  it.effect("saves atomically and loads back to identical output; bad checkpoints are typed errors", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qm-"))
      yield* EmbeddedQueryModel.save(model, dir)
      assert.deepStrictEqual(fs.readdirSync(dir), ["query-model.json"])
      const loaded = yield* EmbeddedQueryModel.load(dir)
      assert.strictEqual(loaded.id, model.id)
      const requests = requestsFor(heldOut.slice(0, 8), 2)
      assert.deepStrictEqual(yield* loaded.generate(requests), yield* model.generate(requests))
      const viaService = yield* QueryModel.generate(requests).pipe(Effect.provide(QueryModel.layerEmbedded(dir)))
      assert.deepStrictEqual(viaService, yield* model.generate(requests))

      const missing = yield* Effect.flip(EmbeddedQueryModel.load(path.join(dir, "nope")))
      assert.strictEqual(missing._tag, "QueryCheckpointError")
      assert.strictEqual(missing.reason, "not-found")
      const broken = fs.mkdtempSync(path.join(os.tmpdir(), "qm-"))
      fs.writeFileSync(path.join(broken, "query-model.json"), "{not json")
      assert.strictEqual((yield* Effect.flip(EmbeddedQueryModel.load(broken))).reason, "malformed")
      fs.writeFileSync(path.join(broken, "query-model.json"), JSON.stringify({ format: "something-else" }))
      const other = yield* Effect.flip(EmbeddedQueryModel.load(broken))
      assert.strictEqual(other.reason, "incompatible")
      assert.include(other.message, "query-model.json")
    })
  )

  it.effect("rejects requests off the scale, without text or with n < 1", () =>
    Effect.gen(function* () {
      const doc = { id: "x", title: "t", text: heldOut[0]!.doc }
      const offScale = yield* Effect.flip(model.generate([{ document: doc, targetGrade: 4 as any, n: 1, seed: 1 }]))
      assert.strictEqual(offScale.reason, "invalid-input")
      assert.include(offScale.message, "outside the scale 0..3")
      const blank = yield* Effect.flip(
        model.generate([{ document: { ...doc, text: " " }, targetGrade: 1, n: 1, seed: 1 }])
      )
      assert.include(blank.message, "no text")
      const zero = yield* Effect.flip(model.generate([{ document: doc, targetGrade: 1, n: 0, seed: 1 }]))
      assert.include(zero.message, "n must be a positive integer")
    })
  )

  it.effect("training rejects missing groups, grades off the scale and a grader of another scale", () =>
    Effect.gen(function* () {
      const e1 = yield* Effect.flip(
        EmbeddedQueryModel.train({ d2q: [], queryPool: pool, grader: lexicalGrader(3), scale: { max: 3 }, seed: 1 })
      )
      assert.strictEqual(e1._tag, "QueryTrainingError")
      assert.strictEqual(e1.reason, "no-groups")
      const e2 = yield* Effect.flip(
        EmbeddedQueryModel.train({
          d2q: d2q.slice(0, 5),
          queryPool: pool,
          grader: lexicalGrader(2),
          scale: { max: 2 },
          seed: 1
        })
      )
      assert.strictEqual(e2.reason, "grade-off-scale")
      const e3 = yield* Effect.flip(
        EmbeddedQueryModel.train({
          d2q: d2q.slice(0, 5),
          queryPool: pool,
          grader: lexicalGrader(2),
          scale: { max: 3 },
          seed: 1
        })
      )
      assert.strictEqual(e3.reason, "invalid-option")
    })
  )
})
