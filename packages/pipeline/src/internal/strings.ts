import type { Pair } from "@ssra/core"

/**
 * A run's string pool: equal texts read back from different artifacts (ids, queries, documents) become one string
 * in memory. At a million-pair pool the same document text was otherwise held once by the prepared pool, once by
 * the document list and once per D2Q set, and a query once per click; interning changes identity, never a value.
 */
export type Strings = (text: string) => string

/** A new pool. */
export const pool = (): Strings => {
  const canonical = new Map<string, string>()
  return (text) => {
    const existing = canonical.get(text)
    if (existing !== undefined) return existing
    canonical.set(text, text)
    return text
  }
}

/** A pair with its ids and texts interned. */
export const pair = <A extends { qid: string; did: string; query: string; doc: string }>(s: Strings, p: A): A => ({
  ...p,
  qid: s(p.qid),
  did: s(p.did),
  query: s(p.query),
  doc: s(p.doc)
})

/** A D2Q group with its id, document and queries interned. */
export const group = (s: Strings, g: Pair.D2QGroup): Pair.D2QGroup => ({
  did: s(g.did),
  doc: s(g.doc),
  queries: g.queries.map((q) => ({ ...q, query: s(q.query) }))
})
