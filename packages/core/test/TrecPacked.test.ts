import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Sampling, Trec } from "@ssra/core"
import { Effect, Exit, Stream } from "effect"
import { Interner, packBytes, packFile, parseDecimal } from "../src/internal/trecScan.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-trec-packed-"))

const fileWith = (content: string | Uint8Array) => {
  const file = path.join(tmp(), "f.trec")
  fs.writeFileSync(file, content)
  return file
}

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const reason = (exit as Exit.Failure<A, E>).cause.reasons.find((r) => r._tag === "Fail")
  assert.isDefined(reason)
  return (reason as { error: E }).error
}

const decimal = (text: string) => {
  const bytes = Buffer.from(text, "latin1")
  return parseDecimal(bytes, 0, bytes.length)
}

describe("parseDecimal", () => {
  it("is bit-identical to Number on the accepted grammar", () => {
    const rng = new Sampling.SeededRandom(7)
    const digits = (n: number) => Array.from({ length: n }, () => String(rng.int(10))).join("")
    const samples: Array<string> = ["0", "-0", "+0", "0.0", "-0.0", "5.", ".5", "1e0", "1E+2", "2.5e-3", "007"]
    for (let i = 0; i < 20_000; i++) {
      const sign = ["", "-", "+"][rng.int(3)]!
      const int = digits(rng.int(20))
      const frac = rng.int(2) === 0 ? "" : `.${digits(rng.int(20))}`
      const body = int === "" && (frac === "" || frac === ".") ? `${int}${frac}1` : `${int}${frac}`
      const exp = rng.int(3) === 0 ? `${"eE"[rng.int(2)]}${["", "-", "+"][rng.int(3)]}${rng.int(400)}` : ""
      samples.push(`${sign}${body}${exp}`)
      samples.push(String(rng.next() * 10 ** (rng.int(40) - 20)))
    }
    for (const s of samples) assert.isTrue(Object.is(decimal(s), Number(s)), s)
  })

  it("rejects what is not a plain decimal number", () => {
    for (const s of ["", "+", "-", ".", "1e", "1e+", "e5", "1..2", "0x10", "NaN", "inf", "Infinity", "1,5", "1.2.3"])
      assert.isTrue(Number.isNaN(decimal(s)), s)
  })
})

describe("Interner", () => {
  it("gives dense first-seen ids, decodes UTF-8 once and finds strings back", () => {
    const interner = new Interner()
    const words = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? `文档${i}` : i % 3 === 1 ? `d😀${i}` : `d${i}`))
    for (const w of words) {
      const b = Buffer.from(`  ${w} `, "utf8")
      interner.intern(b, 2, b.length - 1)
    }
    for (const w of words) {
      const b = Buffer.from(w, "utf8")
      assert.strictEqual(interner.intern(b, 0, b.length), words.indexOf(w))
    }
    assert.strictEqual(interner.size, words.length)
    assert.deepStrictEqual(interner.strings, words)
    assert.strictEqual(interner.idOf("文档3"), 3)
    assert.strictEqual(interner.idOf("missing"), -1)
  })
})

describe("packed TREC reading", () => {
  it.effect("groups an interleaved run by query (first-seen order, file order within a query)", () =>
    Effect.gen(function* () {
      const text = "q2 Q0 a 1 3 t\r\n\nq1 Q0 b 1 2 t\nq2 Q0 c 2 1.5 t\n  \nq1 Q0 a 2 -1e-3 t\nq3 Q0 z 1 0 t"
      const packed = yield* Trec.readRunPacked(fileWith(text))
      assert.deepStrictEqual([...packed.queries], ["q2", "q1", "q3"])
      assert.deepStrictEqual([...packed.offsets], [0, 2, 4, 5])
      const strings = packed.documents.strings
      assert.deepStrictEqual(
        [...packed.docs].map((d) => strings[d]),
        ["a", "c", "b", "a", "z"]
      )
      assert.deepStrictEqual([...packed.values], [3, 1.5, 2, -1e-3, 0])
      assert.deepStrictEqual(
        [0, 1, 2, 3, 4].map((p) => packed.lineOf(p)),
        [1, 4, 3, 6, 7]
      )
      const map = yield* Trec.readRunMap(fileWith(text))
      assert.deepStrictEqual([...map.keys()], ["q2", "q1", "q3"])
      assert.deepStrictEqual(
        [...map.get("q1")!],
        [
          ["b", 2],
          ["a", -1e-3]
        ]
      )
    })
  )

  it("reads the same across block boundaries as from memory", () => {
    const rng = new Sampling.SeededRandom(3)
    const lines: Array<string> = []
    for (let q = 0; q < 40; q++)
      for (let d = 0; d < 1 + rng.int(12); d++) lines.push(`q${q} Q0 文${d}é ${d + 1} ${rng.next()} tag`)
    const text = `${lines.join("\n")}\n`
    const file = fileWith(text)
    const expected = packBytes("run", Buffer.from(text, "utf8"))
    for (const block of [7, 64, 1000]) {
      const got = packFile("run", file, {}, block)
      assert.deepStrictEqual(got.queries, expected.queries)
      assert.deepStrictEqual([...got.offsets], [...expected.offsets])
      assert.deepStrictEqual([...got.values], [...expected.values])
      assert.deepStrictEqual(
        [...got.docs].map((d) => got.documents.strings[d]),
        [...expected.docs].map((d) => expected.documents.strings[d])
      )
    }
  })

  it.effect("shares document ids between qrels and a run", () =>
    Effect.gen(function* () {
      const qrels = yield* Trec.readQrelsPacked(fileWith("q1 0 d9 2\nq1 0 d1 0\n"))
      const run = yield* Trec.readRunPacked(fileWith("q1 Q0 d1 1 2 t\nq1 Q0 d5 2 1 t\n"), {
        documents: qrels.documents
      })
      assert.strictEqual(run.documents, qrels.documents)
      assert.deepStrictEqual([...run.docs], [1, 2])
    })
  )

  describe("errors name file, line, column and the entry", () => {
    it.effect("a duplicate document, contiguous or in a later block of its query", () =>
      Effect.gen(function* () {
        const contiguous = errorOf(yield* Effect.exit(Trec.readRunPacked(fileWith("q1 Q0 d1 1 2 t\nq1 Q0 d1 2 1 t\n"))))
        assert.strictEqual(contiguous.kind, "duplicate")
        assert.strictEqual(contiguous.line, 2)
        assert.strictEqual(contiguous.qid, "q1")
        assert.strictEqual(contiguous.did, "d1")
        const text = "q1 Q0 d1 1 2 t\nq2 Q0 d1 1 2 t\nq1 Q0 d7 2 1 t\n\nq1 Q0 d1 3 1 t\nq2 Q0 d1 2 0 t\n"
        const interleaved = errorOf(yield* Effect.exit(Trec.readRunPacked(fileWith(text))))
        assert.strictEqual(interleaved.line, 5)
        assert.include(interleaved.detail, "qid q1 lists did d1 twice")
        // the Map reader and the stream reader reject it too
        const mapError = errorOf(yield* Effect.exit(Trec.readRunMap(fileWith(text))))
        assert.strictEqual(mapError._tag, "DatasetError")
        assert.strictEqual(mapError.line, 5)
        assert.strictEqual(mapError.field, "did")
        const streamError = errorOf(yield* Effect.exit(Stream.runCollect(Trec.readRun(fileWith(text)))))
        assert.strictEqual(streamError.line, 5)
        assert.include(streamError.detail, "qid q1 lists did d1 twice")
        const qrelsError = errorOf(yield* Effect.exit(Trec.readQrelsMap(fileWith("q1 0 d1 1\nq2 0 d1 1\nq1 0 d1 0\n"))))
        assert.strictEqual(qrelsError.line, 3)
        assert.include(qrelsError.detail, "qid q1 did d1")
      })
    )

    it.effect("non-finite scores, bad grades, wrong column counts, encoding and empty files", () =>
      Effect.gen(function* () {
        const nan = errorOf(yield* Effect.exit(Trec.readRunPacked(fileWith("q1 Q0 d1 1 2 t\nq1 Q0 d2 2 NaN t\n"))))
        assert.strictEqual(nan.kind, "non-finite")
        assert.strictEqual(nan.line, 2)
        assert.strictEqual(nan.field, "score")
        assert.include(nan.message, ':2: field score: column 5 (score): expected a finite number, got "NaN"')
        const overflow = errorOf(yield* Effect.exit(Trec.readRunPacked(fileWith("q1 Q0 d1 1 1e999 t\n"))))
        assert.include(overflow.detail, "overflows")
        const grade = errorOf(
          yield* Effect.exit(Trec.readQrelsPacked(fileWith("q1 0 d1 2\nq1 0 d2 3\n"), { maxGrade: 2 }))
        )
        assert.strictEqual(grade.kind, "grade-range")
        assert.strictEqual(grade.line, 2)
        const columns = errorOf(yield* Effect.exit(Trec.readQrelsPacked(fileWith("q1 0 d1 1\nq1 0 d2\n"))))
        assert.strictEqual(columns.kind, "malformed")
        assert.strictEqual(columns.field, "grade")
        assert.strictEqual(columns.toDatasetError().reason, "malformed")
        const bom = errorOf(yield* Effect.exit(Trec.readQrelsPacked(fileWith("\uFEFFq1 0 d1 1\n"))))
        assert.strictEqual(bom.kind, "encoding")
        const latin = fileWith(
          Buffer.concat([Buffer.from("q1 0 d1 1\n\nq"), Buffer.from([0xe9]), Buffer.from(" 0 d 1\n")])
        )
        const encoding = errorOf(yield* Effect.exit(Trec.readQrelsPacked(latin)))
        assert.strictEqual(encoding.kind, "encoding")
        assert.strictEqual(encoding.line, 3)
        assert.strictEqual(errorOf(yield* Effect.exit(Trec.readRunPacked(fileWith("\n \n")))).kind, "empty")
        assert.strictEqual(errorOf(yield* Effect.exit(Trec.readRunPacked("/nonexistent/x.run"))).kind, "not-found")
        const inMemory = errorOf(yield* Effect.exit(Trec.parseRunPacked(Buffer.from("q1 Q0 d1 x 1 t"), "mem.run")))
        assert.strictEqual(inMemory.file, "mem.run")
        assert.strictEqual(inMemory.field, "rank")
      })
    )
  })
})

describe("streaming a file query by query", () => {
  it.effect("hands each query once, with per-query ids, values and first line; stops on interleaved files", () =>
    Effect.gen(function* () {
      const seen: Array<[string, Array<string>, Array<number>, number]> = []
      const grouped = yield* Trec.streamQueries(
        "run",
        fileWith("q1 Q0 a 1 0.5 t\nq1 Q0 中 2 0.25 t\n\nq2 Q0 a 1 1e-3 t\n"),
        (g) => {
          const ids = Array.from({ length: g.size }, (_, i) => g.documents.stringOf(i))
          const bytes = Array.from({ length: g.size }, (_, i) =>
            Buffer.from(
              g.documents.bytes.subarray(g.documents.start(i), g.documents.start(i) + g.documents.length(i))
            ).toString()
          )
          assert.deepStrictEqual(bytes, ids)
          seen.push([g.qid, ids, [...g.values], g.line])
          return undefined
        }
      )
      assert.isTrue(grouped)
      assert.deepStrictEqual(seen, [
        ["q1", ["a", "中"], [0.5, 0.25], 1],
        ["q2", ["a"], [0.001], 4]
      ])
      const interleaved = yield* Trec.streamQueries(
        "qrels",
        fileWith("q1 0 a 1\nq2 0 a 1\nq1 0 b 0\n"),
        () => undefined
      )
      assert.isFalse(interleaved)
      const duplicate = errorOf(
        yield* Effect.exit(
          Trec.streamQueries<never>("run", fileWith("q1 Q0 a 1 1 t\nq1 Q0 a 2 1 t\n"), () => undefined)
        )
      )
      assert.strictEqual(duplicate.kind, "duplicate")
      assert.strictEqual(duplicate.line, 2)
      const stopped = errorOf(
        yield* Effect.exit(Trec.streamQueries("run", fileWith("q1 Q0 a 1 1 t\n"), (g) => `stop ${g.qid}`))
      )
      assert.strictEqual(stopped, "stop q1")
    })
  )

  it("a cleared per-query table reuses ids from 0", () => {
    const table = Trec.makeDocumentIds({ keepStrings: false })
    const bytes = Buffer.from("abc")
    assert.strictEqual(table.intern(bytes, 0, 1), 0)
    assert.strictEqual(table.intern(bytes, 1, 2), 1)
    table.clear()
    assert.strictEqual(table.size, 0)
    assert.strictEqual(table.intern(bytes, 1, 2), 0)
    assert.strictEqual(table.intern(bytes, 0, 1), 1)
    assert.strictEqual(table.stringOf(1), "a")
    assert.deepStrictEqual(table.strings, [])
  })
})
