/**
 * Sparse row gradients and row-wise Adagrad for embedding tables: only the rows a batch touched are stored and
 * updated, so a step costs O(touched rows × width) however large the table.
 */

/** Gradient rows keyed by table row, accumulated over a batch. */
export class SparseRows {
  readonly width: number
  private readonly slot: Int32Array
  rows: Int32Array
  grad: Float32Array
  count = 0
  constructor(tableRows: number, width: number) {
    this.width = width
    this.slot = new Int32Array(tableRows).fill(-1)
    this.rows = new Int32Array(1024)
    this.grad = new Float32Array(1024 * width)
  }
  /** Adds `scale · weight(row) · g[gOffset..gOffset+width)` to the gradient of each row in `ids`. */
  add(ids: Int32Array, g: Float64Array, gOffset: number, baseScale: number, weights: Float32Array | null = null): void {
    const W = this.width
    for (let k = 0; k < ids.length; k++) {
      const r = ids[k]!
      let s = this.slot[r]!
      if (s === -1) {
        s = this.count++
        if (s >= this.rows.length) {
          const rows = new Int32Array(this.rows.length * 2)
          rows.set(this.rows)
          this.rows = rows
          const grad = new Float32Array(this.grad.length * 2)
          grad.set(this.grad)
          this.grad = grad
        }
        this.slot[r] = s
        this.rows[s] = r
        this.grad.fill(0, s * W, s * W + W)
      }
      const base = s * W
      const scale = weights === null ? baseScale : baseScale * weights[r]!
      for (let j = 0; j < W; j++) this.grad[base + j] += scale * g[gOffset + j]!
    }
  }
  /** Index of the first non-finite gradient value, or -1. */
  firstNonFinite(): number {
    const n = this.count * this.width
    for (let i = 0; i < n; i++) if (!Number.isFinite(this.grad[i]!)) return i
    return -1
  }
  clear(): void {
    for (let s = 0; s < this.count; s++) this.slot[this.rows[s]!] = -1
    this.count = 0
  }
}

/**
 * Row-wise Adagrad: one accumulator per row, `acc += mean(g²)`, `w -= lr · g / (√acc + ε)`.
 */
export const adagradRows = (
  table: Float32Array,
  accumulator: Float32Array,
  grads: SparseRows,
  learningRate: number
): void => {
  const W = grads.width
  for (let s = 0; s < grads.count; s++) {
    const r = grads.rows[s]!
    const base = s * W
    let sq = 0
    for (let j = 0; j < W; j++) sq += grads.grad[base + j]! * grads.grad[base + j]!
    const acc = (accumulator[r] = accumulator[r]! + sq / W)
    const step = learningRate / (Math.sqrt(acc) + 1e-10)
    const row = r * W
    for (let j = 0; j < W; j++) table[row + j] -= step * grads.grad[base + j]!
  }
}
