/**
 * `Trec.evaluateFiles` for files grouped by query (what trec_eval and most tools write) in bounded memory: the
 * qrels are kept as document-id bytes + grades in fixed-size chunks (no JS string, no global id table), and the
 * run is streamed query by query, matched against its query's judgments through a small per-query table, and
 * scored in batches by the same kernel as every other path (`rankings.ts`) — so the numbers are bit-identical.
 * Ties are broken on the raw UTF-8 bytes, which is `compareUtf8`'s order.
 */
import type { Trec as CoreTrec } from "@ssra/core"
import { evaluateRankingsWith } from "./rankings.js"

/** Entries per chunk of the qrels store, and bytes per chunk of its id bytes. */
const ENTRY_CHUNK = 1 << 20
const BYTE_CHUNK = 1 << 23
/** Run entries scored per kernel call. */
const BATCH = 1 << 16

/** A growable Float64/Uint32 column (doubling; for per-query arrays, which are small). */
class Column<A extends Float64Array | Uint32Array> {
  size = 0
  constructor(public data: A) {}
  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new (this.data.constructor as new (n: number) => A)(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.size++] = value
  }
  values(): A {
    return this.data.subarray(0, this.size) as A
  }
}

/**
 * The judgments of every query, compactly: query `j`'s entries sit in one entry chunk (`ends`: each id's end
 * in the query's bytes; `grades`) and its id bytes in one byte chunk, never straddling two.
 */
export class QrelsStore {
  readonly index = new Map<string, number>()
  private readonly ends: Array<Uint32Array> = []
  private readonly grades: Array<Float64Array> = []
  private readonly bytes: Array<Uint8Array> = []
  private entryUsed = ENTRY_CHUNK
  private byteUsed = BYTE_CHUNK
  // per query: entry chunk, offset in it, count, byte chunk, offset in it
  private readonly meta = new Column(new Uint32Array(1024))

  get queries(): number {
    return this.index.size
  }

  add(group: CoreTrec.QueryGroup): void {
    const n = group.size
    const docs = group.documents
    const byteLength = docs.start(n - 1) + docs.length(n - 1)
    if (this.entryUsed + n > ENTRY_CHUNK || this.ends.length === 0) {
      this.ends.push(new Uint32Array(Math.max(ENTRY_CHUNK, n)))
      this.grades.push(new Float64Array(Math.max(ENTRY_CHUNK, n)))
      this.entryUsed = 0
    }
    if (this.byteUsed + byteLength > BYTE_CHUNK || this.bytes.length === 0) {
      this.bytes.push(new Uint8Array(Math.max(BYTE_CHUNK, byteLength)))
      this.byteUsed = 0
    }
    const e = this.ends.length - 1
    const b = this.bytes.length - 1
    for (let i = 0; i < n; i++) this.ends[e]![this.entryUsed + i] = docs.start(i) + docs.length(i)
    this.grades[e]!.set(group.values, this.entryUsed)
    this.bytes[b]!.set(docs.bytes.subarray(0, byteLength), this.byteUsed)
    for (const v of [e, this.entryUsed, n, b, this.byteUsed]) this.meta.push(v)
    this.index.set(group.qid, this.index.size)
    this.entryUsed += n
    this.byteUsed += byteLength
  }

  /** Interns query `j`'s judged ids into `table` (ids 0..count-1, cleared first) and returns their grades. */
  judgments(j: number, table: CoreTrec.DocumentIds): Float64Array {
    const m = this.meta.data
    const [e, from, n, b, byteFrom] = [m[5 * j]!, m[5 * j + 1]!, m[5 * j + 2]!, m[5 * j + 3]!, m[5 * j + 4]!]
    const ends = this.ends[e]!
    const bytes = this.bytes[b]!
    table.clear()
    let start = byteFrom
    for (let i = 0; i < n; i++) {
      const end = byteFrom + ends[from + i]!
      table.intern(bytes, start, end)
      start = end
    }
    return this.grades[e]!.subarray(from, from + n)
  }
}

/** Compares byte strings `a[as, ae)` and `b[bs, be)` like `strcmp` (= `compareUtf8` on their text). */
const compareBytes = (bytes: Uint8Array, as: number, ae: number, bs: number, be: number): number => {
  const n = Math.min(ae - as, be - bs)
  for (let i = 0; i < n; i++) {
    const d = bytes[as + i]! - bytes[bs + i]!
    if (d !== 0) return d
  }
  return ae - as - (be - bs)
}

/** Per-query values of each measure, filled batch by batch. */
export interface StreamedMeasure {
  readonly key: string
  readonly family: string
  readonly k: number
}

/** Run queries collected into one kernel call, then scored. */
export class RunBatches {
  private offsets = new Column(new Uint32Array(1024))
  private judgedOffsets = new Column(new Uint32Array(1024))
  private scores = new Column(new Float64Array(BATCH))
  private gains = new Column(new Float64Array(BATCH))
  private judgedGains = new Column(new Float64Array(BATCH))
  private idEnds = new Column(new Uint32Array(BATCH))
  private idBytes = new Uint8Array(1 << 20)
  private idUsed = 0
  private longest = 1
  readonly out: Record<string, Column<Float64Array>>

  constructor(
    private readonly measures: ReadonlyArray<StreamedMeasure>,
    private readonly relevance: number
  ) {
    this.out = Object.fromEntries(measures.map((m) => [m.key, new Column(new Float64Array(1024))]))
    this.offsets.push(0)
    this.judgedOffsets.push(0)
  }

  /** Adds one run query: its entries (`group`), the gains of its documents, and all its judged grades. */
  add(group: CoreTrec.QueryGroup, gains: Float64Array, judged: Float64Array): void {
    const docs = group.documents
    const byteLength = docs.start(group.size - 1) + docs.length(group.size - 1)
    if (this.idUsed + byteLength > this.idBytes.length) {
      const bigger = new Uint8Array(Math.max(this.idBytes.length * 2, this.idUsed + byteLength))
      bigger.set(this.idBytes.subarray(0, this.idUsed))
      this.idBytes = bigger
    }
    this.idBytes.set(docs.bytes.subarray(0, byteLength), this.idUsed)
    for (let i = 0; i < group.size; i++) {
      this.scores.push(group.values[i]!)
      this.gains.push(gains[i]!)
      this.idEnds.push(this.idUsed + docs.start(i) + docs.length(i))
    }
    for (let i = 0; i < judged.length; i++) this.judgedGains.push(judged[i]!)
    this.idUsed += byteLength
    this.offsets.push(this.scores.size)
    this.judgedOffsets.push(this.judgedGains.size)
    this.longest = Math.max(this.longest, group.size, judged.length)
    if (this.scores.size >= BATCH) this.flush()
  }

  /** Scores the collected queries and appends their values (uncut measures at this batch's longest list). */
  flush(): void {
    if (this.offsets.size <= 1) return
    const offsets = this.offsets.values()
    const ends = this.idEnds.values()
    const bytes = this.idBytes
    const startOf = (i: number) => (i === 0 ? 0 : ends[i - 1]!)
    const uncut = this.longest
    const at = (m: StreamedMeasure) => (m.k === Number.POSITIVE_INFINITY ? uncut : m.k)
    const values = evaluateRankingsWith(
      {
        offsets,
        scores: this.scores.values(),
        gains: this.gains.values(),
        judgedOffsets: this.judgedOffsets.values(),
        judgedGains: this.judgedGains.values()
      },
      (i, j) => compareBytes(bytes, startOf(i), ends[i]!, startOf(j), ends[j]!),
      [...new Set(this.measures.map(at))],
      this.relevance
    )
    for (const m of this.measures) {
      const column = values[`${m.family}_at_${at(m)}`]!
      for (let q = 0; q < column.length; q++) this.out[m.key]!.push(column[q]!)
    }
    for (const c of [this.offsets, this.judgedOffsets, this.scores, this.gains, this.judgedGains, this.idEnds])
      c.size = 0
    this.offsets.push(0)
    this.judgedOffsets.push(0)
    this.idUsed = 0
    this.longest = 1
  }
}

/** The gains of a run query's documents from its judged table (`table` holds the judged ids 0..m-1). */
export const gainsOf = (
  group: CoreTrec.QueryGroup,
  table: CoreTrec.DocumentIds,
  grades: Float64Array,
  into: Float64Array
): Float64Array => {
  const docs = group.documents
  const bytes = docs.bytes
  const judged = grades.length
  const gains = into.length >= group.size ? into.subarray(0, group.size) : new Float64Array(group.size)
  for (let i = 0; i < group.size; i++) {
    const start = docs.start(i)
    const id = table.intern(bytes, start, start + docs.length(i))
    gains[i] = id < judged ? grades[id]! : 0
  }
  return gains
}
