/**
 * The one TREC parser: qrels (`qid iteration did grade`) and run (`qid Q0 did rank score tag`) lines parsed
 * straight from bytes — fields found by scanning for whitespace, ids interned into integers without a string per
 * line, numbers parsed without a string in the common case — into packed typed arrays grouped by query. The
 * streaming readers of `Trec` use the same line parser, so every path validates alike.
 */

import { Buffer, isUtf8 } from "node:buffer"
import { closeSync, openSync, readSync, statSync } from "node:fs"
import { checkFile, LineProblem } from "./lines.js"

/** What went wrong with a TREC line, as a category evaluators can map to their own errors. */
export type ProblemKind = "malformed" | "invalid" | "duplicate" | "non-finite" | "grade-range"

/** A line problem that also names the query/document it is about. */
export class TrecLineProblem extends LineProblem {
  constructor(
    readonly kind: ProblemKind,
    detail: string,
    field: string | undefined,
    hint: string | undefined,
    readonly qid?: string | undefined,
    readonly did?: string | undefined
  ) {
    super(kind === "malformed" ? "malformed" : "invalid", detail, field, hint)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Interning byte strings
// ---------------------------------------------------------------------------------------------------------

/** Interns UTF-8 byte strings into dense ids 0, 1, 2, … in first-seen order; one JS string per distinct key. */
export class Interner {
  /**
   * @param keepStrings false: no JS string per id (`strings` stays empty; `stringOf` decodes on demand) — for
   * per-query tables that `clear()` after each query.
   */
  constructor(private readonly keepStrings = true) {}
  private table = new Int32Array(1024).fill(-1)
  private mask = 1023
  private hashes = new Int32Array(256)
  private starts = new Uint32Array(256)
  private lengths = new Uint32Array(256)
  private arena = new Uint8Array(4096)
  private used = 0
  private count = 0
  readonly strings: Array<string> = []

  get size(): number {
    return this.count
  }

  /** The id's text (decoded from the stored bytes when strings are not kept). */
  stringOf(id: number): string {
    return this.keepStrings
      ? this.strings[id]!
      : Buffer.from(this.arena.buffer, this.starts[id]!, this.lengths[id]!).toString("utf8")
  }

  /** The stored UTF-8 bytes of all ids, in id order: id `i` is `bytes[start(i), start(i) + length(i))`. */
  get bytes(): Uint8Array {
    return this.arena
  }
  start(id: number): number {
    return this.starts[id]!
  }
  length(id: number): number {
    return this.lengths[id]!
  }

  /** Forgets every id (the tables keep their capacity). */
  clear(): void {
    if (this.count === 0) return
    if (this.count * 8 < this.table.length) {
      // few ids: unset their slots instead of refilling the whole table
      for (let id = 0; id < this.count; id++) {
        let slot = this.hashes[id]! & this.mask
        while (this.table[slot] !== id) slot = (slot + 1) & this.mask
        this.table[slot] = -1
      }
    } else this.table.fill(-1)
    this.count = 0
    this.used = 0
    this.strings.length = 0
  }

  /** The id of `bytes[start, end)`, interning it when new. */
  intern(bytes: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
    const length = end - start
    const mask = this.mask
    const table = this.table
    const hashes = this.hashes
    const lengths = this.lengths
    const starts = this.starts
    const arena = this.arena
    let slot = h & mask
    for (;;) {
      const id = table[slot]!
      if (id === -1) break
      if (hashes[id] === h && lengths[id] === length) {
        const s = starts[id]! - start
        let i = start
        while (i < end && arena[s + i] === bytes[i]) i++
        if (i === end) return id
      }
      slot = (slot + 1) & mask
    }
    const id = this.count
    if (id === this.hashes.length) {
      this.hashes = grow(this.hashes, id * 2)
      this.starts = grow(this.starts, id * 2)
      this.lengths = grow(this.lengths, id * 2)
    }
    if (this.used + length > this.arena.length) {
      this.arena = grow(this.arena, Math.max(this.arena.length * 2, this.used + length))
    }
    this.arena.set(bytes.subarray(start, end), this.used)
    this.hashes[id] = h
    this.starts[id] = this.used
    this.lengths[id] = length
    this.used += length
    if (this.keepStrings)
      this.strings.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString("utf8"))
    this.count = id + 1
    this.table[slot] = id
    if ((id + 1) * 2 > this.table.length) this.rehash()
    return id
  }

  /** The id of a string, or -1 when it was never interned. */
  idOf(text: string): number {
    const bytes = Buffer.from(text, "utf8")
    let h = 0x811c9dc5 | 0
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
    let slot = h & this.mask
    for (;;) {
      const id = this.table[slot]!
      if (id === -1) return -1
      if (this.hashes[id] === h && this.stringOf(id) === text) return id
      slot = (slot + 1) & this.mask
    }
  }

  private rehash() {
    const table = new Int32Array(this.table.length * 2).fill(-1)
    const mask = table.length - 1
    for (let id = 0; id < this.count; id++) {
      let slot = this.hashes[id]! & mask
      while (table[slot] !== -1) slot = (slot + 1) & mask
      table[slot] = id
    }
    this.table = table
    this.mask = mask
  }
}

type Growable = Int32Array | Uint32Array | Uint8Array | Float64Array

const grow = <T extends Growable>(array: T, length: number): T => {
  const bigger = new (array.constructor as new (n: number) => T)(length)
  bigger.set(array)
  return bigger
}

// ---------------------------------------------------------------------------------------------------------
// Numbers from bytes
// ---------------------------------------------------------------------------------------------------------

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]
const POW10_22 = [...POW10, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

const isDigit = (c: number) => c >= 48 && c <= 57

/**
 * Parses `bytes[start, end)` as a decimal number `[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`, returning NaN when
 * the text does not match. Bit-identical to `Number(text)`: the exact fast path (≤ 15 significant digits,
 * |exponent| ≤ 22, one correctly rounded IEEE operation) is used when it applies, `Number` otherwise.
 */
export const parseDecimal = (bytes: Uint8Array, start: number, end: number): number => {
  let i = start
  let negative = false
  if (i < end && (bytes[i] === 43 || bytes[i] === 45)) {
    negative = bytes[i] === 45
    i++
  }
  let mantissa = 0
  let digits = 0
  let significant = 0
  let fraction = 0
  while (i < end && isDigit(bytes[i]!)) {
    mantissa = mantissa * 10 + (bytes[i]! - 48)
    if (mantissa !== 0) significant++
    digits++
    i++
  }
  if (i < end && bytes[i] === 46) {
    i++
    while (i < end && isDigit(bytes[i]!)) {
      mantissa = mantissa * 10 + (bytes[i]! - 48)
      if (mantissa !== 0) significant++
      digits++
      fraction++
      i++
    }
  }
  if (digits === 0) return Number.NaN
  let exponent = 0
  if (i < end && (bytes[i] === 101 || bytes[i] === 69)) {
    i++
    let expNegative = false
    if (i < end && (bytes[i] === 43 || bytes[i] === 45)) {
      expNegative = bytes[i] === 45
      i++
    }
    if (i >= end) return Number.NaN
    while (i < end && isDigit(bytes[i]!)) {
      if (exponent < 100_000) exponent = exponent * 10 + (bytes[i]! - 48)
      i++
    }
    if (expNegative) exponent = -exponent
  }
  if (i !== end) return Number.NaN
  const scale = exponent - fraction
  if (significant <= 15 && scale >= -22 && scale <= 22) {
    const value = scale >= 0 ? mantissa * POW10_22[scale]! : mantissa / POW10_22[-scale]!
    return negative ? -value : value
  }
  return Number(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1"))
}

/** `[+-]?\d+` as a number (NaN when it does not match). */
const parseInteger = (bytes: Uint8Array, start: number, end: number): number => {
  let i = start
  let negative = false
  if (i < end && (bytes[i] === 43 || bytes[i] === 45)) {
    negative = bytes[i] === 45
    i++
  }
  if (i >= end) return Number.NaN
  let value = 0
  for (; i < end; i++) {
    const c = bytes[i]!
    if (!isDigit(c)) return Number.NaN
    value = value * 10 + (c - 48)
  }
  return negative ? -value : value
}

// ---------------------------------------------------------------------------------------------------------
// The line parser
// ---------------------------------------------------------------------------------------------------------

const NEWLINE = 0x0a

/** Byte classes: 0 = part of a field, SPACE = space/tab/CR/vertical tab/form feed, LINE_END = newline. */
const SPACE = 1
const LINE_END = 2
const CLASS = new Uint8Array(256)
for (const c of [32, 9, 13, 11, 12]) CLASS[c] = SPACE
CLASS[NEWLINE] = LINE_END

const RUN_COLUMNS = ["qid", "Q0", "did", "rank", "score", "tag"]
const QRELS_COLUMNS = ["qid", "iteration", "did", "grade"]

/** Options of a scanner. */
export interface ScanOptions {
  /** Highest grade allowed in qrels (grades are always ≥ 0). */
  readonly maxGrade?: number | undefined
  /** Interner to use for document ids (share one between qrels and a run so ids line up). */
  readonly documents?: Interner | undefined
  /**
   * Document ids are numbered per query: the interner is cleared whenever the query changes (streaming a file
   * grouped by query; `interleaved` then means the file is not grouped, and duplicates are only found within a
   * query's contiguous lines).
   */
  readonly perQueryDocuments?: boolean | undefined
  /** Called when a line starts a new query, before anything of it is recorded (the previous query is complete). */
  readonly onQueryEnd?: (() => void) | undefined
}

/**
 * Parses TREC lines of one file. After `line(...)` returns true, `qid`, `did` (interned ids), `value` (score or
 * grade), `rank` and `bounds` (field byte ranges) describe the line. Duplicate (qid, did) pairs are detected here
 * while each query's lines are contiguous, and by `regroup` otherwise.
 */
export class LineScanner {
  readonly queries = new Interner()
  readonly documents: Interner
  readonly columns: ReadonlyArray<string>
  private readonly isRun: boolean
  readonly bounds = new Int32Array(16)
  qid = 0
  did = 0
  value = 0
  rank = 0
  /** true once a query's lines resumed after another query's: duplicates must then be checked after grouping */
  interleaved = false
  private stamp = new Int32Array(1024)
  /** where the last `line` call stopped: its newline, or `end` */
  stop = 0
  private current = -1
  private highest = -1
  private savedQid = new Uint8Array(64)
  private savedLength = -1

  constructor(
    readonly format: "run" | "qrels",
    readonly options: ScanOptions = {}
  ) {
    this.documents = options.documents ?? new Interner(options.perQueryDocuments !== true)
    this.columns = format === "run" ? RUN_COLUMNS : QRELS_COLUMNS
    this.isRun = format === "run"
  }

  text(bytes: Uint8Array, field: number): string {
    const b = this.bounds
    return Buffer.from(bytes.buffer, bytes.byteOffset + b[2 * field]!, b[2 * field + 1]! - b[2 * field]!).toString(
      "utf8"
    )
  }

  /**
   * Parses the line starting at `start` up to the first newline or `end`, whichever comes first (`stop` is then
   * where it ended). Returns false for a blank line; throws a problem.
   */
  line(bytes: Uint8Array, start: number, end: number): boolean {
    const bounds = this.bounds
    const wanted = this.columns.length
    let count = 0
    let i = start
    // One pass over the bytes: fields end at whitespace, the line at a newline (or `end`).
    while (i < end) {
      let c = CLASS[bytes[i]!]!
      while (c === SPACE && ++i < end) c = CLASS[bytes[i]!]!
      if (i >= end || c === LINE_END) break
      const from = i
      while (++i < end && CLASS[bytes[i]!] === 0) {}
      if (count < 8) {
        bounds[2 * count] = from
        bounds[2 * count + 1] = i
      }
      count++
    }
    this.stop = i
    if (count === 0) return false
    const run = this.isRun
    if (count !== wanted) {
      throw new TrecLineProblem(
        "malformed",
        `expected ${wanted} whitespace-separated columns (${this.columns.join(" ")}), got ${count}`,
        count < wanted ? this.columns[count] : undefined,
        `a ${run ? "run" : "qrels"} line looks like "${run ? "q1 Q0 d7 1 12.5 bm25" : "q1 0 d7 2"}"`
      )
    }
    if (run) {
      const rank = parseInteger(bytes, bounds[6]!, bounds[7]!)
      if (!(rank >= 0)) {
        throw new TrecLineProblem(
          "invalid",
          `column 4 (rank): expected a non-negative integer, got "${this.text(bytes, 3)}"`,
          "rank",
          undefined
        )
      }
      const score = parseDecimal(bytes, bounds[8]!, bounds[9]!)
      if (Number.isNaN(score)) {
        throw new TrecLineProblem(
          "non-finite",
          `column 5 (score): expected a finite number, got "${this.text(bytes, 4)}"`,
          "score",
          "NaN and infinite scores are not allowed",
          this.text(bytes, 0),
          this.text(bytes, 2)
        )
      }
      if (!Number.isFinite(score)) {
        throw new TrecLineProblem(
          "non-finite",
          `column 5 (score): ${this.text(bytes, 4)} overflows to ${score}`,
          "score",
          undefined,
          this.text(bytes, 0),
          this.text(bytes, 2)
        )
      }
      this.rank = rank
      this.value = score
    } else {
      const grade = parseInteger(bytes, bounds[6]!, bounds[7]!)
      if (Number.isNaN(grade)) {
        throw new TrecLineProblem(
          "invalid",
          `column 4 (grade): expected an integer grade, got "${this.text(bytes, 3)}"`,
          "grade",
          undefined,
          this.text(bytes, 0),
          this.text(bytes, 2)
        )
      }
      const max = this.options.maxGrade
      if (grade < 0 || (max !== undefined && grade > max)) {
        throw new TrecLineProblem(
          "grade-range",
          `column 4 (grade): ${grade} is outside the grade scale 0..${max ?? "∞"}`,
          "grade",
          max !== undefined ? `this set's grades stop at ${max}` : "grades are non-negative integers",
          this.text(bytes, 0),
          this.text(bytes, 2)
        )
      }
      this.value = grade
    }
    // Consecutive lines usually share the query: compare with the previous line's qid before hashing.
    const qs = bounds[0]!
    const qe = bounds[1]!
    let qid = this.current
    const saved = this.savedQid
    let same = qid >= 0 && qe - qs === this.savedLength
    for (let i = 0; same && i < this.savedLength; i++) same = bytes[qs + i] === saved[i]
    if (!same) {
      qid = this.queries.intern(bytes, qs, qe)
      if (qe - qs > saved.length) this.savedQid = new Uint8Array(2 * (qe - qs))
      this.savedQid.set(bytes.subarray(qs, qe))
      this.savedLength = qe - qs
    }
    if (qid !== this.current) {
      if (this.current >= 0) this.options.onQueryEnd?.()
      if (qid <= this.highest) this.interleaved = true
      else this.highest = qid
      this.current = qid
      if (this.options.perQueryDocuments === true) this.documents.clear()
    }
    const did = this.documents.intern(bytes, bounds[4]!, bounds[5]!)
    if (did >= this.stamp.length) this.stamp = grow(this.stamp, Math.max(did + 1, this.stamp.length * 2))
    if (this.stamp[did] === qid + 1) throw this.duplicate(this.queries.strings[qid]!, this.documents.stringOf(did))
    this.stamp[did] = qid + 1
    this.qid = qid
    this.did = did
    return true
  }

  duplicate(qid: string, did: string): TrecLineProblem {
    return this.format === "run"
      ? new TrecLineProblem(
          "duplicate",
          `duplicate document: qid ${qid} lists did ${did} twice`,
          "did",
          "each document may appear once per query",
          qid,
          did
        )
      : new TrecLineProblem(
          "duplicate",
          `duplicate judgment for qid ${qid} did ${did}`,
          "did",
          "keep one grade per (qid, did)",
          qid,
          did
        )
  }
}

// ---------------------------------------------------------------------------------------------------------
// Packed files
// ---------------------------------------------------------------------------------------------------------

/** A TREC file grouped by query: query `q` (first-seen order) owns entries `offsets[q]..offsets[q+1]`. */
export interface Packed {
  readonly queries: ReadonlyArray<string>
  readonly offsets: Uint32Array
  /** interned document ids (see `documents`) */
  readonly docs: Uint32Array
  /** scores (run) or grades (qrels) */
  readonly values: Float64Array
  /** the 1-based source line of entry `p` */
  readonly lineOf: (p: number) => number
  readonly documents: Interner
}

/** A problem found while packing a file: a line problem with its line, or a file-level one. */
export class PackProblem {
  constructor(
    readonly reason: "not-found" | "io" | "encoding" | "empty" | "malformed" | "invalid",
    readonly detail: string,
    readonly line?: number | undefined,
    readonly problem?: TrecLineProblem | undefined,
    readonly hint?: string | undefined
  ) {}
}

/** Accumulates the entries of a file, then groups them by query (stable: file order within a query). */
class Packer {
  private qids = new Uint32Array(1 << 12)
  private dids = new Uint32Array(1 << 12)
  private values = new Float64Array(1 << 12)
  private count = 0
  // Line numbers without a per-entry array: entry i is on line i + 1 + (blank lines before it).
  private breakEntries: Array<number> = []
  private breakBlanks: Array<number> = []
  private blanks = 0
  readonly scanner: LineScanner
  line = 0

  constructor(format: "run" | "qrels", options: ScanOptions) {
    this.scanner = new LineScanner(format, options)
  }

  /** Makes room for `capacity` entries in total (a size hint). */
  reserve(capacity: number): void {
    if (capacity > this.qids.length) this.resize(capacity)
  }

  private resize(capacity: number) {
    this.qids = grow(this.qids, capacity)
    this.dids = grow(this.dids, capacity)
    this.values = grow(this.values, capacity)
  }

  /** Parses the complete lines of `bytes[start, end)` (valid UTF-8; `end` just past the last newline or EOF). */
  block(bytes: Uint8Array, start: number, end: number): void {
    const scanner = this.scanner
    let pos = start
    // Hot loop: state in locals, written back when the block ends (or fails).
    let line = this.line
    let n = this.count
    let qids = this.qids
    let dids = this.dids
    let values = this.values
    try {
      while (pos < end) {
        line++
        if (scanner.line(bytes, pos, end)) {
          if (n === qids.length) {
            this.count = n
            this.resize(n * 2)
            qids = this.qids
            dids = this.dids
            values = this.values
          }
          qids[n] = scanner.qid
          dids[n] = scanner.did
          values[n] = scanner.value
          n++
        } else {
          this.blanks++
          const last = this.breakEntries.length - 1
          if (last >= 0 && this.breakEntries[last] === n) this.breakBlanks[last] = this.blanks
          else {
            this.breakEntries.push(n)
            this.breakBlanks.push(this.blanks)
          }
        }
        pos = scanner.stop + 1
      }
    } catch (problem) {
      if (problem instanceof TrecLineProblem) throw new PackProblem(problem.reason, problem.detail, line, problem)
      throw problem
    } finally {
      this.line = line
      this.count = n
    }
  }

  private fileLine(i: number): number {
    const entries = this.breakEntries
    let lo = 0
    let hi = entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (entries[mid]! <= i) lo = mid + 1
      else hi = mid
    }
    return i + 1 + (lo === 0 ? 0 : this.breakBlanks[lo - 1]!)
  }

  finish(): Packed {
    const scanner = this.scanner
    const n = this.count
    const queries = scanner.queries.strings
    const offsets = new Uint32Array(queries.length + 1)
    for (let i = 0; i < n; i++) offsets[this.qids[i]! + 1]++
    for (let q = 0; q < queries.length; q++) offsets[q + 1] += offsets[q]!
    const fileLine = (i: number) => this.fileLine(i)
    if (!scanner.interleaved) {
      // Interned query ids are in first-seen order and each query's lines are contiguous: already grouped.
      const docs = this.dids.subarray(0, n)
      const values = this.values.subarray(0, n)
      this.qids = new Uint32Array(0)
      return { queries, offsets, docs, values, lineOf: fileLine, documents: scanner.documents }
    }
    const next = offsets.slice(0, queries.length)
    const docs = new Uint32Array(n)
    const values = new Float64Array(n)
    const source = new Uint32Array(n)
    for (let i = 0; i < n; i++) {
      const p = next[this.qids[i]!]!++
      docs[p] = this.dids[i]!
      values[p] = this.values[i]!
      source[p] = i
    }
    this.qids = this.dids = new Uint32Array(0)
    this.values = new Float64Array(0)
    const lineOf = (p: number) => fileLine(source[p]!)
    // Duplicates across a query's separate blocks: report the earliest offending line.
    const stamp = new Int32Array(scanner.documents.size)
    let worst = -1
    for (let q = 0; q < queries.length; q++) {
      for (let p = offsets[q]!; p < offsets[q + 1]!; p++) {
        if (stamp[docs[p]!] === q + 1) {
          if (worst === -1 || source[p]! < source[worst]!) worst = p
        } else stamp[docs[p]!] = q + 1
      }
    }
    if (worst !== -1) {
      let q = 0
      while (offsets[q + 1]! <= worst) q++
      const problem = scanner.duplicate(queries[q]!, scanner.documents.stringOf(docs[worst]!))
      throw new PackProblem(problem.reason, problem.detail, lineOf(worst), problem)
    }
    return { queries, offsets, docs, values, lineOf, documents: scanner.documents }
  }

  get rows(): number {
    return this.count
  }
}

const firstInvalidLine = (bytes: Uint8Array, start: number, end: number, firstLine: number): number => {
  let line = firstLine
  let pos = start
  while (pos < end) {
    let nl = bytes.indexOf(NEWLINE, pos)
    if (nl === -1 || nl > end) nl = end
    if (!isUtf8(bytes.subarray(pos, nl))) return line
    line++
    pos = nl + 1
  }
  return line
}

const BOM_PROBLEM = () =>
  new PackProblem(
    "encoding",
    "file starts with a UTF-8 byte-order mark (BOM)",
    1,
    undefined,
    "save the file as UTF-8 without BOM"
  )

/** What `feedBlocks` hands the complete lines of a file to (the packer, or the query streamer). */
interface BlockSink {
  reserve(capacity: number): void
  block(bytes: Uint8Array, start: number, end: number): void
  readonly line: number
  readonly rows: number
}

type Feed = (onBlock: (bytes: Uint8Array, start: number, end: number) => void) => void

/** Checks the encoding of each block of complete lines (no BOM, valid UTF-8) and hands it to `packer`. */
const feedBlocks = (format: "run" | "qrels", packer: BlockSink, feed: Feed, totalBytes: number): void => {
  let first = true
  let seen = 0
  feed((bytes, start, end) => {
    if (seen === 0 && end - start > 0 && totalBytes > end - start) {
      // Size the arrays once from the first block's line density (+5 %), instead of doubling up to the total.
      let lines = 0
      for (let i = bytes.indexOf(NEWLINE, start); i !== -1 && i < end; i = bytes.indexOf(NEWLINE, i + 1)) lines++
      packer.reserve(Math.ceil(((lines + 1) * totalBytes * 1.05) / (end - start)))
    }
    seen += end - start
    if (first) {
      first = false
      if (end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf)
        throw BOM_PROBLEM()
    }
    if (!isUtf8(bytes.subarray(start, end))) {
      throw new PackProblem(
        "encoding",
        "invalid UTF-8 byte sequence",
        firstInvalidLine(bytes, start, end, packer.line + 1),
        undefined,
        "convert the file to UTF-8 (e.g. iconv -f GB18030 -t UTF-8)"
      )
    }
    packer.block(bytes, start, end)
  })
  if (packer.rows === 0) {
    throw new PackProblem(
      "empty",
      format === "run" ? "no ranked documents" : "no judgments",
      undefined,
      undefined,
      "check you passed the right file"
    )
  }
}

const packBlocks = (format: "run" | "qrels", options: ScanOptions, feed: Feed, totalBytes: number): Packed => {
  const packer = new Packer(format, options)
  feedBlocks(format, packer, feed, totalBytes)
  return packer.finish()
}

/** Packs TREC text already in memory. Throws a `PackProblem`. */
export const packBytes = (format: "run" | "qrels", bytes: Uint8Array, options: ScanOptions = {}): Packed =>
  packBlocks(format, options, (onBlock) => onBlock(bytes, 0, bytes.length), bytes.length)

/**
 * Packs a TREC file, read in blocks of whole lines (any size; memory is the packed result plus one block).
 * Throws a `PackProblem`.
 */
export const packFile = (
  format: "run" | "qrels",
  file: string,
  options: ScanOptions = {},
  blockBytes = 16 << 20
): Packed => {
  const { feed, size } = fileFeed(format, file, blockBytes)
  return packBlocks(format, options, feed, size)
}

/** Reads `file` in blocks of whole lines (memory: one block). Throws a `PackProblem` when it cannot be read. */
const fileFeed = (format: "run" | "qrels", file: string, blockBytes: number): { feed: Feed; size: number } => {
  let size = 0
  try {
    checkFile(file, format === "run" ? "TREC run" : "TREC qrels")
    size = statSync(file).size
  } catch (error) {
    const e = error as { reason?: string; detail?: string; hint?: string }
    throw new PackProblem(e.reason === "not-found" ? "not-found" : "io", String(e.detail), undefined, undefined, e.hint)
  }
  return {
    size,
    feed: (onBlock) => {
      let fd: number
      try {
        fd = openSync(file, "r")
      } catch (cause) {
        throw new PackProblem("io", String((cause as Error).message), undefined, undefined, "check the path")
      }
      try {
        let buffer = Buffer.allocUnsafe(blockBytes)
        let carry = 0
        for (;;) {
          if (carry === buffer.length) {
            const bigger = Buffer.allocUnsafe(buffer.length * 2)
            buffer.copy(bigger, 0, 0, carry)
            buffer = bigger
          }
          const read = readSync(fd, buffer, carry, buffer.length - carry, null)
          const filled = carry + read
          if (read === 0) {
            if (filled > 0) onBlock(buffer, 0, filled)
            return
          }
          const lastNewline = buffer.lastIndexOf(NEWLINE, filled - 1)
          if (lastNewline === -1) {
            carry = filled
            continue
          }
          onBlock(buffer, 0, lastNewline + 1)
          buffer.copy(buffer, 0, lastNewline + 1, filled)
          carry = filled - lastNewline - 1
        }
      } finally {
        closeSync(fd)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Streaming a file query by query
// ---------------------------------------------------------------------------------------------------------

/**
 * One query's lines of a file grouped by query: entry `i` (file order) is document id `i` of `documents` (a
 * per-query table: `bytes`/`start(i)`/`length(i)` give its UTF-8 bytes) with value `values[i]`; `line` is the
 * 1-based line of its first entry. Valid only during the callback.
 */
export interface QueryGroup {
  readonly qid: string
  readonly size: number
  readonly documents: Interner
  readonly values: Float64Array
  readonly line: number
}

/** Signals that a query's lines resumed after another query's: the file is not grouped by query. */
class NotGrouped {}

/** What a `streamFile` callback stopped the stream with. */
export class StreamStopped<E> {
  constructor(readonly error: E) {}
}

/** Parses lines like `Packer`, but hands each query to `onQuery` as soon as it is complete and forgets it. */
class QueryStreamer implements BlockSink {
  private values = new Float64Array(1024)
  private size = 0
  private firstLine = 0
  private count = 0
  readonly scanner: LineScanner
  line = 0

  constructor(
    format: "run" | "qrels",
    options: ScanOptions,
    private readonly onQuery: (group: QueryGroup) => unknown
  ) {
    this.scanner = new LineScanner(format, { ...options, perQueryDocuments: true, onQueryEnd: () => this.emit() })
  }

  reserve(): void {}

  get rows(): number {
    return this.count
  }

  block(bytes: Uint8Array, start: number, end: number): void {
    const scanner = this.scanner
    let pos = start
    try {
      while (pos < end) {
        this.line++
        if (scanner.line(bytes, pos, end)) {
          if (scanner.interleaved) throw new NotGrouped()
          if (this.size === 0) this.firstLine = this.line
          if (this.size === this.values.length) this.values = grow(this.values, this.size * 2)
          this.values[this.size++] = scanner.value
          this.count++
        }
        pos = scanner.stop + 1
      }
    } catch (problem) {
      if (problem instanceof TrecLineProblem) throw new PackProblem(problem.reason, problem.detail, this.line, problem)
      throw problem
    }
  }

  /** Hands the query read so far to `onQuery` (called by the scanner when the next query starts, and at the end). */
  emit(): void {
    if (this.size === 0) return
    const scanner = this.scanner
    const stop = this.onQuery({
      qid: scanner.queries.strings[scanner.qid]!,
      size: this.size,
      documents: scanner.documents,
      values: this.values.subarray(0, this.size),
      line: this.firstLine
    })
    this.size = 0
    if (stop !== undefined) throw new StreamStopped(stop)
  }
}

/**
 * Streams a TREC file grouped by query (each query's lines contiguous, as trec_eval and most tools write them):
 * `onQuery` gets each query once it is complete, and memory stays one block plus one query. Returns false, having
 * stopped early, when a query's lines resume after another query's (use `packFile` then). A callback that
 * returns a value other than `undefined` stops the stream: `StreamStopped` is thrown with it. Throws a
 * `PackProblem` for a bad file.
 */
export const streamFile = (
  format: "run" | "qrels",
  file: string,
  options: { readonly maxGrade?: number | undefined },
  onQuery: (group: QueryGroup) => unknown,
  blockBytes = 16 << 20
): boolean => {
  const { feed, size } = fileFeed(format, file, blockBytes)
  const streamer = new QueryStreamer(format, { maxGrade: options.maxGrade }, onQuery)
  try {
    feedBlocks(format, streamer, feed, size)
  } catch (error) {
    if (error instanceof NotGrouped) return false
    throw error
  }
  streamer.emit()
  return true
}
