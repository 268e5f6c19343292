/**
 * Duplicate removal for generated queries, in three levels: exact text, normalized text (core
 * `Text.dedupKey`: NFKC, case, punctuation and spaces folded) and near-duplicates by MinHash over character
 * n-grams (a seeded hash family, LSH banding to find candidate pairs, the n-gram Jaccard checked against the
 * threshold). The first occurrence in input order is kept; later ones are rejected naming the one they repeat.
 *
 * @since 0.1.0
 */

import { Sampling, Text } from "@ssra/core"
import { Effect } from "effect"
import * as Filter from "./Filter.js"
import { invalidOption } from "./FilterError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DuplicateOptions {
  /** Which levels to apply (default all three). */
  readonly levels?: ReadonlyArray<"exact" | "normalized" | "near"> | undefined
  /** `global` (default): a query repeats across all documents; `document`: only within one document. */
  readonly scope?: "global" | "document" | undefined
  /** Near-duplicate Jaccard threshold on character n-gram sets (default 0.8). */
  readonly threshold?: number | undefined
  /** Character n-gram size for near-duplicates (default 2: Chinese queries are short). */
  readonly ngram?: number | undefined
  /** MinHash signature length (default 64) and LSH bands (default 16; must divide it). */
  readonly permutations?: number | undefined
  readonly bands?: number | undefined
  readonly seed?: number | undefined
  /** Queries already taken (e.g. the labeled training queries): candidates repeating them are rejected too. */
  readonly existing?: ReadonlyArray<string> | undefined
  readonly name?: string | undefined
}

/**
 * The set of character n-grams of the normalized key (a key shorter than `n` is one gram).
 *
 * @since 0.1.0
 * @category combinators
 */
export const shingles = (text: string, n: number): Set<string> => {
  const chars = [...Text.dedupKey(text)]
  const out = new Set<string>()
  if (chars.length === 0) return out
  if (chars.length < n) {
    out.add(chars.join(""))
    return out
  }
  for (let i = 0; i + n <= chars.length; i++) out.add(chars.slice(i, i + n).join(""))
  return out
}

/**
 * Exact Jaccard similarity of two sets (0 when both are empty).
 *
 * @since 0.1.0
 * @category combinators
 */
export const jaccard = (a: ReadonlySet<string>, b: ReadonlySet<string>): number => {
  if (a.size === 0 && b.size === 0) return 0
  const [small, large] = a.size <= b.size ? [a, b] : [b, a]
  let inter = 0
  for (const g of small) if (large.has(g)) inter++
  return inter / (a.size + b.size - inter)
}

const fnv = (text: string): number => Sampling.hashSeed(text)

/**
 * A seeded MinHash family: `permutations` hash functions `mix(h(g) XOR k_i)` over 32-bit shingle hashes, with
 * keys `k_i` drawn from the seed and a murmur3-style finalizer as `mix`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const minHasher = (permutations: number, seed: number) => {
  const rng = new Sampling.SeededRandom(seed)
  const keys = new Uint32Array(permutations)
  for (let i = 0; i < permutations; i++) keys[i] = rng.nextUint32()
  return (set: ReadonlySet<string>): Uint32Array => {
    const sig = new Uint32Array(permutations).fill(0xffffffff)
    for (const g of set) {
      const h = fnv(g)
      for (let i = 0; i < permutations; i++) {
        let z = (h ^ keys[i]!) >>> 0
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
        z = (z ^ (z >>> 16)) >>> 0
        if (z < sig[i]!) sig[i] = z
      }
    }
    return sig
  }
}

/**
 * Builds the duplicate filter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: DuplicateOptions = {}): Filter.Filter => {
  const name = options.name ?? "duplicate"
  const levels = new Set(options.levels ?? ["exact", "normalized", "near"])
  const scope = options.scope ?? "global"
  const threshold = options.threshold ?? 0.8
  const ngram = options.ngram ?? 2
  const permutations = options.permutations ?? 64
  const bands = options.bands ?? 16
  const seed = options.seed ?? 0
  if (!(threshold > 0 && threshold <= 1)) throw invalidOption(name, `threshold must be in (0, 1], got ${threshold}`)
  if (!(Number.isInteger(ngram) && ngram >= 1))
    throw invalidOption(name, `ngram must be a positive integer, got ${ngram}`)
  if (!(Number.isInteger(bands) && bands >= 1 && permutations % bands === 0)) {
    throw invalidOption(name, `bands (${bands}) must be a positive integer dividing permutations (${permutations})`)
  }
  const rows = permutations / bands
  const existing = options.existing ?? []
  if (scope === "document" && existing.length > 0) {
    throw invalidOption(name, 'existing queries carry no document: use them with scope "global"')
  }
  return {
    name,
    scope: "set",
    config: { levels: [...levels], scope, threshold, ngram, permutations, bands, seed, existing: existing.length },
    apply: (items) =>
      Effect.sync(() => {
        const signature = minHasher(permutations, seed)
        const exact = new Map<string, string>()
        const normalized = new Map<string, string>()
        // One map per band: hash of (group, the band's rows) → the kept queries with that hash (one index, or
        // several). Numeric keys and a group check on each hit (hashes of two groups may collide), not
        // "group + hash" strings: at millions of candidates the LSH index is the filter's memory, and string keys
        // cost ≈ 2 KiB per kept query over 16 bands.
        const buckets = Array.from({ length: bands }, () => new Map<number, number | Array<number>>())
        // per kept query: its id, group and text (shingles are recomputed for the few band hits: no Set kept)
        const kept: Array<{
          readonly id: string
          readonly group: string
          readonly query: string
          readonly size: number
        }> = []
        const counts = { exact: 0, normalized: 0, near: 0 }
        // which kept queries were already compared with the current one (a stamp per query, no per-query Set)
        let seen = new Int32Array(Math.max(16, items.length + existing.length))
        let stamp = 0
        // the band's rows hashed together with the group, so another document's queries (per-document scope) land
        // in other buckets: a bucket shared by every document repeating one query would make the pass quadratic
        const bandHash = (groupHash: number, sig: Uint32Array, band: number): number => {
          let h = Math.imul(0x811c9dc5 ^ groupHash, 0x01000193)
          for (let r = band * rows; r < (band + 1) * rows; r++) h = Math.imul(h ^ sig[r]!, 0x01000193)
          return h >>> 0
        }
        const admit = (query: string, id: string, group: string, near?: { grams: Set<string>; sig: Uint32Array }) => {
          exact.set(`${group}\u0000${query}`, id)
          normalized.set(`${group}\u0000${Text.dedupKey(query)}`, id)
          if (levels.has("near")) {
            const grams = near?.grams ?? shingles(query, ngram)
            const sig = near?.sig ?? signature(grams)
            const index = kept.length
            kept.push({ id, group, query, size: grams.size })
            if (index >= seen.length) {
              const grown = new Int32Array(seen.length * 2)
              grown.set(seen)
              seen = grown
            }
            const groupHash = fnv(group)
            for (let band = 0; band < bands; band++) {
              const key = bandHash(groupHash, sig, band)
              const bucket = buckets[band]!
              const at = bucket.get(key)
              if (at === undefined) bucket.set(key, index)
              else if (typeof at === "number") bucket.set(key, [at, index])
              else at.push(index)
            }
          }
        }
        const nearOf = (
          grams: Set<string>,
          sig: Uint32Array,
          group: string
        ): { id: string; similarity: number } | undefined => {
          if (grams.size === 0) return undefined
          stamp++
          let best: { id: string; similarity: number } | undefined
          const compare = (index: number) => {
            if (seen[index] === stamp) return
            seen[index] = stamp
            const other = kept[index]!
            if (other.group !== group) return
            // Jaccard ≥ t needs the smaller set to be at least t times the larger one
            if (Math.min(other.size, grams.size) < threshold * Math.max(other.size, grams.size)) return
            const similarity = jaccard(grams, shingles(other.query, ngram))
            if (similarity >= threshold && (best === undefined || similarity > best.similarity))
              best = { id: other.id, similarity }
          }
          const groupHash = fnv(group)
          for (let band = 0; band < bands; band++) {
            const at = buckets[band]!.get(bandHash(groupHash, sig, band))
            if (at === undefined) continue
            if (typeof at === "number") compare(at)
            else for (const index of at) compare(index)
          }
          return best
        }
        const groupsOf = (did: string) => (scope === "global" ? "*" : did)
        for (const q of existing) admit(q, "existing", "*")
        const decisions = items.map((c): Filter.Decision => {
          const invalid = Filter.validate(c, { needsDocument: false })
          if (invalid !== undefined) return invalid
          const group = groupsOf(c.did)
          if (levels.has("exact")) {
            const of = exact.get(`${group}\u0000${c.query}`)
            if (of !== undefined) {
              counts.exact++
              return Filter.reject("duplicate-exact", `same text as ${of}`)
            }
          }
          if (levels.has("normalized")) {
            const of = normalized.get(`${group}\u0000${Text.dedupKey(c.query)}`)
            if (of !== undefined) {
              counts.normalized++
              return Filter.reject("duplicate-normalized", `same normalized text as ${of}`)
            }
          }
          let near: { grams: Set<string>; sig: Uint32Array } | undefined
          if (levels.has("near")) {
            const grams = shingles(c.query, ngram)
            near = { grams, sig: signature(grams) }
            const match = nearOf(near.grams, near.sig, group)
            if (match !== undefined) {
              counts.near++
              return Filter.reject("near-duplicate", `Jaccard ${match.similarity.toFixed(3)} with ${match.id}`)
            }
          }
          admit(c.query, c.id, group, near)
          return Filter.keep()
        })
        const n = items.length
        return Filter.collect(name, items, decisions, {
          exactDuplicates: counts.exact,
          normalizedDuplicates: counts.normalized,
          nearDuplicates: counts.near,
          duplicateRate: Filter.rate(counts.exact + counts.normalized + counts.near, n)
        })
      })
  }
}
