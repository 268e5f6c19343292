/**
 * The inputs of a run: labeled pairs, the unlabeled click-log pool, optional documents and the test files, loaded
 * through core's row readers (JSONL, CSV or TSV by extension) and cross-checked (one text per document id, pairs that name known documents, an
 * unlabeled pool that overlaps the documents, test queries that leak into training). Also the data statistics
 * and the seeded sub-sampling the demo and the tests use.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import {
  Dataset as CoreDataset,
  type DatasetError,
  Document,
  Grade,
  Hash,
  Jsonl,
  Pair,
  Sampling,
  Text
} from "@ssra/core"
import { Effect, Schema } from "effect"
import { PipelineError } from "./PipelineError.js"

/**
 * The files of a dataset; each is optional, but a run needs `labeled` and `unlabeled`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DataFiles {
  readonly labeled?: string | undefined
  readonly unlabeled?: string | undefined
  readonly documents?: string | undefined
  readonly retrievalTest?: string | undefined
  readonly pairTest?: string | undefined
}

/**
 * The row files of core's dataset layout (`Dataset.fileNames`: `labeled`, `unlabeled`, `documents`,
 * `retrievalTest`, `pairTest`) present in `dir`, each as JSONL, CSV or TSV (`labeled.jsonl`, `labeled.csv`,
 * `labeled.tsv`, …). The same file in two formats is an error naming both: which one a run reads must not
 * depend on a rule the user has to guess.
 *
 * @since 0.1.0
 * @category constructors
 */
export const filesIn = (dir: string): Effect.Effect<DataFiles, PipelineError> =>
  Effect.suspend(() => {
    const out: Record<string, string> = {}
    for (const kind of CoreDataset.rowParts) {
      const stem = CoreDataset.fileNames[kind].slice(0, -".jsonl".length)
      const found = CoreDataset.rowExtensions.map((ext) => path.join(dir, stem + ext)).filter((f) => fs.existsSync(f))
      if (found.length > 1)
        return Effect.fail(
          new PipelineError({
            reason: "input",
            detail: `${dir} holds ${found.map((f) => path.basename(f)).join(" and ")}: the same file in ${found.length} formats`,
            hint: `keep one of them in the folder, or name the one to read (data.${kind} in the config)`
          })
        )
      if (found.length === 1) out[kind] = found[0]!
    }
    return Effect.succeed(out as DataFiles)
  })

/**
 * A document record in a documents file: a short-video document is title + OCR + ASR; `text` (when given) is
 * used as is, otherwise it is rendered with core's template.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DocumentInput = Schema.Struct({
  id: Schema.NonEmptyString,
  title: Schema.String,
  ocr: Schema.optionalKey(Schema.String),
  asr: Schema.optionalKey(Schema.String),
  text: Schema.optionalKey(Schema.String),
  source: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Dataset {
  readonly files: DataFiles
  readonly labeled: ReadonlyArray<Pair.LabeledPair>
  readonly unlabeled: ReadonlyArray<Pair.UnlabeledPair>
  readonly retrievalTest: ReadonlyArray<Pair.LabeledPair>
  readonly pairTest: ReadonlyArray<Pair.LabeledPair>
  /** Documents by id: from the documents file when given, else built from the pairs' `doc` text. */
  readonly documents: ReadonlyMap<string, Document.Document>
  readonly documentsFromFile: boolean
  readonly scale: Grade.GradeScale
  /** SHA-256 of each input file. */
  readonly hashes: Readonly<Record<string, string>>
  /** Rows skipped as invalid, per file kind (only with `skipInvalid`). */
  readonly rejected: Readonly<Record<string, number>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  /** Skip invalid rows (written to `<file>.rejects.jsonl`) instead of failing at the first one. */
  readonly skipInvalid?: boolean | undefined
  /** Where skipped rows go (`<name>.rejects.jsonl`); default beside each input file. */
  readonly rejectsDir?: string | undefined
  /** Force the grade scale (default: inferred from every labeled file). */
  readonly scaleMax?: 1 | 2 | 3 | undefined
  /** Read past a UTF-8 byte-order mark at the start of a file (an error by default). */
  readonly allowBom?: boolean | undefined
}

const readOpts = (file: string, options: LoadOptions, onSummary: (s: Jsonl.ReadSummary) => void): Jsonl.ReadOptions => {
  const bom = options.allowBom === true ? { allowBom: true } : {}
  return options.skipInvalid
    ? {
        onInvalid: "skip",
        rejectsFile:
          options.rejectsDir !== undefined
            ? path.join(options.rejectsDir, `${path.basename(file)}.rejects.jsonl`)
            : `${file}.rejects.jsonl`,
        onSummary,
        ...bom
      }
    : { onSummary, ...bom }
}

/**
 * Loads and cross-checks a dataset.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (
  files: DataFiles,
  options: LoadOptions = {}
): Effect.Effect<Dataset, DatasetError.DatasetError | PipelineError> =>
  Effect.gen(function* () {
    const hashes: Record<string, string> = {}
    const rejected: Record<string, number> = {}
    const read = <A, I>(kind: keyof DataFiles, schema: Schema.Codec<A, I>) =>
      Effect.gen(function* () {
        const file = files[kind]
        if (file === undefined) return [] as Array<A>
        hashes[kind] = yield* Hash.hashFile(file)
        return yield* CoreDataset.readAllRows(
          file,
          schema,
          readOpts(file, options, (summary) => {
            if (summary.rejected > 0) rejected[kind] = summary.rejected
          })
        )
      })
    const labeled = yield* read("labeled", Pair.LabeledPair)
    const unlabeled = yield* read("unlabeled", Pair.UnlabeledPair)
    const retrievalTest = yield* read("retrievalTest", Pair.LabeledPair)
    const pairTest = yield* read("pairTest", Pair.LabeledPair)
    const docInputs = yield* read("documents", DocumentInput)
    const scale =
      options.scaleMax !== undefined
        ? Grade.scale(options.scaleMax)
        : yield* Effect.try({
            try: () => Grade.inferScale([...labeled, ...retrievalTest, ...pairTest].map((p) => p.label)),
            catch: (cause) => new PipelineError({ reason: "input", detail: String((cause as Error).message) })
          })
    if (options.scaleMax !== undefined) {
      for (const [kind, rows] of [
        ["labeled", labeled],
        ["retrievalTest", retrievalTest],
        ["pairTest", pairTest]
      ] as const) {
        const i = rows.findIndex((r) => r.label > scale.max)
        if (i >= 0) {
          return yield* new PipelineError({
            reason: "input",
            detail: `${files[kind]}: row ${i + 1} has label ${rows[i]!.label}, outside the configured scale 0..${scale.max}`,
            hint: "fix the label or the config's `scale`"
          })
        }
      }
    }
    const documents = new Map<string, Document.Document>()
    if (files.documents !== undefined) {
      for (let i = 0; i < docInputs.length; i++) {
        const d = docInputs[i]!
        if (documents.has(d.id)) {
          return yield* new PipelineError({
            reason: "input",
            detail: `${files.documents}: row ${i + 1} repeats document id ${d.id}`,
            hint: "every document id must appear once in the documents file"
          })
        }
        const text = d.text !== undefined && d.text.trim() !== "" ? d.text : Document.render(d)
        if (text.length === 0) {
          return yield* new PipelineError({
            reason: "input",
            detail: `${files.documents}: row ${i + 1} (document ${d.id}) has no text: title, OCR and ASR are all empty`,
            hint: "drop the document or give it a title"
          })
        }
        documents.set(d.id, { ...(d as Document.Document), text })
      }
    }
    const dataset: Dataset = {
      files,
      labeled,
      unlabeled,
      retrievalTest,
      pairTest,
      documents,
      documentsFromFile: files.documents !== undefined,
      scale,
      hashes,
      rejected
    }
    yield* crossCheck(dataset)
    return dataset
  })

/**
 * Cross-file checks that make a run meaningless when they fail: one text per document id, pairs naming known
 * documents (with a documents file), an unlabeled pool that overlaps the documents. Fills `documents` from the
 * pairs when there is no documents file.
 *
 * @since 0.1.0
 * @category validation
 */
const crossCheck = (dataset: Dataset): Effect.Effect<void, PipelineError> =>
  Effect.gen(function* () {
    const docs = dataset.documents as Map<string, Document.Document>
    const seen = new Map<string, { file: string; row: number; text: string }>()
    const sources = [
      ["labeled", dataset.labeled],
      ["unlabeled", dataset.unlabeled],
      ["retrievalTest", dataset.retrievalTest],
      ["pairTest", dataset.pairTest]
    ] as const
    for (const [kind, rows] of sources) {
      const file = dataset.files[kind] ?? kind
      let missing = 0
      let firstMissing: { did: string; row: number } | undefined
      for (let i = 0; i < rows.length; i++) {
        const p = rows[i]!
        const prior = seen.get(p.did)
        if (prior === undefined) seen.set(p.did, { file, row: i + 1, text: p.doc })
        else if (prior.text !== p.doc) {
          return yield* new PipelineError({
            reason: "input",
            detail: `document id ${p.did} names two different texts: ${prior.file} row ${prior.row} ("${prior.text.slice(0, 40)}") and ${file} row ${i + 1} ("${p.doc.slice(0, 40)}")`,
            hint: "a document id must name one text in every file: fix the did (e.g. derive it from a hash of the text) or the text"
          })
        }
        if (dataset.documentsFromFile) {
          if (!docs.has(p.did)) {
            missing++
            firstMissing ??= { did: p.did, row: i + 1 }
          }
        } else if (!docs.has(p.did)) {
          docs.set(p.did, Document.make({ id: p.did, title: p.doc, source: kind }))
        }
      }
      if (missing > 0 && kind !== "unlabeled") {
        return yield* new PipelineError({
          reason: "input",
          detail: `${file}: ${missing} of ${rows.length} rows name documents missing from ${dataset.files.documents}, e.g. did ${firstMissing!.did} (row ${firstMissing!.row})`,
          hint: "the document ids of the pair files and the documents file must match: regenerate one of them from the same ids"
        })
      }
      if (kind === "unlabeled" && dataset.documentsFromFile && rows.length > 0 && missing === rows.length) {
        return yield* new PipelineError({
          reason: "input",
          detail: `${file}: none of its ${rows.length} pairs names a document of ${dataset.files.documents} (e.g. did ${firstMissing!.did})`,
          hint: "the unlabeled pool must point at the same documents: check both files use the same document ids"
        })
      }
    }
  })

/**
 * Warnings that do not stop a run: test queries that also occur in training data, the same text under two
 * document ids.
 *
 * @since 0.1.0
 * @category validation
 */
export const warnings = (dataset: Dataset): Array<string> => {
  const out: Array<string> = []
  const train = new Set([...dataset.labeled, ...dataset.unlabeled].map((p) => p.query))
  const testQueries = new Set([...dataset.retrievalTest, ...dataset.pairTest].map((p) => p.query))
  let leaked = 0
  for (const q of testQueries) if (train.has(q)) leaked++
  if (leaked > 0)
    out.push(
      `${leaked} of ${testQueries.size} test queries also occur in the training files: the models see them in training, so the test metrics are optimistic (the synthesis stage never emits them); drop them from training, or hold out a test set with --split-test`
    )
  const byText = new Map<string, string>()
  let aliased = 0
  for (const d of dataset.documents.values()) {
    const other = byText.get(d.text)
    if (other !== undefined && other !== d.id) aliased++
    else byText.set(d.text, d.id)
  }
  if (aliased > 0) out.push(`${aliased} documents share their text with another document id`)
  if (dataset.unlabeled.length === 0)
    out.push("the unlabeled pool is empty: Stage 1 re-annotation and Stage 2 have nothing to work on")
  out.push(...gradeWarnings(dataset))
  return out
}

/**
 * A top grade carried by a handful of rows (a typo such as 3 on a 0–2 set widens the inferred scale, and with it
 * the synthesis targets and the AP columns), and labeled rows repeating a (query id, document id) pair — with
 * conflicting grades or the same one.
 */
const gradeWarnings = (dataset: Dataset): Array<string> => {
  const out: Array<string> = []
  const max = dataset.scale.max
  const labeledFiles = [
    ["labeled", dataset.labeled],
    ["retrievalTest", dataset.retrievalTest],
    ["pairTest", dataset.pairTest]
  ] as const
  let total = 0
  let top = 0
  let first: string | undefined
  for (const [kind, rows] of labeledFiles) {
    total += rows.length
    rows.forEach((r, i) => {
      if (r.label !== max) return
      top++
      first ??= `${dataset.files[kind]} row ${i + 1}`
    })
  }
  if (total > 0 && top > 0 && top < 3 && top / total < 0.01)
    out.push(
      `grade ${max} occurs in only ${top} of ${total} labeled rows (first: ${first}), and it sets the grade scale to 0..${max}: if the set's grades stop at ${max - 1}, fix ${top === 1 ? "that row" : "those rows"} or pass --scale ${max - 1} (data.scale) to make such a label an error`
    )
  const seen = new Map<string, { label: number; row: number }>()
  let conflicting = 0
  let repeated = 0
  let example: string | undefined
  dataset.labeled.forEach((p, i) => {
    const key = `${p.qid}\u0000${p.did}`
    const before = seen.get(key)
    if (before === undefined) {
      seen.set(key, { label: p.label, row: i + 1 })
      return
    }
    if (before.label !== p.label) {
      conflicting++
      example ??= `qid ${p.qid}, did ${p.did}: grade ${before.label} at row ${before.row}, ${p.label} at row ${i + 1}`
    } else repeated++
  })
  if (conflicting > 0)
    out.push(
      `${dataset.files.labeled}: ${conflicting} rows repeat a (qid, did) pair with a different grade (e.g. ${example}); both are trained on — resolve them (majority vote, or keep one) if they are annotation conflicts`
    )
  if (repeated > 0)
    out.push(
      `${dataset.files.labeled}: ${repeated} rows repeat a (qid, did) pair with the same grade (trained on twice)`
    )
  return out
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FileStats {
  readonly file: string
  readonly rows: number
  readonly queries: number
  readonly documents: number
  readonly labels?: Readonly<Record<string, number>> | undefined
  readonly meanQueryChars: number
  readonly meanDocChars: number
}

const fileStats = (
  file: string,
  rows: ReadonlyArray<{ qid: string; did: string; query: string; doc: string; label?: number }>
): FileStats => {
  const labels: Record<string, number> = {}
  let q = 0
  let d = 0
  let hasLabels = false
  for (const r of rows) {
    q += r.query.length
    d += r.doc.length
    if (r.label !== undefined) {
      hasLabels = true
      labels[String(r.label)] = (labels[String(r.label)] ?? 0) + 1
    }
  }
  const n = Math.max(1, rows.length)
  return {
    file,
    rows: rows.length,
    queries: new Set(rows.map((r) => r.qid)).size,
    documents: new Set(rows.map((r) => r.did)).size,
    ...(hasLabels ? { labels } : {}),
    meanQueryChars: Math.round((q / n) * 10) / 10,
    meanDocChars: Math.round((d / n) * 10) / 10
  }
}

/**
 * Statistics of a dataset (per file, plus the overlaps that matter for SSRA).
 *
 * @since 0.1.0
 * @category statistics
 */
export const stats = (dataset: Dataset) => {
  const files: Array<FileStats> = []
  if (dataset.files.labeled) files.push(fileStats(dataset.files.labeled, dataset.labeled))
  if (dataset.files.unlabeled) files.push(fileStats(dataset.files.unlabeled, dataset.unlabeled))
  if (dataset.files.retrievalTest) files.push(fileStats(dataset.files.retrievalTest, dataset.retrievalTest))
  if (dataset.files.pairTest) files.push(fileStats(dataset.files.pairTest, dataset.pairTest))
  const labeledDocs = new Set(dataset.labeled.map((p) => p.did))
  const unlabeledDocs = new Set(dataset.unlabeled.map((p) => p.did))
  let shared = 0
  for (const d of unlabeledDocs) if (labeledDocs.has(d)) shared++
  const perQuery = new Map<string, number>()
  for (const p of dataset.retrievalTest) perQuery.set(p.qid, (perQuery.get(p.qid) ?? 0) + 1)
  return {
    scale: `0..${dataset.scale.max}`,
    documents: dataset.documents.size,
    files,
    unlabeledDocumentsAlsoLabeled: shared,
    retrievalQueriesWith10Candidates: [...perQuery.values()].filter((n) => n >= 10).length,
    rejected: dataset.rejected,
    warnings: warnings(dataset)
  }
}

/**
 * How much of each file a sample keeps.
 *
 * @since 0.1.0
 * @category models
 */
export interface SamplePlan {
  /** Labeled queries kept (all their rows kept). */
  readonly labeledQueries?: number | undefined
  /** Unlabeled rows kept. */
  readonly unlabeledRows?: number | undefined
  /** Retrieval-test queries kept (all their candidates kept). */
  readonly retrievalQueries?: number | undefined
  /** Pair-test rows kept, stratified by label. */
  readonly pairRows?: number | undefined
}

const byGroup = <A>(rows: ReadonlyArray<A>, key: (a: A) => string, k: number | undefined, seed: number): Array<A> => {
  if (k === undefined) return rows.slice()
  const groups = [...new Set(rows.map(key))].sort()
  const keep = new Set(Sampling.sample(groups, k, seed))
  return rows.filter((r) => keep.has(key(r)))
}

/**
 * A seeded sub-sample (by query group, so no query is split), in the original row order.
 *
 * @since 0.1.0
 * @category sampling
 */
export const subsample = (dataset: Dataset, plan: SamplePlan, seed: number): Dataset => {
  const rng = new Sampling.SeededRandom(seed)
  const labeled = byGroup(dataset.labeled, (p) => p.qid, plan.labeledQueries, rng.fork("labeled").seed)
  const unlabeled =
    plan.unlabeledRows === undefined
      ? dataset.unlabeled.slice()
      : (() => {
          const keep = new Set(
            Sampling.sample(
              dataset.unlabeled.map((_, i) => i),
              plan.unlabeledRows,
              rng.fork("unlabeled").seed
            )
          )
          return dataset.unlabeled.filter((_, i) => keep.has(i))
        })()
  const retrievalTest = byGroup(dataset.retrievalTest, (p) => p.qid, plan.retrievalQueries, rng.fork("retrieval").seed)
  const pairTest =
    plan.pairRows === undefined
      ? dataset.pairTest.slice()
      : (() => {
          const chosen = new Set(
            Sampling.stratified(
              dataset.pairTest.map((p, i) => ({ i, label: p.label })),
              (x) => x.label,
              plan.pairRows,
              rng.fork("pairs").seed
            ).map((x) => x.i)
          )
          return dataset.pairTest.filter((_, i) => chosen.has(i))
        })()
  const used = new Set([...labeled, ...unlabeled, ...retrievalTest, ...pairTest].map((p) => p.did))
  const documents = new Map([...dataset.documents].filter(([id]) => used.has(id)))
  return { ...dataset, labeled, unlabeled, retrievalTest, pairTest, documents }
}

/**
 * How the labeled set is split into training rows and a held-out test set.
 *
 * @since 0.1.0
 * @category models
 */
export interface SplitPlan {
  /** Share of labeled query groups held out, 0 < f < 1. */
  readonly testFraction: number
  readonly seed: number
  /** Judged candidates a held-out query needs to join the retrieval test. */
  readonly minCandidates: number
  /** Pair test: held-out rows not in the retrieval test (`rest`) or every held-out row (`all`). */
  readonly pairs: "rest" | "all"
}

/**
 * What a split did (recorded in the prepare stage's manifest entry).
 *
 * @since 0.1.0
 * @category models
 */
export interface SplitSummary extends SplitPlan {
  readonly version: string
  readonly trainQueries: number
  readonly trainRows: number
  readonly testQueries: number
  readonly testRows: number
  readonly retrievalQueries: number
  readonly retrievalRows: number
  readonly pairQueries: number
  readonly pairRows: number
}

/**
 * The version of the split procedure (part of the prepare artifact's key).
 *
 * @since 0.1.0
 * @category constants
 */
export const splitVersion = "query-split/v1"

/**
 * The query group of every labeled row: rows sharing a qid or a normalized query text are one group (union-find),
 * so no query — by id or by text — can end up on both sides of a split. A group is named by its smallest qid.
 */
const queryGroups = (rows: ReadonlyArray<Pair.LabeledPair>): Array<string> => {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    let root = x
    while (parent.get(root) !== root) root = parent.get(root)!
    let cur = x
    while (cur !== root) {
      const next = parent.get(cur)!
      parent.set(cur, root)
      cur = next
    }
    return root
  }
  const union = (a: string, b: string) => {
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent.set(ra, rb)
  }
  const keys = rows.map((r) => [`q\u0000${r.qid}`, `t\u0000${Text.normalize(r.query)}`] as const)
  for (const [q, t] of keys) {
    if (!parent.has(q)) parent.set(q, q)
    if (!parent.has(t)) parent.set(t, t)
    union(q, t)
  }
  const name = new Map<string, string>()
  for (const r of rows) {
    const root = find(`q\u0000${r.qid}`)
    const prior = name.get(root)
    if (prior === undefined || r.qid < prior) name.set(root, r.qid)
  }
  return keys.map(([q]) => name.get(find(q))!)
}

/**
 * Splits the labeled set by query (core `Sampling.splitByGroup`, seeded) into training rows and held-out rows.
 * Held-out queries with at least `minCandidates` judged candidates and two distinct grades form the retrieval test
 * (each query reranks its own judged candidates); the pair test is the other held-out rows (`pairs: "rest"`,
 * disjoint queries as in the bundled layout) or every held-out row (`pairs: "all"`). Rows keep their file order.
 * Fails when the dataset already has test rows, or when the split leaves the training side, the held-out side or
 * either test empty.
 *
 * @since 0.1.0
 * @category sampling
 */
export const splitTest = (
  dataset: Dataset,
  plan: SplitPlan
): Effect.Effect<{ readonly dataset: Dataset; readonly summary: SplitSummary }, PipelineError> =>
  Effect.gen(function* () {
    const source = dataset.files.labeled ?? "the labeled set"
    if (!(plan.testFraction > 0 && plan.testFraction < 1)) {
      return yield* new PipelineError({
        reason: "config",
        stage: "prepare",
        detail: `data.split.testFraction is ${plan.testFraction}; it must lie strictly between 0 and 1`,
        hint: "e.g. 0.2 holds out a fifth of the labeled queries"
      })
    }
    if (dataset.retrievalTest.length > 0 || dataset.pairTest.length > 0) {
      return yield* new PipelineError({
        reason: "config",
        stage: "prepare",
        detail: `data.split would replace test rows already loaded (${dataset.retrievalTest.length} retrieval-test, ${dataset.pairTest.length} pair-test)`,
        hint: "either drop data.split or the test files"
      })
    }
    const groups = queryGroups(dataset.labeled)
    const indexed = dataset.labeled.map((row, i) => ({ row, group: groups[i]! }))
    const { first, second } = Sampling.splitByGroup(
      indexed,
      (x) => x.group,
      plan.testFraction,
      Sampling.hashSeed(`${plan.seed}/${splitVersion}`)
    )
    const groupCount = new Set(groups).size
    const trainQueries = new Set(first.map((x) => x.group)).size
    const testQueries = new Set(second.map((x) => x.group)).size
    if (first.length === 0 || second.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage: "prepare",
        detail: `data.split.testFraction ${plan.testFraction} of ${groupCount} labeled queries in ${source} leaves the ${first.length === 0 ? "training" : "test"} side empty`,
        hint:
          groupCount < 2
            ? "a split needs at least two labeled queries: give more labeled data or test files"
            : `choose a fraction between ${(0.5 / groupCount).toFixed(4)} and ${(1 - 0.5 / groupCount).toFixed(4)}`
      })
    }
    const byGroup = new Map<string, Array<Pair.LabeledPair>>()
    for (const { row, group } of second) {
      const list = byGroup.get(group)
      if (list) list.push(row)
      else byGroup.set(group, [row])
    }
    const retrievalGroups = new Set<string>()
    let largest = 0
    for (const [group, rows] of byGroup) {
      largest = Math.max(largest, rows.length)
      if (rows.length >= plan.minCandidates && new Set(rows.map((r) => r.label)).size >= 2) retrievalGroups.add(group)
    }
    const retrievalTest = second.filter((x) => retrievalGroups.has(x.group)).map((x) => x.row)
    const pairTest = (plan.pairs === "all" ? second : second.filter((x) => !retrievalGroups.has(x.group))).map(
      (x) => x.row
    )
    if (retrievalTest.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage: "prepare",
        detail: `none of the ${testQueries} held-out queries of ${source} has ${plan.minCandidates} or more judged candidates with two distinct grades (the largest has ${largest}), so the retrieval test would be empty`,
        hint: `pass --min-candidates ${Math.max(2, Math.min(largest, plan.minCandidates - 1))} (sets evaluation.minCandidates, which the split follows unless data.split.minCandidates is set; nDCG@10 over fewer candidates is easier to score well on), or raise --split-test (data.split.testFraction)`
      })
    }
    if (pairTest.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage: "prepare",
        detail: `every one of the ${testQueries} held-out queries of ${source} went to the retrieval test, so the pair test would be empty`,
        hint: 'set data.split.pairs to "all" (the pair test then uses every held-out row) or raise data.split.testFraction'
      })
    }
    const summary: SplitSummary = {
      version: splitVersion,
      ...plan,
      trainQueries,
      trainRows: first.length,
      testQueries,
      testRows: second.length,
      retrievalQueries: retrievalGroups.size,
      retrievalRows: retrievalTest.length,
      pairQueries: new Set(pairTest.map((r) => r.qid)).size,
      pairRows: pairTest.length
    }
    return {
      dataset: { ...dataset, labeled: first.map((x) => x.row), retrievalTest, pairTest },
      summary
    }
  })

/**
 * Writes a dataset in core's layout (`Dataset.fileNames`, JSONL; atomically, file by file); returns the files
 * written.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeTo = (dataset: Dataset, dir: string): Effect.Effect<DataFiles, DatasetError.DatasetError> =>
  Effect.gen(function* () {
    const out: Record<string, string> = {}
    const put = <A>(kind: (typeof CoreDataset.rowParts)[number], rows: ReadonlyArray<A>) =>
      Effect.gen(function* () {
        if (rows.length === 0) return
        const file = path.join(dir, CoreDataset.fileNames[kind])
        yield* Jsonl.writeAll(file, rows)
        out[kind] = file
      })
    yield* put("labeled", dataset.labeled)
    yield* put("unlabeled", dataset.unlabeled)
    yield* put("retrievalTest", dataset.retrievalTest)
    yield* put("pairTest", dataset.pairTest)
    if (dataset.documentsFromFile) yield* put("documents", [...dataset.documents.values()])
    return out
  })
