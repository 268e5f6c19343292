/**
 * The lexical-residual loss modifier: with a model whose fixed lexical channel has weight α in (0, 1), every logit
 * becomes `(cos + α/(1−α)·lexical)/τ` (the cosine of the full embedding up to scale), so the learned dimensions learn
 * what lexical matching misses. The offsets come from here; `Loss.compute` adds them before the temperature.
 */
import type * as DualEncoder from "../DualEncoder.js"
import * as Lexical from "../Lexical.js"
import type { TrainingArgs } from "../TrainingArgs.js"

interface SparseVector {
  readonly index: Int32Array
  readonly value: Float64Array
}

/**
 * α/(1−α) × the lexical channel's q·d of text ids q and d (`texts` may grow: mined negatives are interned later),
 * with each text's sparse lexical vector computed once; undefined when the modifier is off.
 */
export const residualOffset = (
  model: DualEncoder.DualEncoderModel,
  args: TrainingArgs,
  texts: ReadonlyArray<string>
): ((q: number, d: number) => number) | undefined => {
  const lexical = model.lexical
  if (lexical === null || !args.lexicalResidual) return undefined
  const alpha = lexical.config.weight
  if (!(alpha > 0 && alpha < 1)) return undefined
  const scale = alpha / (1 - alpha)
  const cache = { query: new Map<number, SparseVector>(), document: new Map<number, SparseVector>() }
  const vectorOf = (id: number, kind: "query" | "document"): SparseVector => {
    let v = cache[kind].get(id)
    if (v === undefined) {
      const dense = Lexical.encode(lexical, texts[id]!, kind).vector
      const index: Array<number> = []
      for (let j = 0; j < dense.length; j++) if (dense[j] !== 0) index.push(j)
      v = { index: Int32Array.from(index), value: Float64Array.from(index, (j) => dense[j]!) }
      cache[kind].set(id, v)
    }
    return v
  }
  return (q, d) => {
    const a = vectorOf(q, "query")
    const b = vectorOf(d, "document")
    let s = 0
    for (let x = 0, y = 0; x < a.index.length && y < b.index.length; ) {
      const ia = a.index[x]!
      const ib = b.index[y]!
      if (ia === ib) s += a.value[x++]! * b.value[y++]!
      else if (ia < ib) x++
      else y++
    }
    return scale * s
  }
}
