// Grade agreement and duplicate rate of the embedded query model on the bundled data (the paper's Table 6,
// measured here against the score model AND against held-out human grades).
//
//   tsx --conditions=@ssra/source bench/quality.ts [--sets kuake_qtr,qbqtc] [--eval-docs 300] [--train-docs 2000]
//
// Per data set: documents are split (by document id, seeded) into training and held-out documents. The score
// model (EmbeddedScoreModel, lexical features: no embedder here) trains on the training documents' labeled
// pairs; D2Q groups = training documents' labeled pairs (human grades) + their unlabeled click pairs graded by
// the score model; the query pool = every query text of labeled + unlabeled (the held-out documents' queries
// are in the pool as text — real domain queries — but their grades are never used). The query model writes one
// query per held-out document and target grade 1..max. Reported per target grade: agreement with the score
// model; agreement with human grades where the generated (query, document) pair is a human-labeled held-out
// pair; how often that happens; and for all generated queries the duplicate rates and distinct-n.

import * as path from "node:path"
import { Grade, Jsonl, type Models, Pair, Sampling, Text } from "@ssra/core"
import { EmbeddedQueryModel } from "@ssra/query-model"
import { EmbeddedScoreModel } from "@ssra/score-model"
import { Effect } from "effect"

const args = process.argv.slice(2)
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const sets = arg("sets", "kuake_qtr,qbqtc").split(",")
const evalDocs = Number(arg("eval-docs", "300"))
const trainDocs = Number(arg("train-docs", "2000"))
const seed = Number(arg("seed", "42"))
const realQueryBonuses = arg("real-bonus", "0,0.5,1").split(",").map(Number)
const dataDir = path.resolve(import.meta.dirname, "../../../data")

interface Generated {
  readonly did: string
  readonly doc: string
  readonly target: number
  readonly query: string
}

const distinctN = (queries: ReadonlyArray<string>, n: number): number | null => {
  const all = new Set<string>()
  let total = 0
  for (const q of queries) {
    const cs = [...Text.dedupKey(q)]
    for (let i = 0; i + n <= cs.length; i++) {
      all.add(cs.slice(i, i + n).join(""))
      total++
    }
  }
  return total === 0 ? null : all.size / total
}

const evaluate = (
  name: string,
  generated: ReadonlyArray<Generated>,
  judged: ReadonlyArray<Models.GradeJudgment>,
  human: ReadonlyMap<string, number>,
  poolKeys: ReadonlySet<string>,
  scale: Grade.GradeScale
) => {
  const perGrade: Record<string, unknown> = {}
  for (let g = 1; g <= scale.max; g++) {
    const idx = generated.map((x, i) => [x, i] as const).filter(([x]) => x.target === g)
    const agree = idx.filter(([, i]) => judged[i]!.grade === g).length
    const coincide = idx.filter(([x]) => human.has(`${x.did}\u0000${Text.dedupKey(x.query)}`))
    const humanAgree = coincide.filter(([x]) => human.get(`${x.did}\u0000${Text.dedupKey(x.query)}`) === g).length
    const realShare = idx.filter(([x]) => poolKeys.has(Text.dedupKey(x.query))).length
    perGrade[String(g)] = {
      generated: idx.length,
      scoreModelAgreement: idx.length === 0 ? null : agree / idx.length,
      humanLabeled: coincide.length,
      humanAgreement: coincide.length === 0 ? null : humanAgree / coincide.length,
      realQueryShare: idx.length === 0 ? null : realShare / idx.length
    }
  }
  const texts = generated.map((g) => g.query)
  const total = texts.length
  return {
    method: name,
    perGrade,
    duplicateRateExact: total === 0 ? null : 1 - new Set(texts).size / total,
    duplicateRateNormalized: total === 0 ? null : 1 - new Set(texts.map(Text.dedupKey)).size / total,
    distinct1: distinctN(texts, 1),
    distinct2: distinctN(texts, 2)
  }
}

const run = (set: string) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    // rows with an empty query or document are skipped and counted (the bundled pools have a few)
    const skipped: Record<string, number> = {}
    const onSummary = (s: Jsonl.ReadSummary) => (skipped[path.basename(s.file)] = s.rejected)
    const labeled = yield* Jsonl.readAll(path.join(dataDir, set, "labeled.jsonl"), Pair.LabeledPair, {
      onInvalid: "skip",
      onSummary
    })
    const unlabeled = yield* Jsonl.readAll(path.join(dataDir, set, "unlabeled.jsonl"), Pair.UnlabeledPair, {
      onInvalid: "skip",
      onSummary
    })
    const scale = Grade.inferScale(labeled.map((p) => p.label))
    const split = Sampling.splitByGroup(labeled, (p) => p.did, 0.1, seed)
    const heldDids = new Set(split.second.map((p) => p.did))
    const trainLabeled = split.first
    const t1 = performance.now()
    const scoreModel = yield* EmbeddedScoreModel.train({ pairs: trainLabeled, scale, seed })
    const t2 = performance.now()

    // D2Q groups of the training documents
    const groups = new Map<string, { did: string; doc: string; queries: Array<Pair.D2QGroup["queries"][number]> }>()
    const groupOf = (did: string, doc: string) => {
      let g = groups.get(did)
      if (g === undefined) groups.set(did, (g = { did, doc, queries: [] }))
      return g
    }
    for (const p of trainLabeled)
      groupOf(p.did, p.doc).queries.push({ query: p.query, grade: p.label, origin: "human" })
    const clicks = unlabeled.filter((p) => !heldDids.has(p.did))
    const clickJudged = yield* scoreModel.grade(clicks)
    clicks.forEach((p, i) => {
      const j = clickJudged[i]!
      groupOf(p.did, p.doc).queries.push({
        query: p.query,
        grade: j.grade,
        origin: "score-model",
        probabilities: j.probabilities
      })
    })
    const d2q = [...groups.values()]
    const queryPool = [...labeled.map((p) => p.query), ...unlabeled.map((p) => p.query)]
    const t3 = performance.now()
    const model = yield* EmbeddedQueryModel.train({
      d2q,
      queryPool,
      grader: scoreModel,
      scale,
      seed,
      maxTrainingDocs: trainDocs
    })
    const t4 = performance.now()

    // held-out documents and their human grades
    const heldDocs = new Map<string, string>()
    for (const p of split.second) heldDocs.set(p.did, p.doc)
    const evalIds = Sampling.sample([...heldDocs.keys()].sort(), evalDocs, seed)
    const human = new Map<string, number>()
    for (const p of split.second) human.set(`${p.did}\u0000${Text.dedupKey(p.query)}`, p.label)
    const requests: Array<Models.QueryRequest> = []
    for (const did of evalIds) {
      for (let g = 1; g <= scale.max; g++) {
        requests.push({
          document: { id: did, title: heldDocs.get(did)!, text: heldDocs.get(did)! },
          targetGrade: g as Grade.Grade,
          n: 1,
          seed
        })
      }
    }
    const runs: Array<readonly [string, Array<Generated>]> = []
    let t5 = 0
    let t6 = 0
    for (const realQueryBonus of realQueryBonuses) {
      t5 = performance.now()
      const out = yield* EmbeddedQueryModel.withGeneration(model, { realQueryBonus }).generate(requests)
      t6 = performance.now()
      const generated: Array<Generated> = []
      requests.forEach((r, i) => {
        for (const q of out[i]!)
          generated.push({ did: r.document.id, doc: r.document.text, target: r.targetGrade, query: q.query })
      })
      runs.push([`embedded query model (realQueryBonus ${realQueryBonus})`, generated])
    }
    const poolKeys = new Set(model.checkpoint.pool.queries.map(Text.dedupKey))

    // baselines: a random pool query; the retrieval-rank heuristic (nearest pool query for the top grade, the
    // next nearest for the next grade down)
    const rng = new Sampling.SeededRandom(seed)
    const pool = model.checkpoint.pool.queries
    const random: Array<Generated> = requests.map((r) => ({
      did: r.document.id,
      doc: r.document.text,
      target: r.targetGrade,
      query: pool[rng.int(pool.length)]!
    }))
    const nearest: Array<Generated> = []
    for (const did of evalIds) {
      const doc = heldDocs.get(did)!
      const ranked = model.candidates(doc, seed).filter((c) => c.source === "pool")
      for (let g = 1; g <= scale.max; g++) {
        const c = ranked[scale.max - g]
        if (c !== undefined) nearest.push({ did, doc, target: g, query: c.query })
      }
    }
    const results = []
    const methods: Array<readonly [string, ReadonlyArray<Generated>]> = [
      ...runs,
      ["baseline: random pool query", random],
      ["baseline: retrieval rank (nearest → highest grade)", nearest]
    ]
    for (const [name, rows] of methods) {
      const judged = yield* scoreModel.grade(rows.map((g) => ({ query: g.query, doc: g.doc })))
      results.push(evaluate(name, rows, judged, human, poolKeys, scale))
    }
    const scoreReport = EmbeddedScoreModel.heldOutReport(scoreModel)
    return {
      set,
      scale: scale.max,
      scoreModel: {
        id: scoreModel.id,
        heldOut: scoreReport.model.metrics,
        bm25ThresholdMacroF1: scoreReport.bm25Threshold.metrics.macroF1
      },
      data: {
        labeled: labeled.length,
        unlabeled: unlabeled.length,
        skippedRows: skipped,
        d2qGroups: d2q.length,
        pool: pool.length,
        heldOutDocs: heldDocs.size,
        evalDocs: evalIds.length
      },
      queryModel: { id: model.id, report: model.report },
      results,
      seconds: {
        read: (t1 - t0) / 1000,
        scoreModelTrain: (t2 - t1) / 1000,
        d2qGrading: (t3 - t2) / 1000,
        queryModelTrain: (t4 - t3) / 1000,
        generate: (t6 - t5) / 1000,
        generatePerRequestMs: (t6 - t5) / requests.length
      }
    }
  })

const main = Effect.gen(function* () {
  const all = []
  for (const set of sets) {
    const r = yield* run(set)
    console.log(JSON.stringify(r, null, 2))
    all.push(r)
  }
  return all
})

Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exit(1)
})
