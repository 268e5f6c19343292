/**
 * `ssra data validate|stats|convert|sample`: check a dataset the way a run will read it, print its statistics,
 * convert between JSONL, Parquet and TREC qrels, and cut seeded samples.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DatasetError } from "@ssra/core"
import { Inputs, PipelineError, Plan } from "@ssra/pipeline"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { usage } from "./ExitCode.js"
import * as Formats from "./Formats.js"

const opt = <A>(o: Option.Option<A>): A | undefined => (Option.isSome(o) ? o.value : undefined)

/**
 * Flags naming a dataset: a folder in the bundled layout and/or individual files.
 *
 * @since 0.1.0
 * @category flags
 */
export const dataFlags = {
  data: Flag.Directory("data").pipe(
    Flag.withDescription(
      "Dataset folder in the bundled layout (labeled, unlabeled, retrieval_test, pair_test, documents; each .jsonl, or .csv/.tsv with a header row). Example: --data data/kuake_qtr"
    ),
    Flag.optional
  ),
  labeled: Flag.File("labeled").pipe(
    Flag.withDescription(
      "Human-graded pairs, JSONL {qid,did,query,doc,label} or CSV/TSV with those columns. Overrides the folder's file. Example: --labeled my/labeled.csv"
    ),
    Flag.optional
  ),
  unlabeled: Flag.File("unlabeled").pipe(
    Flag.withDescription(
      "Click-log pairs without grades, JSONL {qid,did,query,doc} or CSV/TSV with those columns. Example: --unlabeled my/clicks.jsonl"
    ),
    Flag.optional
  ),
  documents: Flag.File("documents").pipe(
    Flag.withDescription(
      "Optional documents, JSONL {id,title,ocr?,asr?,text?} or CSV/TSV with those columns; every pair's did must be listed. Example: --documents my/videos.jsonl"
    ),
    Flag.optional
  ),
  retrievalTest: Flag.File("retrieval-test").pipe(
    Flag.withDescription(
      "Graded candidates per test query (nDCG@10). Example: --retrieval-test data/qbqtc/retrieval_test.jsonl"
    ),
    Flag.optional
  ),
  pairTest: Flag.File("pair-test").pipe(
    Flag.withDescription("Graded test pairs (AP@>=1/2/3). Example: --pair-test data/qbqtc/pair_test.jsonl"),
    Flag.optional
  ),
  skipInvalid: Flag.Boolean("skip-invalid").pipe(
    Flag.withDescription(
      "Skip invalid rows instead of stopping at the first; rows skipped are written with their reasons to <file>.rejects.jsonl under --rejects-dir (only when there are some). Example: --skip-invalid"
    ),
    Flag.withDefault(false)
  ),
  rejectsDir: Flag.String("rejects-dir").pipe(
    Flag.withDescription(
      "With --skip-invalid: the folder for the skipped rows (created only when a row is skipped). Default: a fresh folder in the system's temp directory, printed. Example: --rejects-dir /tmp/rejects"
    ),
    Flag.optional
  ),

  scale: Flag.ChoiceWithValue("scale", [
    ["1", 1],
    ["2", 2],
    ["3", 3]
  ] as const).pipe(
    Flag.withDescription(
      "Highest grade of the set (1, 2 or 3); a label above it is an error. Default: inferred from the labeled and test files. Example: --scale 2"
    ),
    Flag.optional
  ),
  allowBom: Flag.Boolean("allow-bom").pipe(
    Flag.withDescription(
      "Read files that start with a UTF-8 byte-order mark (as Excel and Notepad save them) instead of stopping. Example: --allow-bom"
    ),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print machine-readable JSON. Example: --json"),
    Flag.withDefault(false)
  )
}

type DataInput = {
  readonly data: Option.Option<string>
  readonly labeled: Option.Option<string>
  readonly unlabeled: Option.Option<string>
  readonly documents: Option.Option<string>
  readonly retrievalTest: Option.Option<string>
  readonly pairTest: Option.Option<string>
}

/**
 * The data files a set of data flags names.
 *
 * @since 0.1.0
 * @category constructors
 */
export const filesOf = (input: DataInput): Effect.Effect<Inputs.DataFiles, PipelineError.PipelineError> =>
  Effect.map(
    Option.isSome(input.data) ? Inputs.filesIn(input.data.value) : Effect.succeed<Inputs.DataFiles>({}),
    (base) => {
      const pick = (k: keyof Inputs.DataFiles, o: Option.Option<string>) => opt(o) ?? base[k]
      return {
        labeled: pick("labeled", input.labeled),
        unlabeled: pick("unlabeled", input.unlabeled),
        documents: pick("documents", input.documents),
        retrievalTest: pick("retrievalTest", input.retrievalTest),
        pairTest: pick("pairTest", input.pairTest)
      }
    }
  )

/**
 * Named input files that do not exist: a usage error (exit 2) naming the flag or config key, as for a missing
 * `--data` folder — not a raw ENOENT.
 *
 * @since 0.1.0
 * @category validation
 */
export const requireFiles = (
  files: Partial<Record<"labeled" | "unlabeled" | "documents" | "retrievalTest" | "pairTest", unknown>>
) =>
  Effect.gen(function* () {
    const flags = {
      labeled: "--labeled",
      unlabeled: "--unlabeled",
      documents: "--documents",
      retrievalTest: "--retrieval-test",
      pairTest: "--pair-test"
    } as const
    for (const [key, flag] of Object.entries(flags)) {
      const file = files[key as keyof typeof flags]
      if (typeof file === "string" && !fs.existsSync(file))
        return yield* usage(
          `${flag} ${file} does not exist (data.${key})`,
          `check the path (a relative one is read from ${process.cwd()}), or drop ${flag} to use the file in the --data folder`
        )
    }
  })

type ReadInput = {
  readonly skipInvalid: boolean
  readonly rejectsDir: Option.Option<string>
  readonly scale: Option.Option<1 | 2 | 3>
  readonly allowBom: boolean
}

/**
 * Loads a dataset as the data commands read it. Rows `--skip-invalid` drops go to `--rejects-dir` (default: a
 * fresh temp folder, never the current folder or beside the data); files and folders that end up empty are
 * removed, so only real rejects stay, and `rejects` says where they are.
 */
const loadData = (files: Inputs.DataFiles, input: ReadInput) =>
  Effect.gen(function* () {
    const chosen = opt(input.rejectsDir)
    const dir = input.skipInvalid
      ? (chosen ?? path.join(fs.realpathSync(os.tmpdir()), `ssra-rejects-${process.pid}-${Date.now().toString(36)}`))
      : undefined
    const existed = dir !== undefined && fs.existsSync(dir)
    const dataset = yield* Inputs.load(files, {
      skipInvalid: input.skipInvalid,
      ...(dir !== undefined ? { rejectsDir: dir } : {}),
      scaleMax: opt(input.scale),
      allowBom: input.allowBom
    }).pipe(Effect.ensuring(Effect.sync(() => dir !== undefined && dropEmpty(dir, existed))))
    return { dataset, rejects: dir !== undefined && fs.existsSync(dir) ? dir : undefined }
  })

/** Removes the empty rejects files of `dir`, and `dir` itself when it is left empty and was made here. */
const dropEmpty = (dir: string, existed: boolean) => {
  if (!fs.existsSync(dir)) return
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name)
    if (name.endsWith(".rejects.jsonl") && fs.statSync(file).size === 0) fs.rmSync(file)
  }
  if (!existed && fs.readdirSync(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true })
}

const requireAny = (input: DataInput, files: Inputs.DataFiles) =>
  Effect.gen(function* () {
    const dir = opt(input.data)
    if (dir !== undefined && !fs.existsSync(dir))
      return yield* usage(
        `data directory ${dir} does not exist`,
        "pass --data DIR naming a folder with labeled.jsonl, unlabeled.jsonl, … (or .csv/.tsv) (e.g. --data data/kuake_qtr)"
      )
    if (!Object.values(files).some((f) => f !== undefined))
      return yield* usage(
        dir !== undefined ? `${dir} holds none of the dataset files` : "no data files given",
        "pass --data DIR (e.g. --data data/kuake_qtr) with labeled.jsonl, unlabeled.jsonl, retrieval_test.jsonl, pair_test.jsonl (or .csv/.tsv), or individual files such as --labeled FILE"
      )
    yield* requireFiles(files)
  })

const minCandidates = Flag.Int("min-candidates").pipe(
  Flag.withDescription(
    "Judged candidates a retrieval-test query needs, as a run's evaluation.minCandidates (default 10): fewer are dropped from the evaluation, and when every query has fewer validate fails. Example: --min-candidates 5"
  ),
  Flag.withDefault(10)
)

const validate = Command.make("validate", { ...dataFlags, minCandidates }, (input) =>
  Effect.gen(function* () {
    const files = yield* filesOf(input)
    yield* requireAny(input, files)
    // a dataset folder is checked as a run reads it: a run needs the labeled pairs and the unlabeled pool
    const dir = opt(input.data)
    if (dir !== undefined) {
      const missing = (["labeled", "unlabeled"] as const).filter((k) => files[k] === undefined)
      if (missing.length > 0)
        return yield* usage(
          `${dir} has no ${missing.map((k) => `${k}.jsonl (or .csv, .tsv)`).join(" and no ")}, which a run needs`,
          `add ${missing.map((k) => `${k}.jsonl`).join(" and ")} to the folder, or name the file${missing.length > 1 ? "s" : ""} with ${missing.map((k) => `--${k} FILE`).join(" ")}`
        )
    }
    const { dataset, rejects } = yield* loadData(files, input)
    const stats = Inputs.stats(dataset)
    // the check a run makes before training: retrieval-test queries below evaluation.minCandidates
    const problems = Plan.candidateProblems(dataset.retrievalTest, input.minCandidates, files.retrievalTest)
    const warnings = [...stats.warnings, ...problems.filter((p) => p.level === "warning").map((p) => p.message)]
    const error = problems.find((p) => p.level === "error")
    if (input.json) {
      yield* Console.log(
        JSON.stringify(
          {
            ok: error === undefined,
            files: stats.files.map((f) => ({ file: f.file, rows: f.rows })),
            rejects: rejects ?? null,
            warnings,
            errors: error === undefined ? [] : [error]
          },
          null,
          2
        )
      )
    } else {
      for (const f of stats.files) yield* Console.log(`ok  ${f.file}: ${f.rows} rows`)
      for (const [kind, n] of Object.entries(stats.rejected))
        yield* Console.log(`skipped ${n} invalid rows of ${kind} (reasons in ${rejects})`)
      yield* Console.log(`ok  ${stats.documents} documents, one text per id; grade scale ${stats.scale}`)
      for (const w of warnings) yield* Console.log(`warning: ${w}`)
    }
    if (error !== undefined)
      return yield* new PipelineError.PipelineError({
        reason: "input",
        detail: error.message,
        ...(error.hint !== undefined ? { hint: error.hint } : {})
      })
  })
).pipe(
  Command.withDescription(
    "Check a dataset the way a run reads it: every row against its schema, one text per document id across files, pairs naming known documents. Exit 3 with file, row and field on the first problem."
  ),
  Command.withExamples([
    { command: "ssra data validate --data data/kuake_qtr", description: "Validate the bundled Quark medical set" },
    {
      command: "ssra data validate --labeled my/labeled.jsonl --unlabeled my/clicks.jsonl --documents my/docs.jsonl",
      description: "Validate your own files"
    }
  ])
)

const stats = Command.make("stats", dataFlags, (input) =>
  Effect.gen(function* () {
    const files = yield* filesOf(input)
    yield* requireAny(input, files)
    const { dataset } = yield* loadData(files, input)
    const s = Inputs.stats(dataset)
    if (input.json) {
      yield* Console.log(JSON.stringify(s, null, 2))
      return
    }
    yield* Console.log(`grade scale ${s.scale}, ${s.documents} documents`)
    yield* Console.log("| file | rows | queries | documents | labels | mean query chars | mean doc chars |")
    yield* Console.log("|---|---|---|---|---|---|---|")
    for (const f of s.files) {
      const labels = f.labels
        ? Object.entries(f.labels)
            .sort()
            .map(([k, v]) => `${k}:${v}`)
            .join(" ")
        : "-"
      yield* Console.log(
        `| ${path.basename(f.file)} | ${f.rows} | ${f.queries} | ${f.documents} | ${labels} | ${f.meanQueryChars} | ${f.meanDocChars} |`
      )
    }
    yield* Console.log(`unlabeled documents also in labeled: ${s.unlabeledDocumentsAlsoLabeled}`)
    yield* Console.log(`retrieval-test queries with >= 10 candidates: ${s.retrievalQueriesWith10Candidates}`)
    for (const w of s.warnings) yield* Console.log(`warning: ${w}`)
  })
).pipe(
  Command.withDescription(
    "Print rows, queries, documents, label histograms and lengths per file, and the overlaps that matter for SSRA."
  ),
  Command.withExamples([
    { command: "ssra data stats --data data/qbqtc", description: "Statistics of the bundled QBQTC set" }
  ])
)

const Kind = ["labeled", "unlabeled", "documents", "qrels"] as const

const convert = Command.make(
  "convert",
  {
    input: Flag.File("input").pipe(
      Flag.withAlias("i"),
      Flag.withDescription(
        "File to read; format from the extension (.jsonl, .parquet, .csv/.tsv with a header row, .trec/.qrels). Example: --input data/qbqtc/labeled.jsonl"
      )
    ),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("File to write (atomically); format from the extension. Example: --output labeled.parquet")
    ),
    kind: Flag.Literals("kind", Kind).pipe(
      Flag.withDescription(
        "Row kind, for validation: labeled, unlabeled, documents, or qrels (qid/did/label only). Default: labeled for JSONL/Parquet."
      ),
      Flag.withDefault("labeled" as const)
    ),
    allowBom: dataFlags.allowBom
  },
  (input) =>
    Effect.gen(function* () {
      const from = Formats.formatOf(input.input)
      const to = Formats.formatOf(input.output)
      if (from === undefined || to === undefined) {
        return yield* usage(
          `cannot tell the format of ${from === undefined ? input.input : input.output}`,
          "use the extensions .jsonl, .parquet, .trec or .qrels (and .csv or .tsv for --input)"
        )
      }
      const refused = Formats.notWritable(input.output, to)
      if (refused !== undefined) return yield* refused
      const outDir = path.dirname(path.resolve(input.output))
      if (!fs.existsSync(outDir))
        return yield* usage(
          `the folder of --output ${input.output} (${outDir}) does not exist`,
          `create it first (mkdir -p ${outDir}) or write elsewhere`
        )
      const kind = from === "trec" ? "qrels" : input.kind
      const rows = yield* Formats.read(input.input, from, kind, { allowBom: input.allowBom }).pipe(
        // convert has no --skip-invalid: say what does fix it
        Effect.mapError((e) =>
          e instanceof DatasetError.DatasetError &&
          (e.reason === "invalid" || e.reason === "malformed") &&
          e.hint === undefined
            ? new DatasetError.DatasetError({
                ...e,
                hint:
                  kind === "labeled" && e.field === "label"
                    ? "a file without grades converts with --kind unlabeled (or --kind documents)"
                    : `fix that row (rows are checked as --kind ${kind}), or check --kind`
              })
            : e
        )
      )
      const written = yield* Formats.write(input.output, to, rows, kind)
      yield* Console.log(`wrote ${written} rows to ${input.output} (${to})`)
    })
).pipe(
  Command.withDescription(
    "Convert between JSONL, Parquet and TREC qrels, and from CSV/TSV (header row naming the fields) to any of them. Rows are validated on the way (labeled pairs by default). TREC qrels hold only qid, did and label."
  ),
  Command.withExamples([
    { command: "ssra data convert -i data/qbqtc/labeled.jsonl -o labeled.parquet", description: "JSONL → Parquet" },
    { command: "ssra data convert -i labeled.parquet -o labeled.jsonl", description: "Parquet → JSONL" },
    { command: "ssra data convert -i graded.csv -o labeled.jsonl", description: "spreadsheet export (CSV) → JSONL" },
    {
      command: "ssra data convert -i data/kuake_qtr/retrieval_test.jsonl -o qrels.trec",
      description: "graded pairs → TREC qrels (qid 0 did label)"
    }
  ])
)

const sample = Command.make(
  "sample",
  {
    ...dataFlags,
    out: Flag.String("out").pipe(
      Flag.withDescription("Folder to write the sample to, in the bundled layout. Example: --out samples/kuake-small")
    ),
    seed: Flag.Int("seed").pipe(Flag.withDescription("Sampling seed. Example: --seed 7"), Flag.withDefault(42)),
    labeledQueries: Flag.Int("labeled-queries").pipe(
      Flag.withDescription("Labeled queries to keep (all their rows). Example: --labeled-queries 500"),
      Flag.optional
    ),
    unlabeledRows: Flag.Int("unlabeled-rows").pipe(
      Flag.withDescription("Unlabeled rows to keep. Example: --unlabeled-rows 800"),
      Flag.optional
    ),
    retrievalQueries: Flag.Int("retrieval-queries").pipe(
      Flag.withDescription("Retrieval-test queries to keep. Example: --retrieval-queries 40"),
      Flag.optional
    ),
    pairRows: Flag.Int("pair-rows").pipe(
      Flag.withDescription("Pair-test rows to keep (stratified by grade). Example: --pair-rows 600"),
      Flag.optional
    )
  },
  (input) =>
    Effect.gen(function* () {
      const files = yield* filesOf(input)
      yield* requireAny(input, files)
      const { dataset } = yield* loadData(files, input)
      const small = Inputs.subsample(
        dataset,
        {
          labeledQueries: opt(input.labeledQueries),
          unlabeledRows: opt(input.unlabeledRows),
          retrievalQueries: opt(input.retrievalQueries),
          pairRows: opt(input.pairRows)
        },
        input.seed
      )
      const written = yield* Inputs.writeTo(small, input.out)
      for (const [kind, file] of Object.entries(written)) yield* Console.log(`wrote ${file} (${kind})`)
    })
).pipe(
  Command.withDescription("Cut a seeded sample by query (no query split across files), written in the bundled layout."),
  Command.withExamples([
    {
      command: "ssra data sample --data data/kuake_qtr --out /tmp/kq --labeled-queries 300 --unlabeled-rows 500",
      description: "A small sample for a quick run"
    }
  ])
)

/**
 * The `ssra data` command group.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<"data", {}, {}, unknown, never> = Command.make("data").pipe(
  Command.withDescription("Validate, describe, convert and sample datasets."),
  Command.withSubcommands([validate, stats, convert, sample])
)
