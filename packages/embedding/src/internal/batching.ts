/**
 * Batches without a repeated query or document: rows are taken in the given (shuffled) order; a row whose query
 * or positive is already in the batch waits for the next one (waiting rows go first). Batches of fewer than two
 * rows (nothing to contrast against) are dropped.
 */
export const makeBatches = (
  order: ReadonlyArray<number>,
  queryKey: Int32Array,
  documentKey: Int32Array,
  batchSize: number
): Array<Array<number>> => {
  const batches: Array<Array<number>> = []
  let pending: Array<number> = order.slice()
  const usedQ = new Set<number>()
  const usedD = new Set<number>()
  while (pending.length > 0) {
    const batch: Array<number> = []
    const deferred: Array<number> = []
    usedQ.clear()
    usedD.clear()
    let i = 0
    for (; i < pending.length && batch.length < batchSize; i++) {
      const r = pending[i]!
      if (usedQ.has(queryKey[r]!) || usedD.has(documentKey[r]!)) {
        deferred.push(r)
        continue
      }
      usedQ.add(queryKey[r]!)
      usedD.add(documentKey[r]!)
      batch.push(r)
    }
    if (batch.length >= 2) batches.push(batch)
    else if (batch.length < 2 && i >= pending.length) break
    pending = deferred.concat(pending.slice(i))
  }
  return batches
}
