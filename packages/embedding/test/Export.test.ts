import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade, Jsonl, type TrainingRow } from "@ssra/core"
import { DualEncoder, Export, TrainingSet } from "@ssra/embedding"
import { Effect, Schema } from "effect"
import { loadGroups, tmp } from "./helpers.js"

const kits = path.resolve(import.meta.dirname, "../../../python/ssra_kits")
const pythonRequirements = path.resolve(import.meta.dirname, "../../../python/requirements.txt")

// the pipeline's rows: raw grade weights, grade-0 pairs kept as rows of weight 0, no listed negatives
const rawRows = Effect.map(loadGroups("kuake_qtr", "labeled.jsonl", 40), (pairs) =>
  TrainingSet.fromLabeledPairs(pairs, { scheme: "raw", scale: Grade.ssraScale })
)
const keptRows = Effect.map(loadGroups("kuake_qtr", "labeled.jsonl", 40), (pairs) =>
  TrainingSet.fromLabeledPairs(pairs, { scheme: "negatives-kept", scale: Grade.ssraScale })
)

const row = (query: string, positive: string, grade: 0 | 1 | 2 | 3): TrainingRow.TrainingRow => ({
  query,
  positive,
  negatives: [],
  grade,
  weight: grade,
  origin: "labeled"
})

// one query with a document at every grade, and documents of other queries
const graded: Array<TrainingRow.TrainingRow> = [
  row("感冒 发烧 吃什么药", "感冒发烧应该吃什么药", 3),
  row("感冒 发烧 吃什么药", "感冒了喉咙痛怎么办", 2),
  row("感冒 发烧 吃什么药", "发烧能不能洗澡", 1),
  row("感冒 发烧 吃什么药", "小孩拉肚子吃什么", 0),
  row("感冒 发烧 吃什么药", "头孢和酒精的反应", 0),
  row("眼睛 痒", "眼睛痒是什么原因", 3),
  row("眼睛 痒", "眼睑发红怎么办", 0),
  row("胃痛 怎么办", "胃痛吃什么药好得快", 3),
  row("胃痛 怎么办", "胃胀气是怎么回事", 1),
  row("牙疼 止痛", "牙疼怎么快速止痛", 2),
  row("牙疼 止痛", "智齿发炎能拔吗", 1),
  row("腰疼 原因", "腰疼是肾不好吗", 3),
  row("腰疼 原因", "颈椎病的症状", 0)
]

describe("Export", () => {
  it.effect("sentence-transformers rows validate, carry the weights, and take grade-0 pairs as negatives", () =>
    Effect.gen(function* () {
      const rows = yield* rawRows
      const file = path.join(tmp(), "st.jsonl")
      const summary = yield* Export.sentenceTransformers(rows, file, { negatives: 2 })
      assert.strictEqual(summary.rows + summary.skipped, rows.length)
      // grade-0 rows are no rows of their own…
      assert.strictEqual(summary.skipped, rows.filter((r) => r.weight === 0).length)
      const back = yield* Jsonl.readAll(file, Export.SentenceTransformersRow(2))
      assert.strictEqual(back.length, summary.rows)
      const first = JSON.parse(fs.readFileSync(file, "utf8").split("\n")[0]!)
      assert.deepStrictEqual(Object.keys(first), ["anchor", "positive", "negative_1", "negative_2", "score"])
      const source = rows.find((r) => r.query === first.anchor && r.positive === first.positive)!
      assert.strictEqual(first.score, source.weight)
      // …they are negatives of their query's rows, first
      const gradeZero = new Set(rows.filter((r) => r.grade === 0).map((r) => `${r.query}\u0000${r.positive}`))
      let fromGradeZero = 0
      for (const r of back) {
        assert.notStrictEqual(r.negative_1, r.positive)
        if (gradeZero.has(`${r.anchor}\u0000${r.negative_1}`)) fromGradeZero++
      }
      assert.isAbove(fromGradeZero, 0)
      assert.isAbove(summary.negatives.sameQuery, 0)
      const { mined, random, sameQuery } = summary.negatives
      assert.strictEqual(sameQuery + mined + random, summary.rows * 2)
      assert.strictEqual(mined, 0)
      assert.strictEqual(summary.filled, random)
      // a row missing negative_2 fails the schema
      fs.writeFileSync(file, JSON.stringify({ anchor: "a", positive: "b", negative_1: "c", score: 1 }) + "\n")
      const error = yield* Effect.flip(Jsonl.readAll(file, Export.SentenceTransformersRow(2)))
      assert.include(error.message, "negative_2")
    })
  )

  it.effect("negatives: grade 0 first, then lower grades; never a document graded as high; sources counted", () =>
    Effect.gen(function* () {
      const file = path.join(tmp(), "st.jsonl")
      const summary = yield* Export.sentenceTransformers(graded, file, { negatives: 4, seed: 3 })
      const back = yield* Jsonl.readAll(file, Export.SentenceTransformersRow(4))
      const negativesOf = (positive: string) => {
        const r = back.find((b) => b.positive === positive)!
        return [r.negative_1, r.negative_2, r.negative_3, r.negative_4]
      }
      // the grade-3 row: both grade-0 documents, then grade 1, then grade 2
      assert.deepStrictEqual(negativesOf("感冒发烧应该吃什么药"), [
        "小孩拉肚子吃什么",
        "头孢和酒精的反应",
        "发烧能不能洗澡",
        "感冒了喉咙痛怎么办"
      ])
      // the grade-1 row: the two grade-0 documents, then random ones that are no known positive of the query
      const low = negativesOf("发烧能不能洗澡")
      assert.deepStrictEqual(low.slice(0, 2), ["小孩拉肚子吃什么", "头孢和酒精的反应"])
      for (const n of low.slice(2)) assert.notInclude(["感冒发烧应该吃什么药", "感冒了喉咙痛怎么办"], n)
      assert.strictEqual(summary.rows, graded.filter((r) => r.grade > 0).length)
      // 4 + 3 + 2 (grade 3, 2, 1 of the first query), 1 (眼睛), 1 (胃痛 grade 3: its grade-1 document), 1 (牙疼 grade 2), 1 (腰疼)
      assert.deepStrictEqual(summary.negatives, { sameQuery: 13, mined: 0, random: summary.rows * 4 - 13 })
      // listed negatives (negatives-kept rows) come first and count as the query's own
      const listed = graded.map((r) => (r.grade === 3 ? { ...r, negatives: ["颈椎病的症状"] } : r))
      const again = yield* Export.sentenceTransformers(listed, file, { negatives: 1 })
      const top = (yield* Jsonl.readAll(file, Export.SentenceTransformersRow(1))).find(
        (r) => r.positive === "感冒发烧应该吃什么药"
      )!
      assert.strictEqual(top.negative_1, "颈椎病的症状")
      assert.strictEqual(again.negatives.sameQuery + again.negatives.random, again.rows)
    })
  )

  it.effect("mined hard negatives follow the miner's rules and are counted; fill: skip keeps rows it can fill", () =>
    Effect.gen(function* () {
      const rows = yield* rawRows
      const model = DualEncoder.make(
        { dimensions: 32, featurizer: { ...DualEncoder.defaultConfig.featurizer, buckets: 4096 } },
        7
      )
      const file = path.join(tmp(), "st.jsonl")
      const summary = yield* Export.sentenceTransformers(rows, file, { negatives: 5, mining: { model } })
      assert.isAbove(summary.negatives.mined, 0)
      assert.isAbove(summary.negatives.sameQuery, 0)
      assert.strictEqual(
        summary.negatives.sameQuery + summary.negatives.mined + summary.negatives.random,
        summary.rows * 5
      )
      // never a known positive (a document graded ≥ 1 for the query) unless it is graded below the row
      const grades = new Map(rows.map((r) => [`${r.query}\u0000${r.positive}`, r.grade]))
      const back = yield* Jsonl.readAll(file, Export.SentenceTransformersRow(5))
      for (const r of back) {
        const own = grades.get(`${r.anchor}\u0000${r.positive}`)!
        for (const n of [r.negative_1, r.negative_2, r.negative_3, r.negative_4, r.negative_5]) {
          const g = grades.get(`${r.anchor}\u0000${n}`)
          if (g !== undefined) assert.isBelow(g, own, `${r.anchor}: ${n}`)
        }
      }
      // fill: skip — no random negatives: what is not the query's own was mined, by the miner's rules: at most 3
      // per row, each scoring below the positive by more than 5% (cosine at the model's 32 dims)
      const skipped = yield* Export.sentenceTransformers(rows, file, { negatives: 5, fill: "skip", mining: { model } })
      assert.strictEqual(skipped.negatives.random, 0)
      assert.isAbove(skipped.rows, 0)
      assert.isBelow(skipped.rows, summary.rows)
      const kept = yield* Jsonl.readAll(file, Export.SentenceTransformersRow(5))
      const cos = (query: string, doc: string) => {
        const [q] = DualEncoder.encodeTexts(model, [query], "query", 32)
        const [d] = DualEncoder.encodeTexts(model, [doc], "document", 32)
        return q!.reduce((s, v, i) => s + v * d![i]!, 0)
      }
      let minedSeen = 0
      for (const r of kept) {
        const mined = [r.negative_1, r.negative_2, r.negative_3, r.negative_4, r.negative_5].filter(
          (n) => !grades.has(`${r.anchor}\u0000${n}`)
        )
        assert.isAtMost(mined.length, 3)
        const pos = cos(r.anchor, r.positive)
        for (const n of mined) assert.isAtMost(cos(r.anchor, n), pos - 0.05 * Math.abs(pos) + 1e-6)
        minedSeen += mined.length
      }
      assert.strictEqual(minedSeen, skipped.negatives.mined)
    })
  )

  it.effect("FlagEmbedding rows validate, carry no scores, and repeat: weights repeats rows by weight", () =>
    Effect.gen(function* () {
      const rows = yield* keptRows
      const file = path.join(tmp(), "flag.jsonl")
      const filled = yield* Export.flagEmbedding(rows, file, { negatives: 3, prompt: "为这个查询检索相关文档：" })
      const back = yield* Jsonl.readAll(file, Export.FlagEmbeddingRow)
      assert.strictEqual(back.length, filled.rows)
      assert.isAbove(filled.filled, 0)
      assert.strictEqual(filled.repeated, 0)
      for (const r of back) {
        assert.strictEqual(r.neg.length, 3)
        assert.isUndefined(r.pos_scores)
        assert.isUndefined(r.neg_scores)
        assert.strictEqual(r.prompt, "为这个查询检索相关文档：")
      }
      const skipped = yield* Export.flagEmbedding(rows, file, { negatives: 3, fill: "skip" })
      assert.isBelow(skipped.rows, filled.rows)
      assert.strictEqual(skipped.filled, 0)
      // scores, when a file has them, must match the texts
      const bad = Schema.decodeUnknownExit(Export.FlagEmbeddingRow)({
        query: "q",
        pos: ["p"],
        neg: ["n"],
        pos_scores: [],
        neg_scores: [0]
      })
      assert.strictEqual(bad._tag, "Failure")
      const zero: Array<TrainingRow.TrainingRow> = [
        { query: "q", positive: "p", negatives: [], grade: 0, weight: 0, origin: "labeled" }
      ]
      assert.strictEqual((yield* Effect.flip(Export.flagEmbedding(zero, file)))._tag, "TrainingError")
      // raw weights 1..3 with the highest weight 3: each row written exactly `grade` times
      const repeated = yield* Export.flagEmbedding(graded, file, { negatives: 2, weights: "repeat" })
      const lines = yield* Jsonl.readAll(file, Export.FlagEmbeddingRow)
      const expected = graded.reduce((n, r) => n + r.grade, 0)
      assert.strictEqual(lines.length, expected)
      assert.strictEqual(repeated.rows, expected)
      assert.strictEqual(repeated.repeated, expected - graded.filter((r) => r.grade > 0).length)
      const count = (positive: string) => lines.filter((l) => l.pos[0] === positive).length
      assert.strictEqual(count("感冒发烧应该吃什么药"), 3)
      assert.strictEqual(count("感冒了喉咙痛怎么办"), 2)
      assert.strictEqual(count("发烧能不能洗澡"), 1)
      // round(w / w_max × 3), halves up (flag_embedding.py repeat-by-weight's rule): on a 0–2 scale, 1 → 2, 2 → 3
      const twoGrades = graded.filter((r) => r.grade > 0).map((r) => ({ ...r, weight: Math.min(r.grade, 2) }))
      yield* Export.flagEmbedding(twoGrades, file, { negatives: 2, weights: "repeat" })
      const twoLines = yield* Jsonl.readAll(file, Export.FlagEmbeddingRow)
      assert.strictEqual(twoLines.filter((l) => l.pos[0] === "发烧能不能洗澡").length, 2)
      assert.strictEqual(twoLines.filter((l) => l.pos[0] === "感冒了喉咙痛怎么办").length, 3)
      // the copies are shuffled with the seed: same seed, same file; another seed, the same rows in another order
      const pairsOf = () =>
        fs
          .readFileSync(file, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => `${JSON.parse(l).query}|${JSON.parse(l).pos[0]}`)
      const a = yield* Export.flagEmbedding(graded, file, { negatives: 2, weights: "repeat", seed: 9 })
      const pairsA = pairsOf()
      const b = yield* Export.flagEmbedding(graded, file, { negatives: 2, weights: "repeat", seed: 9 })
      assert.strictEqual(a.sha256, b.sha256)
      const c = yield* Export.flagEmbedding(graded, file, { negatives: 2, weights: "repeat", seed: 10 })
      assert.notStrictEqual(c.sha256, a.sha256)
      const pairsC = pairsOf()
      assert.notDeepEqual(pairsC, pairsA)
      assert.deepStrictEqual(pairsC.sort(), pairsA.sort())
      const tooMany = yield* Effect.flip(Export.flagEmbedding(graded, file, { weights: "repeat", maxRepeat: 0 }))
      assert.include(tooMany.message, "maxRepeat")
    })
  )

  it.effect("launch kit: the python/ssra_kits scripts byte for byte, an executable launch.sh, a valid config", () =>
    Effect.gen(function* () {
      const rows = yield* rawRows
      const dir = path.join(tmp(), "kit")
      const kit = yield* Export.launchKit(dir, { rows, config: { nproc_per_node: 4 } })
      const files = [
        "README.md",
        "config.json",
        "encode.py",
        "launch.sh",
        "requirements.txt",
        "train.jsonl",
        "train_embedding.py"
      ]
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), files)
      assert.deepStrictEqual(kit.files, files)
      for (const script of ["train_embedding.py", "encode.py"]) {
        assert.isTrue(
          fs.readFileSync(path.join(dir, script)).equals(fs.readFileSync(path.join(kits, script))),
          `${script} differs from python/ssra_kits/${script}`
        )
      }
      const launchMode = fs.statSync(path.join(dir, "launch.sh")).mode
      assert.strictEqual(launchMode & 0o111, 0o111, `launch.sh mode ${launchMode.toString(8)}`)
      assert.strictEqual(fs.statSync(path.join(dir, "config.json")).mode & 0o111, 0)
      assert.strictEqual(fs.statSync(dir).mode & 0o755, 0o755)
      const config = Schema.decodeUnknownSync(Export.LaunchConfig)(
        JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
      )
      assert.strictEqual(config.model, "Qwen/Qwen3-Embedding-0.6B")
      assert.strictEqual(config.lora.r, 32)
      assert.strictEqual(config.learning_rate, 1e-5)
      // fewer rows than the default global batch of 512: lowered to the largest power of two that fits
      assert.isBelow(kit.data.rows, 512)
      assert.strictEqual(config.global_batch_size, 2 ** Math.floor(Math.log2(kit.data.rows)))
      assert.deepStrictEqual(kit.config, config)
      assert.strictEqual(config.temperature_init, 0.03)
      assert.isTrue(config.learn_temperature)
      const train = yield* Jsonl.readAll(
        path.join(dir, "train.jsonl"),
        Export.SentenceTransformersRow(config.negatives_per_row)
      )
      assert.strictEqual(train.length, kit.data.rows)
      assert.isAbove(kit.data.negatives.sameQuery, 0)
      const launch = fs.readFileSync(path.join(dir, "launch.sh"), "utf8")
      assert.include(
        launch,
        'torchrun --standalone --nnodes=1 --nproc_per_node="$NPROC" train_embedding.py --config config.json "$@"'
      )
      assert.include(launch, 'NPROC="$' + '{NPROC:-4}"')
      assert.strictEqual(kit.trainCommand, `NPROC=4 ${path.join(dir, "launch.sh")}`)
      // the GPU requirements: the repo's pins minus the test and lint tools, torch's CUDA build first
      const requirements = fs.readFileSync(path.join(dir, "requirements.txt"), "utf8")
      const pins = (text: string) =>
        text
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l !== "" && !l.startsWith("#"))
      assert.deepStrictEqual(
        pins(requirements),
        pins(fs.readFileSync(pythonRequirements, "utf8")).filter((l) => !/^(pytest|ruff)\b/.test(l))
      )
      assert.notInclude(requirements, "tests and lint")
      assert.include(requirements, "CUDA build of torch")
      const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8")
      for (const command of [
        "NPROC=4 ./launch.sh",
        "./launch.sh --max-steps 20",
        "NPROC=2 ./launch.sh",
        "gloo",
        "python encode.py --model Qwen/Qwen3-Embedding-0.6B --adapter output --config config.json",
        "node apps/eval-runner/dist/bin.js trec --qrels eval/qrels.trec --run eval/run.trec -m ndcg@10 --json",
        "node apps/eval-runner/dist/bin.js pairs --input eval/pairs.jsonl --json"
      ])
        assert.include(readme, command)
      assert.include(readme, `${kit.data.negatives.sameQuery} are the query's own lower-graded documents`)
      assert.include(readme, `The global batch is ${config.global_batch_size}, not the default 512`)
      assert.include(readme, "lr 1e-5")
      // a batch size the caller sets is kept
      const given = yield* Export.launchKit(path.join(tmp(), "k3"), { rows, config: { global_batch_size: 512 } })
      assert.strictEqual(given.config.global_batch_size, 512)
      // syntax checks with the interpreters the kit targets, where this machine has them
      const bash = spawnSync("bash", ["-n", path.join(dir, "launch.sh")], { encoding: "utf8" })
      if (bash.error === undefined) assert.strictEqual(bash.status, 0, bash.stderr)
      for (const script of ["train_embedding.py", "encode.py"]) {
        const python = spawnSync("python3", ["-m", "py_compile", path.join(dir, script)], { encoding: "utf8" })
        if (python.error === undefined) assert.strictEqual(python.status, 0, python.stderr)
      }
      const badBatch = yield* Effect.flip(
        Export.launchKit(path.join(tmp(), "k2"), { rows, config: { nproc_per_node: 3 } })
      )
      assert.include(badBatch.message, "not a multiple")
    })
  )

  it.effect(
    "launch kit is atomic: a failed build leaves nothing; an earlier kit is replaced, other directories refused",
    () =>
      Effect.gen(function* () {
        const parent = tmp()
        const dir = path.join(parent, "kit")
        // every row of weight 0: the build fails after the temporary directory was made
        const zero = graded.map((r) => ({ ...r, weight: 0 }))
        const failed = yield* Effect.flip(Export.launchKit(dir, { rows: zero }))
        assert.strictEqual(failed._tag, "TrainingError")
        assert.deepStrictEqual(fs.readdirSync(parent), [])
        // an earlier kit is replaced as a whole
        yield* Export.launchKit(dir, { rows: graded, config: { global_batch_size: 8, nproc_per_node: 2 } })
        fs.writeFileSync(path.join(dir, "notes.txt"), "stale")
        yield* Export.launchKit(dir, { rows: graded, config: { global_batch_size: 8, nproc_per_node: 1 } })
        assert.isFalse(fs.existsSync(path.join(dir, "notes.txt")))
        assert.include(fs.readFileSync(path.join(dir, "launch.sh"), "utf8"), 'NPROC="$' + '{NPROC:-1}"')
        assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
        // a failed rebuild keeps the earlier kit as it was
        const before = fs.readFileSync(path.join(dir, "train.jsonl"))
        yield* Effect.flip(Export.launchKit(dir, { rows: zero }))
        assert.isTrue(fs.readFileSync(path.join(dir, "train.jsonl")).equals(before))
        assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
        // a kit holding a trained output, or a directory that is no kit, is refused untouched
        fs.mkdirSync(path.join(dir, "output"))
        const trained = yield* Effect.flip(Export.launchKit(dir, { rows: graded, config: { global_batch_size: 8 } }))
        assert.include(trained.message, "output/")
        const other = path.join(parent, "other")
        fs.mkdirSync(other)
        fs.writeFileSync(path.join(other, "mine.txt"), "keep")
        const refused = yield* Effect.flip(Export.launchKit(other, { rows: graded, config: { global_batch_size: 8 } }))
        assert.include(refused.message, "not an ssra kit")
        assert.deepStrictEqual(fs.readdirSync(other), ["mine.txt"])
      })
  )
})
