import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Grade, Trec } from "@ssra/core"
import { Effect, Stream } from "effect"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-trec-"))

const fileWith = (content: string) => {
  const file = path.join(tmp(), "f.trec")
  fs.writeFileSync(file, content)
  return file
}

const qrelsError = (content: string, options: Parameters<typeof Trec.readQrels>[1] = {}) =>
  Effect.gen(function* () {
    const file = fileWith(content)
    const error = yield* Effect.flip(Stream.runCollect(Trec.readQrels(file, options)))
    assert.strictEqual(error.file, file)
    return error
  })

const runError = (content: string) =>
  Effect.gen(function* () {
    const file = fileWith(content)
    const error = yield* Effect.flip(Stream.runCollect(Trec.readRun(file)))
    assert.strictEqual(error.file, file)
    return error
  })

describe("Trec", () => {
  it.effect("round trips qrels and runs", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const qrels: Array<Trec.Qrel> = [
        { qid: "q1", iteration: "0", did: "d1", grade: 2 },
        { qid: "q1", iteration: "0", did: "d2", grade: 0 },
        { qid: "q2", iteration: "0", did: "d1", grade: 3 }
      ]
      const qrelsFile = path.join(dir, "qrels.trec")
      yield* Trec.writeQrelsAll(qrelsFile, qrels)
      assert.strictEqual(fs.readFileSync(qrelsFile, "utf8"), "q1 0 d1 2\nq1 0 d2 0\nq2 0 d1 3\n")
      assert.deepStrictEqual(yield* Stream.runCollect(Trec.readQrels(qrelsFile)), qrels)
      const map = yield* Trec.readQrelsMap(qrelsFile)
      assert.strictEqual(map.get("q1")?.get("d2"), 0)

      const run = [
        ...Trec.rank(
          "q1",
          [
            { did: "d2", score: 0.5 },
            { did: "d1", score: 1.25 },
            { did: "d0", score: 0.5 }
          ],
          "bm25"
        ),
        ...Trec.rank("q2", [{ did: "d1", score: -3e-9 }], "bm25")
      ]
      assert.deepStrictEqual(
        run.map((e) => [e.did, e.rank]),
        [
          ["d1", 1],
          ["d2", 2],
          ["d0", 3],
          ["d1", 1]
        ]
      )
      const runFile = path.join(dir, "run.trec")
      const summary = yield* Trec.writeRunAll(runFile, run)
      assert.strictEqual(summary.rows, 4)
      assert.strictEqual(fs.readFileSync(runFile, "utf8").split("\n")[0], "q1 Q0 d1 1 1.25 bm25")
      assert.deepStrictEqual(yield* Stream.runCollect(Trec.readRun(runFile)), run)
      assert.strictEqual((yield* Trec.readRunMap(runFile)).get("q2")?.get("d1"), -3e-9)
    })
  )

  it("rank uses trec_eval's order: score descending, ties by did descending byte-wise (UTF-8, not UTF-16)", () => {
    // "\u{20000}" (astral, UTF-16 surrogates 0xD840…) sorts above "\uFF21" in UTF-8 but below it in UTF-16
    const run = Trec.rank(
      "q",
      [
        { did: "\uFF21", score: 1 },
        { did: "10", score: 1 },
        { did: "\u{20000}", score: 1 },
        { did: "9", score: 1 },
        { did: "中", score: 2 }
      ],
      "t"
    )
    assert.deepStrictEqual(
      run.map((e) => [e.did, e.rank]),
      [
        ["中", 1],
        ["\u{20000}", 2],
        ["\uFF21", 3],
        ["9", 4],
        ["10", 5]
      ]
    )
    assert.isBelow(Trec.compareUtf8("\uFF21", "\u{20000}"), 0)
    assert.isBelow(Trec.compareRanked(1, "b", 1, "a"), 0)
    assert.isAbove(Trec.compareRanked(0.5, "z", 1, "a"), 0)
  })

  it.effect("accepts tabs and runs of spaces between columns", () =>
    Effect.gen(function* () {
      const rows = yield* Stream.runCollect(Trec.readQrels(fileWith("q1\t0\td1\t1\n  q1   0 d2  2  \n")))
      assert.deepStrictEqual(
        rows.map((r) => [r.did, r.grade]),
        [
          ["d1", 1],
          ["d2", 2]
        ]
      )
    })
  )

  describe("qrels errors name file, line and column", () => {
    it.effect("too few columns", () =>
      Effect.gen(function* () {
        const error = yield* qrelsError("q1 0 d1 1\nq1 0 d2\n")
        assert.strictEqual(error.reason, "malformed")
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "grade")
        assert.include(error.detail, "expected 4 whitespace-separated columns (qid iteration did grade), got 3")
      })
    )

    it.effect("a grade that is not an integer", () =>
      Effect.gen(function* () {
        const error = yield* qrelsError("q1 0 d1 1.5\n")
        assert.strictEqual(error.line, 1)
        assert.strictEqual(error.field, "grade")
        assert.include(error.detail, 'column 4 (grade): expected an integer grade, got "1.5"')
      })
    )

    it.effect("a grade outside the set's scale", () =>
      Effect.gen(function* () {
        const error = yield* qrelsError("q1 0 d1 2\nq1 0 d2 3\n", { scale: Grade.scale(2) })
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "grade")
        assert.include(error.detail, "outside the grade scale 0..2")
      })
    )

    it.effect("a duplicate judgment", () =>
      Effect.gen(function* () {
        const error = yield* qrelsError("q1 0 d1 2\nq2 0 d1 1\nq1 0 d1 0\n")
        assert.strictEqual(error.line, 3)
        assert.include(error.detail, "qid q1 did d1")
      })
    )

    it.effect("an empty file, a BOM, invalid UTF-8", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* qrelsError("")).reason, "empty")
        assert.strictEqual((yield* qrelsError("\uFEFFq1 0 d1 1\n")).reason, "encoding")
        const file = path.join(tmp(), "latin.trec")
        fs.writeFileSync(
          file,
          Buffer.concat([Buffer.from("q1 0 d1 1\nq"), Buffer.from([0xe9]), Buffer.from(" 0 d1 1\n")])
        )
        const error = yield* Effect.flip(Stream.runCollect(Trec.readQrels(file)))
        assert.strictEqual(error.reason, "encoding")
        assert.strictEqual(error.line, 2)
      })
    )
  })

  describe("run errors name file, line and column", () => {
    it.effect("a NaN score", () =>
      Effect.gen(function* () {
        const error = yield* runError("q1 Q0 d1 1 2.5 sys\nq1 Q0 d2 2 NaN sys\n")
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.field, "score")
        assert.include(error.detail, 'column 5 (score): expected a finite number, got "NaN"')
      })
    )

    it.effect("an infinite or overflowing score", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* runError("q1 Q0 d1 1 inf sys\n")).field, "score")
        assert.include((yield* runError("q1 Q0 d1 1 1e999 sys\n")).detail, "overflows")
      })
    )

    it.effect("a bad rank", () =>
      Effect.gen(function* () {
        const error = yield* runError("q1 Q0 d1 first 2.5 sys\n")
        assert.strictEqual(error.field, "rank")
        assert.include(error.detail, "column 4 (rank)")
      })
    )

    it.effect("a duplicate document within a query names qid and did", () =>
      Effect.gen(function* () {
        const error = yield* runError(
          "q1 Q0 d1 1 2.5 sys\nq2 Q0 d1 1 2.0 sys\nq1 Q0 d7 2 1.5 sys\nq1 Q0 d1 3 1.0 sys\n"
        )
        assert.strictEqual(error.line, 4)
        assert.strictEqual(error.field, "did")
        assert.include(error.detail, "qid q1 lists did d1 twice")
      })
    )

    it.effect("too many columns", () =>
      Effect.gen(function* () {
        const error = yield* runError("q1 Q0 d1 1 2.5 sys extra\n")
        assert.strictEqual(error.reason, "malformed")
        assert.include(error.detail, "expected 6")
      })
    )

    it.effect("skip mode keeps going and counts rejects", () =>
      Effect.gen(function* () {
        const dir = tmp()
        const file = path.join(dir, "run.trec")
        const rejectsFile = path.join(dir, "run.rejects.jsonl")
        fs.writeFileSync(file, "q1 Q0 d1 1 2.5 sys\nq1 Q0 d2 2 NaN sys\nq1 Q0 d1 3 1 sys\nq1 Q0 d3 4 0.5 sys\n")
        let rejected = -1
        const rows = yield* Stream.runCollect(
          Trec.readRun(file, { onInvalid: "skip", rejectsFile, onSummary: (s) => (rejected = s.rejected) })
        )
        assert.deepStrictEqual(
          rows.map((r) => r.did),
          ["d1", "d3"]
        )
        assert.strictEqual(rejected, 2)
        assert.strictEqual(fs.readFileSync(rejectsFile, "utf8").trim().split("\n").length, 2)
      })
    )
  })

  describe("writing refuses what would corrupt a run", () => {
    it.effect("a NaN score, leaving no file", () =>
      Effect.gen(function* () {
        const dir = tmp()
        const file = path.join(dir, "run.trec")
        const error = yield* Effect.flip(
          Trec.writeRunAll(
            file,
            Trec.rank(
              "q1",
              [
                { did: "d1", score: 1 },
                { did: "d2", score: Number.NaN }
              ],
              "t"
            )
          )
        )
        assert.strictEqual(error.field, "score")
        assert.include(error.detail, "qid q1 did d2")
        assert.deepStrictEqual(fs.readdirSync(dir), [])
      })
    )

    it.effect("a duplicate document, naming qid and did", () =>
      Effect.gen(function* () {
        const dir = tmp()
        const file = path.join(dir, "run.trec")
        fs.writeFileSync(file, "old\n")
        const entry = { qid: "q1", q0: "Q0", did: "d1", rank: 1, score: 1, tag: "t" }
        const error = yield* Effect.flip(Trec.writeRunAll(file, [entry, { ...entry, rank: 2 }]))
        assert.strictEqual(error.line, 2)
        assert.include(error.detail, "qid q1 lists did d1 twice")
        assert.strictEqual(fs.readFileSync(file, "utf8"), "old\n")
      })
    )

    it.effect("an id with whitespace", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Trec.writeQrelsAll(path.join(tmp(), "q.trec"), [{ qid: "q 1", iteration: "0", did: "d", grade: 1 }])
        )
        assert.strictEqual(error.field, "qid")
        assert.include(error.detail, "whitespace")
      })
    )
  })
})
