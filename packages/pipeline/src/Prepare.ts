/**
 * Stage "prepare": the validated inputs, normalized (NFKC, whitespace) and re-keyed to the rendered documents,
 * written as the run's own copies. Every later stage reads these files, so a resumed run sees exactly the bytes
 * the first run saw. A documents file with OCR/ASR text can be rewritten into a description by an LLM first
 * (`documents.rewrite: llm`, see `DocumentRewrite`).
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { type DatasetError, Document, Hash, Jsonl, Pair, Text } from "@ssra/core"
import { Effect, Schema, Stream } from "effect"
import * as Artifact from "./Artifact.js"
import * as Backends from "./Backends.js"
import * as DocumentRewrite from "./DocumentRewrite.js"
import * as Inputs from "./Inputs.js"
import { type RunContext, record, stageError } from "./internal/context.js"
import * as Strings from "./internal/strings.js"
import type * as PipelineConfig from "./PipelineConfig.js"
import { PipelineError } from "./PipelineError.js"
import * as Progress from "./Progress.js"
import * as WorkUnits from "./WorkUnits.js"

/**
 * The prepared data of a run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Prepared {
  readonly artifact: Artifact.Artifact
  readonly labeled: ReadonlyArray<Pair.LabeledPair>
  readonly unlabeled: ReadonlyArray<Pair.UnlabeledPair>
  readonly documents: ReadonlyArray<Document.Document>
  readonly retrievalTest: ReadonlyArray<Pair.LabeledPair>
  readonly pairTest: ReadonlyArray<Pair.LabeledPair>
  readonly scale: { readonly max: 1 | 2 | 3 }
}

const ScaleFile = Schema.Struct({ max: Schema.Literals([1, 2, 3]) })

/**
 * The data files a config names: explicit `data.*` files win over the standard names found in `data.dir`. With
 * `data.split`, test files found in `data.dir` are not read (the split replaces them); naming `data.retrievalTest`
 * or `data.pairTest` explicitly together with `data.split` is a config error.
 *
 * @since 0.1.0
 * @category loading
 */
export const dataFiles = (config: PipelineConfig.Config): Effect.Effect<Inputs.DataFiles, PipelineError> =>
  Effect.gen(function* () {
    const base = config.data.dir !== undefined ? yield* Inputs.filesIn(config.data.dir) : {}
    const split = config.data.split !== undefined
    if (split && (config.data.retrievalTest !== undefined || config.data.pairTest !== undefined)) {
      return yield* new PipelineError({
        reason: "config",
        stage: "prepare",
        detail: `data.split holds out labeled queries as the test set, but test files are named too (${[config.data.retrievalTest, config.data.pairTest].filter((f) => f !== undefined).join(", ")})`,
        hint: "drop data.split (or --split-test) to evaluate on the given test files, or drop data.retrievalTest / data.pairTest to evaluate on the split"
      })
    }
    const files: Inputs.DataFiles = {
      labeled: config.data.labeled ?? base.labeled,
      unlabeled: config.data.unlabeled ?? base.unlabeled,
      documents: config.data.documents ?? base.documents,
      retrievalTest: split ? undefined : (config.data.retrievalTest ?? base.retrievalTest),
      pairTest: split ? undefined : (config.data.pairTest ?? base.pairTest)
    }
    if (config.data.dir !== undefined && !fs.existsSync(config.data.dir)) {
      return yield* new PipelineError({
        reason: "config",
        stage: "prepare",
        detail: `data directory ${config.data.dir} does not exist`,
        hint: "pass --data DIR naming a folder with labeled.jsonl, unlabeled.jsonl, retrieval_test.jsonl, pair_test.jsonl (e.g. --data data/kuake_qtr)"
      })
    }
    if (files.labeled === undefined) {
      return yield* new PipelineError({
        reason: "config",
        stage: "prepare",
        detail:
          config.data.dir !== undefined
            ? `no labeled.jsonl (or labeled.csv, labeled.tsv) in ${config.data.dir}`
            : "no labeled data configured",
        hint: "pass --data DIR (a folder with labeled.jsonl, unlabeled.jsonl, …) or --labeled FILE, or set data.labeled in the config file"
      })
    }
    if (files.unlabeled === undefined) {
      return yield* new PipelineError({
        reason: "config",
        stage: "prepare",
        detail: "no unlabeled pool configured (Stage 1 and Stage 2 work on it)",
        hint: "pass --unlabeled FILE or put unlabeled.jsonl in the --data folder"
      })
    }
    return files
  })

/**
 * A split that was applied: what it did and which test files of `data.dir` it replaced.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppliedSplit {
  readonly summary: Inputs.SplitSummary
  readonly replaced: ReadonlyArray<string>
}

/**
 * The split plan of a config (`data.split` with its defaults: the run's seed, `evaluation.minCandidates`,
 * `pairs: "rest"`), or `undefined` without one.
 *
 * @since 0.1.0
 * @category loading
 */
export const splitPlan = (config: PipelineConfig.Config): Inputs.SplitPlan | undefined => {
  const s = config.data.split
  if (s === undefined) return undefined
  return {
    testFraction: s.testFraction,
    seed: s.seed ?? config.seed,
    minCandidates: s.minCandidates ?? config.evaluation.minCandidates,
    pairs: s.pairs ?? "rest"
  }
}

const splitKey = (split: AppliedSplit) => {
  const { version, testFraction, seed, minCandidates, pairs } = split.summary
  return { version, testFraction, seed, minCandidates, pairs }
}

/**
 * Loads and cross-checks the files, applies the split (when configured), then the seeded sample (when
 * configured): `data.sample.labeledQueries` samples the training side, `retrievalQueries` / `pairRows` the
 * held-out tests.
 *
 * @since 0.1.0
 * @category loading
 */
export const loadFiles = (
  config: PipelineConfig.Config,
  files: Inputs.DataFiles,
  rejectsDir: string
): Effect.Effect<
  { readonly loaded: Inputs.Dataset; readonly dataset: Inputs.Dataset; readonly split: AppliedSplit | undefined },
  PipelineError | DatasetError.DatasetError
> =>
  Effect.gen(function* () {
    const loaded = yield* Inputs.load(files, {
      skipInvalid: config.data.skipInvalid,
      allowBom: config.data.allowBom,
      rejectsDir,
      scaleMax: config.data.scale
    })
    const plan = splitPlan(config)
    let split: AppliedSplit | undefined
    let dataset = loaded
    if (plan !== undefined) {
      if (plan.minCandidates < config.evaluation.minCandidates) {
        return yield* new PipelineError({
          reason: "config",
          stage: "prepare",
          detail: `data.split.minCandidates ${plan.minCandidates} is below evaluation.minCandidates ${config.evaluation.minCandidates}: the retrieval evaluator would drop the held-out queries with fewer candidates`,
          hint: `set evaluation.minCandidates to ${plan.minCandidates} as well, or raise data.split.minCandidates`
        })
      }
      const base = config.data.dir !== undefined ? yield* Inputs.filesIn(config.data.dir) : {}
      const result = yield* Inputs.splitTest(loaded, plan)
      dataset = result.dataset
      split = {
        summary: result.summary,
        replaced: [base.retrievalTest, base.pairTest].filter((f): f is string => f !== undefined)
      }
    }
    if (config.data.sample !== undefined) dataset = Inputs.subsample(dataset, config.data.sample, config.seed)
    return { loaded, dataset, split }
  })

/** What a loaded dataset and its split make of prepare, beside the run's config: the inputs the steps share. */
interface Loaded {
  readonly loaded: Inputs.Dataset
  readonly dataset: Inputs.Dataset
  readonly split: AppliedSplit | undefined
  /** The input files' hashes, sorted by name: the artifact's inputs. */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly sha256: string }>
  /** Problems that do not stop a run (`Inputs.warnings`), kept in the artifact. */
  readonly warnings: ReadonlyArray<string>
  /** The LLM that rewrites documents (`documents.rewrite: llm`), absent without the rewrite. */
  readonly rewriter: Backends.Llm | undefined
}

/** Loads the config's inputs, notes their warnings and records every input file in the manifest. */
const load = (
  ctx: RunContext,
  llm: Backends.Llm | undefined
): Effect.Effect<Loaded, PipelineError | DatasetError.DatasetError> =>
  Effect.gen(function* () {
    const { config } = ctx
    const files = yield* dataFiles(config)
    const rewriteOn = config.documents.rewrite === "llm"
    if (rewriteOn && llm === undefined) {
      return yield* new PipelineError({
        reason: "backend-missing",
        stage: "prepare",
        detail: `documents.rewrite: llm (LLM rewrite of OCR+ASR into a description) ${Backends.needsLlm}: none is configured`,
        hint: 'configure backends.llm (or --llm-base-url / --gguf), or set documents.rewrite to "none": documents are then rendered as title + OCR + ASR'
      })
    }
    const { loaded, dataset, split } = yield* loadFiles(config, files, path.join(ctx.runDir, "rejects"))
    // what does not stop a run still has to be seen: printed by the CLI's progress view, kept in the artifact
    const warnings = Inputs.warnings(dataset)
    for (const w of warnings) yield* Progress.note("prepare", `warning: ${w}`)
    const inputs = Object.entries(loaded.hashes)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, sha256]) => ({ name, sha256 }))
    ctx.recorder.setInputs(
      Object.entries(loaded.hashes).map(([kind, sha256]) => ({
        kind,
        file: String(files[kind as keyof Inputs.DataFiles]),
        sha256,
        rows: (loaded[kind as "labeled"] as ReadonlyArray<unknown> | undefined)?.length ?? loaded.documents.size,
        rejected: loaded.rejected[kind] ?? 0
      }))
    )
    return { loaded, dataset, split, inputs, warnings, rewriter: rewriteOn ? llm : undefined }
  })

/** The prepare artifact's key: the sample, the split, the scale, the seed, the normalization, template and rewrite. */
const specOf = (config: PipelineConfig.Config, { dataset, split, inputs, rewriter }: Loaded): Artifact.Spec => ({
  stage: "prepare",
  config: {
    sample: config.data.sample ?? null,
    // only present with a split, so the keys of runs without one stay as they were
    ...(split !== undefined ? { split: splitKey(split) } : {}),
    scale: dataset.scale.max,
    seed: config.seed,
    normalize: "nfkc-space/v1",
    template: Document.defaultTemplate.id,
    rewrite: rewriter !== undefined ? rewriteComponent(rewriter).config : null
  },
  inputs
})

/**
 * The prepared rows: queries normalized, each row's document text the rendered document's (its rewrite when there
 * is one; the row's own, normalized, otherwise); a row left empty is dropped and counted. The documents are those
 * a kept row names, rewritten where rewritten, sorted by id.
 */
const normalize = (dataset: Inputs.Dataset, rewritten: ReadonlyMap<string, string>) => {
  const docText = (did: string, fallback: string) =>
    rewritten.get(did) ?? dataset.documents.get(did)?.text ?? Text.normalize(fallback)
  let dropped = 0
  const norm = <P extends { query: string; doc: string; did: string }>(rows: ReadonlyArray<P>): Array<P> => {
    const out: Array<P> = []
    for (const r of rows) {
      const query = Text.normalize(r.query)
      const doc = docText(r.did, r.doc)
      if (query === "" || doc === "") {
        dropped++
        continue
      }
      out.push({ ...r, query, doc })
    }
    return out
  }
  const labeled = norm(dataset.labeled)
  const unlabeled = norm(dataset.unlabeled)
  const retrievalTest = norm(dataset.retrievalTest)
  const pairTest = norm(dataset.pairTest)
  const used = new Set([...labeled, ...unlabeled, ...retrievalTest, ...pairTest].map((p) => p.did))
  const documents = [...dataset.documents.values()]
    .filter((d) => used.has(d.id))
    .map((d) => (rewritten.has(d.id) ? { ...d, text: rewritten.get(d.id)! } : d))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { labeled, unlabeled, retrievalTest, pairTest, documents, dropped }
}

/** The split's counts and info (test-split component) for the artifact; empty without a split. */
const splitRecord = (split: AppliedSplit | undefined) =>
  split === undefined
    ? { counts: {}, info: {}, components: [] }
    : {
        counts: {
          splitTrainQueries: split.summary.trainQueries,
          splitTrainRows: split.summary.trainRows,
          splitTestQueries: split.summary.testQueries,
          splitTestRows: split.summary.testRows,
          splitRetrievalQueries: split.summary.retrievalQueries,
          splitPairQueries: split.summary.pairQueries
        },
        info: { split: { ...split.summary, replacedFiles: split.replaced } },
        components: [
          { name: "test-split", id: split.summary.version, config: { ...split.summary, replacedFiles: split.replaced } }
        ]
      }

/** Builds the prepare artifact in `dir`: rewrites the documents (when on), normalizes, writes the run's copies. */
const build = (ctx: RunContext, input: Loaded, dir: string) =>
  Effect.gen(function* () {
    const { loaded, dataset, split, inputs, warnings, rewriter } = input
    const rewriteRows = rewriter !== undefined ? yield* rewriteDocuments(ctx, rewriter, dataset, dir) : []
    const rewritten = new Map(rewriteRows.filter((r) => r.status === "rewritten").map((r) => [r.id, r.text]))
    const rewriteSummary = rewriter !== undefined ? DocumentRewrite.summary(rewriteRows) : undefined
    const { labeled, unlabeled, retrievalTest, pairTest, documents, dropped } = normalize(dataset, rewritten)
    yield* Jsonl.writeAll(path.join(dir, "labeled.jsonl"), labeled, { schema: Pair.LabeledPair })
    yield* Jsonl.writeAll(path.join(dir, "unlabeled.jsonl"), unlabeled, { schema: Pair.UnlabeledPair })
    yield* Jsonl.writeAll(path.join(dir, "retrieval_test.jsonl"), retrievalTest, { schema: Pair.LabeledPair })
    yield* Jsonl.writeAll(path.join(dir, "pair_test.jsonl"), pairTest, { schema: Pair.LabeledPair })
    yield* Jsonl.writeAll(path.join(dir, "documents.jsonl"), documents, { schema: Document.Document })
    yield* Jsonl.writeAll(path.join(dir, "scale.jsonl"), [{ max: dataset.scale.max }], { schema: ScaleFile })
    const splitRows = splitRecord(split)
    return {
      counts: {
        labeled: labeled.length,
        unlabeled: unlabeled.length,
        retrievalTest: retrievalTest.length,
        pairTest: pairTest.length,
        documents: documents.length,
        droppedEmptyAfterNormalization: dropped,
        rewritten: rewritten.size,
        ...(rewriteSummary !== undefined ? { rewriteKeptTemplate: rewriteSummary.keptTemplate } : {}),
        rejectedInvalid: Object.values(loaded.rejected).reduce((a, b) => a + b, 0),
        ...splitRows.counts
      },
      info: {
        inputs: Object.fromEntries(inputs.map((i) => [i.name, i.sha256])),
        dataHash: Hash.hashValue(inputs),
        ...(warnings.length > 0 ? { warnings } : {}),
        ...splitRows.info,
        ...(rewriteSummary !== undefined ? { rewrite: rewriteSummary } : {}),
        components: [
          ...splitRows.components,
          ...(rewriteSummary !== undefined && rewriter !== undefined ? [rewriteComponent(rewriter)] : [])
        ]
      }
    }
  })

/** Reads the prepared copies back, equal ids and texts sharing one string; no labeled pair left is an error. */
const readPrepared = (
  ctx: RunContext,
  artifact: Artifact.Artifact
): Effect.Effect<Prepared, PipelineError | DatasetError.DatasetError> =>
  Effect.gen(function* () {
    const read = <A, I>(name: string, schema: Schema.Codec<A, I>, intern: (row: A) => A = (row) => row) =>
      Stream.runCollect(Stream.map(Jsonl.read(Artifact.file(artifact, name), schema, { allowEmpty: true }), intern))
    // equal ids and texts across the files share one string (a pool row's document is also in documents.jsonl)
    const s = ctx.strings ?? Strings.pool()
    const [scaleRow] = yield* read("scale.jsonl", ScaleFile)
    const documents = yield* read("documents.jsonl", Document.Document, (d) => ({ ...d, id: s(d.id), text: s(d.text) }))
    const prepared: Prepared = {
      artifact,
      labeled: yield* read("labeled.jsonl", Pair.LabeledPair, (p) => Strings.pair(s, p)),
      unlabeled: yield* read("unlabeled.jsonl", Pair.UnlabeledPair, (p) => Strings.pair(s, p)),
      retrievalTest: yield* read("retrieval_test.jsonl", Pair.LabeledPair, (p) => Strings.pair(s, p)),
      pairTest: yield* read("pair_test.jsonl", Pair.LabeledPair, (p) => Strings.pair(s, p)),
      documents,
      scale: { max: scaleRow!.max }
    }
    if (prepared.labeled.length === 0) {
      return yield* new PipelineError({
        reason: "input",
        stage: "prepare",
        detail: "no labeled pairs left after validation",
        hint: "check the labeled file"
      })
    }
    return prepared
  })

/**
 * Loads the config's inputs (sub-sampled when the config says so) and writes the prepared copies.
 *
 * @since 0.1.0
 * @category stages
 */
export const run = (
  ctx: RunContext,
  llm?: Backends.Llm | undefined
): Effect.Effect<Prepared, PipelineError | DatasetError.DatasetError | WorkUnits.ShardPending> =>
  Effect.gen(function* () {
    const input = yield* load(ctx, llm)
    const artifact = yield* Artifact.cached(ctx.runDir, specOf(ctx.config, input), (dir) => build(ctx, input, dir))
    yield* record(ctx, artifact)
    return yield* readPrepared(ctx, artifact)
  })

/**
 * The rewrite as a run component (the manifest's record of the prompt and the model that answered it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rewriteComponent = (llm: Backends.Llm) => ({
  name: "document-rewrite",
  id: DocumentRewrite.promptVersion,
  config: {
    promptId: DocumentRewrite.promptId,
    promptVersion: DocumentRewrite.promptVersion,
    model: llm.client.model,
    client: llm.client.id
  }
})

// The rewrite of every eligible document, in chunks committed as they finish (a rerun after a crash or kill -9
// asks only about what no committed chunk holds; the run's response cache answers what was asked before).
const rewriteDocuments = (ctx: RunContext, llm: Backends.Llm, dataset: Inputs.Dataset, dir: string) =>
  WorkUnits.run({
    stage: "prepare",
    name: "rewrite",
    dir,
    items: DocumentRewrite.eligible(dataset),
    chunkSize: ctx.config.generation.chunkSize,
    schema: DocumentRewrite.Row,
    shard: ctx.shard,
    identity: (d) => `${d.id}\u0000${Hash.sha256(`${d.title}\u0000${d.ocr ?? ""}\u0000${d.asr ?? ""}`).slice(0, 16)}`,
    process: (docs) =>
      Effect.forEach(docs, (d) => DocumentRewrite.rewrite(llm, d, ctx.config.seed), { concurrency: 8 }).pipe(
        Effect.mapError(stageError("prepare"))
      )
  })
