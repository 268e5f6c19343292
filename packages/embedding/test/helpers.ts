import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type DatasetError, Jsonl, Pair } from "@ssra/core"
import { Effect } from "effect"

export const dataDir = path.resolve(import.meta.dirname, "../../../data")

export const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-embedding-"))

/** The first `queries` query groups of a bundled file (whole groups, file order). */
export const loadGroups = (
  set: string,
  file: string,
  queries: number
): Effect.Effect<Array<Pair.LabeledPair>, DatasetError.DatasetError> =>
  Effect.map(Jsonl.readAll(path.join(dataDir, set, file), Pair.LabeledPair), (rows) => {
    const keep = new Set<string>()
    const out: Array<Pair.LabeledPair> = []
    for (const r of rows) {
      if (!keep.has(r.qid)) {
        if (keep.size >= queries) continue
        keep.add(r.qid)
      }
      out.push(r)
    }
    return out
  })

/**
 * Mean reciprocal rank of a query's best-graded documents when each held-out query searches the whole held-out
 * corpus by cosine.
 */
export const corpusMrr = (
  groups: ReadonlyArray<{ query: string; docs: ReadonlyArray<{ doc: string; label: number }> }>,
  embedQuery: (t: ReadonlyArray<string>) => ReadonlyArray<Float32Array>,
  embedDoc: (t: ReadonlyArray<string>) => ReadonlyArray<Float32Array>
) => {
  const corpus = [...new Set(groups.flatMap((g) => g.docs.map((d) => d.doc)))]
  const dv = embedDoc(corpus)
  const qv = embedQuery(groups.map((g) => g.query))
  let total = 0
  groups.forEach((g, i) => {
    const best = Math.max(...g.docs.map((d) => d.label))
    const relevant = new Set(g.docs.filter((d) => d.label === best).map((d) => d.doc))
    const scores = dv.map((v) => v.reduce((s, x, j) => s + x * qv[i]![j]!, 0))
    const order = corpus.map((_, k) => k).sort((a, b) => scores[b]! - scores[a]!)
    total += 1 / (order.findIndex((k) => relevant.has(corpus[k]!)) + 1)
  })
  return total / groups.length
}
