/**
 * The `ssra-eval` command tree: `run <suite>`, `compare <results…>`, `trec --qrels --run` (like
 * `trec_eval -q -m ndcg_cut.k`) and `pairs --input` (AP at grade thresholds like scikit-learn).
 *
 * @since 0.1.0
 */
import { Failure, Jsonl } from "@ssra/core"
import { Comparison, EvaluationError, EvaluationResult, Metrics, Report, ResultFile, Trec } from "@ssra/evaluation"
import { Cause, Console, Effect, Exit, Option, Schema } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import * as Runner from "./Runner.js"
import * as Suite from "./Suite.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

const json = Flag.Boolean("json").pipe(
  Flag.withDescription("Print JSON with full-precision numbers"),
  Flag.withDefault(false)
)

const runCommand = Command.make(
  "run",
  {
    suite: Argument.String("suite").pipe(Argument.withDescription("Suite file (YAML or JSON)")),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Output directory (default: the suite's `output`)"),
      Flag.optional
    ),
    resamples: Flag.Int("resamples").pipe(
      Flag.withDescription("Bootstrap resamples for CIs (default 2000)"),
      Flag.optional
    )
  },
  Effect.fn(function* ({ suite, output, resamples }) {
    const loaded = yield* Suite.load(suite)
    const summary = yield* Runner.run(loaded, {
      output: Option.getOrUndefined(output),
      resamples: Option.getOrUndefined(resamples),
      log: (line) => Console.error(line)
    })
    yield* Console.log(summary.markdown)
    yield* Console.error(
      `wrote ${summary.files.length} files under ${summary.output} (report.html, summary.md, results.json, results/, runs/)`
    )
  })
).pipe(
  Command.withDescription(
    "Run an evaluation suite: results JSON (MTEB layout), Markdown summary, HTML report, TREC runs"
  )
)

const compareCommand = Command.make(
  "compare",
  {
    files: Argument.String("results").pipe(
      Argument.variadic({ min: 1 }),
      Argument.withDescription(
        "Result files (task JSON or results.json); the first system of each task is the baseline"
      )
    ),
    metric: Flag.String("metric").pipe(
      Flag.withAlias("m"),
      Flag.withDescription(
        "Metric to compare, as the result files key it (ndcg_at_10, ap_ge_2) or as a measure (ndcg@10, ap@>=2); repeatable; default: the headline metrics"
      ),
      Flag.atLeast(0)
    ),
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("Seed of the bootstrap and the sign flips (default 0): same seed, same output"),
      Flag.withDefault(0)
    ),
    resamples: Flag.Int("resamples").pipe(
      Flag.withDescription("Bootstrap resamples for the 95% intervals (>= 1, default 2000)"),
      Flag.withDefault(2000)
    ),
    permutations: Flag.Int("permutations").pipe(
      Flag.withDescription("Sign-flip permutations for the randomization p-values (>= 1, default 10000)"),
      Flag.withDefault(10000)
    ),
    json
  },
  Effect.fn(function* ({ files, metric, seed, resamples, permutations, json }) {
    const results: Array<ResultFile.TaskResult> = []
    for (const f of files) results.push(...(yield* ResultFile.read(f)))
    const deltas = yield* Comparison.compare(results, {
      metrics: metric.length === 0 ? undefined : metric,
      seed,
      resamples,
      permutations
    })
    if (json) {
      yield* Console.log(JSON.stringify(deltas, null, 2))
      return
    }
    const md = Report.markdown({ title: "comparison", created: "", results: [], deltas })
    yield* Console.log(md.slice(md.indexOf("| task |")))
  })
).pipe(Command.withDescription("Deltas between systems on the same tasks, with paired-bootstrap 95% CIs and p-values"))

/**
 * trec_eval's three columns (`%-22s\t%s\t%6.4f`: measure, query or `all`, value): with `-q`, each query's
 * measures first (query by query, as trec_eval prints them), then the means.
 */
const trecEvalLines = (result: Trec.TrecEvaluation, perQuery: boolean): string => {
  const names = result.measures.map((m) => Trec.trecName(m).padEnd(22))
  const lines: Array<string> = []
  if (perQuery) {
    result.queries.forEach((q, i) => {
      result.measures.forEach((m, k) => {
        lines.push(`${names[k]}\t${q}\t${result.perQuery[m]![i]!.toFixed(4)}`)
      })
    })
  }
  result.measures.forEach((m, k) => {
    lines.push(`${names[k]}\tall\t${result.mean[m]!.toFixed(4)}`)
  })
  return lines.join("\n")
}

const trecCommand = Command.make(
  "trec",
  {
    qrels: Flag.String("qrels").pipe(Flag.withDescription("TREC qrels: qid iter docid grade")),
    run: Flag.String("run").pipe(Flag.withDescription("TREC run: qid Q0 docid rank score tag")),
    metric: Flag.String("metric").pipe(
      Flag.withAlias("m"),
      Flag.withDescription(
        "ndcg@k, map@k, recall@k, p@k, mrr@k, or trec_eval's names: map, ndcg, recip_rank, P.k, recall.k, ndcg_cut.k, map_cut.k, lists like P.5,10 (repeatable; default ndcg@10)"
      ),
      Flag.atLeast(0)
    ),
    level: Flag.Int("level").pipe(
      Flag.withAlias("l"),
      Flag.withDescription(
        "Relevance level (trec_eval -l): grades >= this count as relevant for map, P, recall and recip_rank (default 1; nDCG uses the grades themselves)"
      ),
      Flag.withDefault(1)
    ),
    perQuery: Flag.Boolean("per-query").pipe(
      Flag.withAlias("q"),
      Flag.withDescription("Also print each query's values (trec_eval -q)"),
      Flag.withDefault(false)
    ),
    skipUnjudged: Flag.Boolean("skip-unjudged").pipe(
      Flag.withDescription(
        "Skip run queries the qrels do not judge, as trec_eval does (default: an error naming the query and line, so a wrong qrels file is noticed)"
      ),
      Flag.withDefault(false)
    ),
    json
  },
  Effect.fn(function* ({ qrels, run, metric, level, perQuery, skipUnjudged, json }) {
    if (!(Number.isInteger(level) && level >= 1))
      return yield* new EvaluationError.EvaluationError({
        reason: "malformed",
        id: "level",
        detail: `--level (-l) must be an integer >= 1, got ${level}`,
        hint: "trec_eval's default is 1; -l 2 counts grades 2 and up as relevant"
      })
    // files grouped by query are streamed (bounded memory), others parsed into packed arrays: same numbers
    const result = yield* Trec.evaluateFiles(qrels, run, {
      measures: metric.length === 0 ? ["ndcg@10"] : metric,
      relevance: level,
      unjudged: skipUnjudged ? "skip" : "error"
    })
    if (json) {
      const out: Record<string, unknown> = {
        measures: result.measures,
        relevanceLevel: level,
        queries: result.queries.length,
        judgedNotInRun: result.judgedNotInRun,
        unjudgedInRun: result.unjudgedInRun,
        mean: result.mean
      }
      if (perQuery) {
        out.perQuery = Object.fromEntries(
          result.queries.map((q, i) => [q, Object.fromEntries(result.measures.map((m) => [m, result.perQuery[m]![i]]))])
        )
      }
      yield* Console.log(JSON.stringify(out, null, 2))
      return
    }
    yield* Console.log(trecEvalLines(result, perQuery))
    if (result.judgedNotInRun > 0)
      yield* Console.error(
        `note: ${result.judgedNotInRun} judged queries have no documents in the run (skipped, as trec_eval does without -c)`
      )
    if (result.unjudgedInRun > 0)
      yield* Console.error(`note: ${result.unjudgedInRun} run queries have no judgments (skipped: --skip-unjudged)`)
  })
).pipe(
  Command.withDescription(
    "Evaluate a TREC run against qrels like trec_eval [-q] [-l level] -m measure (trec_eval's names and output columns)"
  )
)

// checked by the reader, so an error names the file's own line (blank lines counted)
const scoredRow = (grades: number) =>
  Schema.Struct({
    label: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: grades })),
    score: Schema.Finite,
    qid: Schema.optionalKey(Schema.String),
    did: Schema.optionalKey(Schema.String)
  })

const pairsCommand = Command.make(
  "pairs",
  {
    input: Flag.String("input").pipe(
      Flag.withAlias("i"),
      Flag.withDescription("JSONL rows with integer `label` and numeric `score`")
    ),
    grades: Flag.Int("grades").pipe(
      Flag.withDescription("Highest grade of the scale (default: 3); labels above it are errors"),
      Flag.withDefault(3)
    ),
    json
  },
  Effect.fn(function* ({ input, grades, json }) {
    if (!(Number.isInteger(grades) && grades >= 1))
      return yield* new EvaluationError.EvaluationError({
        reason: "malformed",
        id: "grades",
        detail: `--grades must be an integer >= 1, got ${grades}`
      })
    const rows = yield* Effect.mapError(
      Jsonl.readAll(input, scoredRow(grades)),
      (e) =>
        new EvaluationError.EvaluationError({
          reason:
            e.reason === "empty"
              ? "empty"
              : e.field === "label"
                ? "grade-out-of-scale"
                : e.field === "score"
                  ? "nan-score"
                  : e.reason === "not-found" || e.reason === "io"
                    ? "io"
                    : "malformed",
          file: e.file,
          ...(e.line === undefined ? {} : { line: e.line }),
          detail: `${e.field !== undefined && e.field !== "" ? `${e.field}: ` : ""}${e.detail}`,
          hint:
            e.field === "label"
              ? `labels are integers on 0..${grades}: fix the row, or pass --grades N for a wider scale`
              : 'each line: {"label": 2, "score": 0.73}'
        })
    )
    const ap = Metrics.apAtThresholds(
      rows.map((r) => r.label),
      rows.map((r) => r.score),
      Array.from({ length: grades }, (_, i) => i + 1)
    )
    const mean = Metrics.meanDefined(Object.values(ap))
    if (json) {
      yield* Console.log(JSON.stringify({ pairs: rows.length, ...ap, "ap@mean": mean }, null, 2))
      return
    }
    yield* Console.log(
      [...Object.entries(ap), ["ap@mean", mean] as const]
        .map(([k, v]) => `${k.padEnd(8)}\t${EvaluationResult.formatValue(v)}`)
        .join("\n") + `\npairs   \t${rows.length}`
    )
  })
).pipe(
  Command.withDescription("AP at grade thresholds ≥1/2/3 of scored pairs, like scikit-learn's average_precision_score")
)

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("ssra-eval").pipe(
  Command.withDescription(
    "ssra-eval: exact IR metrics, evaluation suites, comparisons and reports. Exit codes: 0 ok, 1 internal, 2 usage, 3 invalid input, 4 model/backend, 7 I/O."
  ),
  Command.withSubcommands([runCommand, compareCommand, trecCommand, pairsCommand])
)

// the exit code of each failure class (EvaluationError: a malformed request that names no file is about the
// arguments, a flag value or a metric name: usage)
const exitCodes: Record<Failure.Class, number> = {
  usage: 2,
  input: 3,
  "backend-missing": 4,
  "backend-unreachable": 4,
  budget: 4,
  io: 7,
  "awaiting-training": 1,
  internal: 1
}

/**
 * Runs the CLI on `argv` (without `node` and the script); never fails: prints the error and returns the exit
 * code.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) =>
  Command.runWith(command, { version })(argv).pipe(
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(0)
      const error = Cause.squash(exit.cause)
      // effect/cli already printed help and parse errors for usage mistakes (a handler's UserError is no such)
      if (CliError.isCliError(error) && !(error instanceof CliError.UserError)) return Effect.succeed(2)
      if (Failure.isClassifiable(error))
        return Effect.as(
          Console.error(`error: ${error instanceof Error ? error.message : String(error)}`),
          exitCodes[Failure.classify(error).class]
        )
      return Effect.as(Console.error(`internal error: ${Cause.pretty(exit.cause)}`), 1)
    })
  )
