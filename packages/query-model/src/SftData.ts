/**
 * Training data for the fine-tuned query model, "(document, grade) → query", in the three variants the paper
 * compares: vanilla SFT (the labeled data as is), Stage 1 (D2Q groups from the score-model re-annotated click
 * log plus the de-duplicated labeled data) and Stage 2 (Stage 1 plus the synthetic queries that survived the
 * filters). Exported as chat-format JSONL (system / user / assistant), the format OpenAI-compatible fine-tuning
 * APIs take; the user message holds the document and the target grade, the assistant message the query.
 *
 * @since 0.1.0
 */

import { type DatasetError, Grade, Jsonl, type Pair, Sampling, type SyntheticQuery, Text } from "@ssra/core"
import type { ChatClient } from "@ssra/llm"
import type { Effect } from "effect"
import { QueryOptionError } from "./QueryModelError.js"

/**
 * The prompt version of the fine-tuned query model's messages.
 *
 * @since 0.1.0
 * @category constants
 */
export const promptVersion = "ssra-sft-query/v1"

/**
 * One training example: a document, a grade and a query with that grade.
 *
 * @since 0.1.0
 * @category models
 */
export interface SftExample {
  readonly did: string
  readonly doc: string
  readonly grade: Grade.Grade
  readonly query: string
  readonly origin: "human" | "score-model" | "synthetic"
}

/**
 * A built training set with counts of what was taken and what was dropped (and why).
 *
 * @since 0.1.0
 * @category models
 */
export interface SftSet {
  readonly examples: ReadonlyArray<SftExample>
  readonly counts: Readonly<Record<string, number>>
}

/**
 * One chat-format JSONL row.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatRow {
  readonly messages: ReadonlyArray<ChatClient.ChatMessage>
}

/**
 * The system and user messages of the fine-tuned query model (training and generation use the same ones).
 *
 * @since 0.1.0
 * @category constructors
 */
export const messages = (
  doc: string,
  grade: Grade.Grade,
  scale: Grade.GradeScale = Grade.ssraScale
): Array<ChatClient.ChatMessage> => [
  {
    role: "system",
    content:
      `Write a search query for the document so that the document has the given relevance grade (0-${scale.max}) for it. ` +
      'Answer with JSON {"queries": ["..."]}.'
  },
  { role: "user", content: `Document:\n${doc}\nGrade: ${grade}` }
]

/**
 * The chat row of one example.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toChat = (example: SftExample, scale: Grade.GradeScale = Grade.ssraScale): ChatRow => ({
  messages: [
    ...messages(example.doc, example.grade, scale),
    { role: "assistant", content: JSON.stringify({ queries: [example.query] }) }
  ]
})

const pairKey = (doc: string, query: string, grade: number) =>
  `${grade}\u0000${Text.dedupKey(doc)}\u0000${Text.dedupKey(query)}`

const build = (
  sources: ReadonlyArray<{ readonly name: string; readonly examples: Iterable<SftExample> }>,
  grades: ReadonlySet<number> | undefined
): SftSet => {
  const seen = new Set<string>()
  const examples: Array<SftExample> = []
  const counts: Record<string, number> = {}
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1)
  for (const source of sources) {
    for (const e of source.examples) {
      if (e.query.trim() === "" || e.doc.trim() === "") {
        bump(`${source.name}.dropped.blank`)
        continue
      }
      if (grades !== undefined && !grades.has(e.grade)) {
        bump(`${source.name}.dropped.grade-not-selected`)
        continue
      }
      const k = pairKey(e.doc, e.query, e.grade)
      if (seen.has(k)) {
        bump(`${source.name}.dropped.duplicate`)
        continue
      }
      seen.add(k)
      examples.push(e)
      bump(`${source.name}.kept`)
    }
  }
  return { examples, counts }
}

const fromLabeled = (p: Pair.LabeledPair): SftExample => ({
  did: p.did,
  doc: p.doc,
  grade: p.label as Grade.Grade,
  query: p.query,
  origin: "human"
})

/**
 * Vanilla SFT: every labeled pair as an example (exact repeats of (document, query, grade) once).
 *
 * @since 0.1.0
 * @category constructors
 */
export const vanilla = (
  labeled: ReadonlyArray<Pair.LabeledPair>,
  options: { readonly grades?: ReadonlyArray<Grade.Grade> | undefined } = {}
): SftSet => build([{ name: "labeled", examples: labeled.map(fromLabeled) }], options.grades && new Set(options.grades))

/**
 * De-duplicates the labeled data the way Stage 1 needs it: a frequent query graded against many documents
 * keeps only `maxDocsPerQuery` of them per grade (seeded choice), so the query model stops mapping many
 * documents to one query.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dedupLabeled = (
  labeled: ReadonlyArray<Pair.LabeledPair>,
  options: { readonly maxDocsPerQuery?: number | undefined; readonly seed?: number | undefined } = {}
): Array<Pair.LabeledPair> => {
  const max = options.maxDocsPerQuery ?? 1
  if (!(Number.isInteger(max) && max >= 1))
    throw new QueryOptionError({
      option: "maxDocsPerQuery",
      detail: `maxDocsPerQuery must be a positive integer, got ${max}`
    })
  const groups = new Map<string, Array<Pair.LabeledPair>>()
  for (const p of labeled) {
    const k = `${p.label}\u0000${Text.dedupKey(p.query)}`
    const list = groups.get(k)
    if (list) list.push(p)
    else groups.set(k, [p])
  }
  const keep = new Set<Pair.LabeledPair>()
  const rng = new Sampling.SeededRandom(options.seed ?? 0)
  for (const [k, list] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    for (const p of list.length <= max ? list : Sampling.sample(list, max, rng.fork(k))) keep.add(p)
  }
  return labeled.filter((p) => keep.has(p))
}

/**
 * Stage 1: the D2Q groups' queries (human or score-model grades) followed by the de-duplicated labeled pairs
 * (pass `dedupLabeled(labeled)`); a pair already in the D2Q data is not repeated.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stage1 = (
  d2q: ReadonlyArray<Pair.D2QGroup>,
  labeledDedup: ReadonlyArray<Pair.LabeledPair>,
  options: { readonly grades?: ReadonlyArray<Grade.Grade> | undefined } = {}
): SftSet =>
  build(
    [
      {
        name: "d2q",
        examples: d2q.flatMap((g) =>
          g.queries.map(
            (q): SftExample => ({
              did: g.did,
              doc: g.doc,
              grade: q.grade as Grade.Grade,
              query: q.query,
              origin: q.origin
            })
          )
        )
      },
      { name: "labeled", examples: labeledDedup.map(fromLabeled) }
    ],
    options.grades && new Set(options.grades)
  )

/**
 * Stage 2: Stage 1's examples plus the synthetic queries every filter kept. A survivor carrying a rejecting
 * verdict is not taken (counted as `synthetic.dropped.rejected-by-filter`), so passing the whole filtered set
 * is safe.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stage2 = (
  stage1Set: SftSet | ReadonlyArray<SftExample>,
  survivors: ReadonlyArray<SyntheticQuery.SyntheticQuery>
): SftSet => {
  const base = "examples" in stage1Set ? stage1Set.examples : stage1Set
  const rejected = survivors.filter((s) => s.verdicts.some((v) => !v.keep)).length
  const set = build(
    [
      { name: "stage1", examples: base },
      {
        name: "synthetic",
        examples: survivors
          .filter((s) => s.verdicts.every((v) => v.keep))
          .map(
            (s): SftExample => ({
              did: s.did,
              doc: s.doc,
              grade: s.targetGrade as Grade.Grade,
              query: s.query,
              origin: "synthetic"
            })
          )
      }
    ],
    undefined
  )
  return rejected === 0
    ? set
    : { examples: set.examples, counts: { ...set.counts, "synthetic.dropped.rejected-by-filter": rejected } }
}

/**
 * Writes examples as chat-format JSONL (`{"messages": [...]}` per line), atomically.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeChatJsonl = (
  examples: SftSet | ReadonlyArray<SftExample>,
  file: string,
  options: { readonly scale?: Grade.GradeScale | undefined } = {}
): Effect.Effect<Jsonl.WriteSummary, DatasetError.DatasetError> => {
  const list = "examples" in examples ? examples.examples : examples
  return Jsonl.writeAll(
    file,
    list.map((e) => toChat(e, options.scale))
  )
}
