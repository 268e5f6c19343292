// Scale benchmark: does the pipeline keep up with a much bigger unlabeled pool?
//
// 1. Builds bigger unlabeled pools, deterministically (seeded), from a bundled set: every pool row resamples a
//    (query, doc) pair of the set's unlabeled + labeled files (labels dropped) and makes its document distinct by
//    appending a fragment of another, randomly drawn title of the set ("<title>，<fragment>"); a text that still
//    collides gets a stable "（n）" suffix. Documents get new ids (`scale-d<sha256(text)>`), queries keep their
//    text and qid (so the distinct-query count stays that of the bundled set: click logs repeat queries).
// 2. Runs the real CLI (`ssra run --config … --json`, from source, embedded backends) on each pool under
//    `/usr/bin/time -v`: Stage 1 grades the whole pool; the labeled sample, Stage 2 and synthesis documents are
//    fixed, so only the pool-dependent stages grow. Per-stage wall times come from the run's manifest.json.
// 3. Optionally (--resume-check) at the largest size: a fresh run is `kill -9`ed once Stage 1 has committed about
//    half of its chunks, then the same command is rerun; reports what was reused and whether the Stage 1 output
//    equals the uninterrupted run's.
//
// Usage (from packages/pipeline):
//   pnpm bench:scale [--set kuake_qtr|qbqtc] [--sizes 25000,100000,300000] [--seed 20261124]
//                    [--out /tmp/ssra-scale] [--resume-check] [--keep]
// Prints a markdown table per size, the per-stage scaling exponents and a JSON summary (also <out>/summary.json).

import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Sampling } from "@ssra/core"
import { PipelineConfig } from "../src/index.js"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const flag = (name: string) => process.argv.includes(`--${name}`)

const set = arg("set") ?? "kuake_qtr"
const sizes = (arg("sizes") ?? "25000,100000,300000").split(",").map((s) => Number(s.trim()))
const seed = Number(arg("seed") ?? 20261124)
const outDir = path.resolve(arg("out") ?? path.join(os.tmpdir(), "ssra-scale"))
const repo = path.resolve(import.meta.dirname, "../../..")
const dataDir = path.join(repo, "data", set)
const cliBin = path.join(repo, "apps/cli/src/bin.ts")

// ---------------------------------------------------------------------------------------------------------------
// 1. pools

type Row = { qid: string; did: string; query: string; doc: string }
const readJsonl = (file: string): Array<Row> =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Row)

const sources = [
  ...readJsonl(path.join(dataDir, "unlabeled.jsonl")),
  ...readJsonl(path.join(dataDir, "labeled.jsonl"))
].filter(
  (r) => typeof r.query === "string" && typeof r.doc === "string" && r.query.trim() !== "" && r.doc.trim() !== ""
)
const titles = [...new Set(sources.map((r) => r.doc))].sort()

// the pieces of a title between punctuation; a title without punctuation gives its second half
const fragmentsOf = (title: string): Array<string> => {
  const pieces = title
    .split(/[，。？！、；：,.?!;:\s]+/u)
    .map((p) => p.trim())
    .filter((p) => [...p].length >= 2)
  if (pieces.length > 1) return pieces
  const chars = [...title]
  return chars.length >= 4 ? [chars.slice(Math.floor(chars.length / 2)).join("")] : [title]
}

const buildPool = (size: number, file: string) => {
  const rng = new Sampling.SeededRandom(Sampling.hashSeed(`${seed}/scale/${set}/${size}`))
  const seen = new Set<string>()
  let suffixed = 0
  const queries = new Set<string>()
  const out = fs.openSync(`${file}.tmp`, "w")
  let buffer: Array<string> = []
  for (let i = 0; i < size; i++) {
    const src = sources[rng.int(sources.length)]!
    const other = titles[rng.int(titles.length)]!
    const frags = fragmentsOf(other)
    let doc = `${src.doc}，${frags[rng.int(frags.length)]!}`
    if (seen.has(doc)) {
      let n = 2
      while (seen.has(`${doc}（${n}）`)) n++
      doc = `${doc}（${n}）`
      suffixed++
    }
    seen.add(doc)
    queries.add(src.query)
    const did = `scale-d${createHash("sha256").update(doc).digest("hex").slice(0, 16)}`
    buffer.push(JSON.stringify({ qid: src.qid, did, query: src.query, doc, src: `scale:${seed}:${i}` }))
    if (buffer.length === 5000) {
      fs.writeSync(out, buffer.join("\n") + "\n")
      buffer = []
    }
  }
  if (buffer.length > 0) fs.writeSync(out, buffer.join("\n") + "\n")
  fs.closeSync(out)
  fs.renameSync(`${file}.tmp`, file)
  return { rows: size, distinctDocuments: seen.size, distinctQueries: queries.size, suffixed }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. runs

// the demo's config (its fixed labeled and test samples, model sizes, generation sizes) over the whole pool
const configFor = (pool: string, runDir: string) => {
  const demo = PipelineConfig.demo(dataDir, runDir)
  const { unlabeledRows: _all, ...sample } = demo.data?.sample ?? {}
  return { ...demo, data: { ...demo.data, unlabeled: pool, sample } }
}

type TimeV = { wallS: number; userS: number; sysS: number; maxRssMiB: number; exit: number }
const parseTimeV = (text: string): TimeV => {
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN)
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(text)?.[1] ?? "0"
  const wallS = wall
    .split(":")
    .map(Number)
    .reduce((a, b) => a * 60 + b, 0)
  return {
    wallS,
    userS: num(/User time \(seconds\): ([\d.]+)/),
    sysS: num(/System time \(seconds\): ([\d.]+)/),
    maxRssMiB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
    exit: num(/Exit status: (\d+)/)
  }
}

const nodeArgs = (configFile: string) => [
  "--conditions=@ssra/source",
  "--import",
  "tsx",
  cliBin,
  "run",
  "--config",
  configFile,
  "--json"
]

type Progress = { type: string; stage?: string; task?: string; done?: number; total?: number }

// Runs `ssra run` (under /usr/bin/time -v unless `kill` is given). `kill(event)` true → SIGKILL the node process.
const runCli = (configFile: string, logFile: string, kill?: (event: Progress) => boolean) =>
  new Promise<{
    time: TimeV | undefined
    code: number | null
    signal: string | null
    firstStage1: Progress | undefined
  }>((resolve) => {
    const timeFile = `${logFile}.time`
    const child = kill
      ? spawn(process.execPath, nodeArgs(configFile), { cwd: repo, stdio: ["ignore", "pipe", "pipe"] })
      : spawn("/usr/bin/time", ["-v", "-o", timeFile, process.execPath, ...nodeArgs(configFile)], {
          cwd: repo,
          stdio: ["ignore", "pipe", "pipe"]
        })
    const log = fs.createWriteStream(logFile)
    let firstStage1: Progress | undefined
    let partial = ""
    child.stdout.pipe(fs.createWriteStream(`${logFile}.stdout`))
    child.stderr.on("data", (chunk: Buffer) => {
      log.write(chunk)
      partial += chunk.toString("utf8")
      const lines = partial.split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) {
        let event: Progress
        try {
          event = JSON.parse(line) as Progress
        } catch {
          continue
        }
        if (event.type === "progress" && event.stage === "stage1" && firstStage1 === undefined) firstStage1 = event
        if (kill?.(event)) child.kill("SIGKILL")
      }
    })
    child.on("close", (code, signal) => {
      log.end()
      const time = kill ? undefined : parseTimeV(fs.existsSync(timeFile) ? fs.readFileSync(timeFile, "utf8") : "")
      resolve({ time, code, signal, firstStage1 })
    })
  })

type Stage = {
  stage: string
  durationMs: number
  reused: boolean
  counts: Record<string, number>
  maxRssMiB?: number
}
const readManifest = (runDir: string) =>
  JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8")) as {
    status: string
    stages: Array<Stage>
    totals: { durationMs: number }
  }

const load = () => os.loadavg().map((l) => l.toFixed(2))

const stage1Output = (runDir: string) => {
  const m = readManifest(runDir)
  const s = m.stages.find((x) => x.stage === "stage1") as (Stage & { dir: string }) | undefined
  if (!s) return undefined
  const record = JSON.parse(fs.readFileSync(path.join(s.dir, "artifact.json"), "utf8")) as {
    key: string
    files: Array<{ path: string; sha256: string }>
  }
  return { key: record.key, files: record.files }
}

// ---------------------------------------------------------------------------------------------------------------

fs.mkdirSync(outDir, { recursive: true })
console.log(
  `scale bench: set ${set}, sizes ${sizes.join(", ")}, pool seed ${seed}, out ${outDir}\nmachine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${new Date().toISOString()}`
)

type Result = {
  size: number
  pool: ReturnType<typeof buildPool>
  poolBuildS: number
  poolMiB: number
  time: TimeV
  loadBefore: Array<string>
  loadAfter: Array<string>
  manifestTotalS: number
  stages: Array<{
    stage: string
    seconds: number
    reused: boolean
    counts: Record<string, number>
    maxRssMiB?: number | undefined
  }>
  runDirMiB: number
}
const results: Array<Result> = []
const duMiB = (dir: string) => {
  let bytes = 0
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) bytes += fs.statSync(p).size
    }
  }
  walk(dir)
  return bytes / 2 ** 20
}

for (const size of sizes) {
  const pool = path.join(outDir, `unlabeled-${size}.jsonl`)
  const t0 = performance.now()
  const built = buildPool(size, pool)
  const poolBuildS = (performance.now() - t0) / 1000
  const runDir = path.join(outDir, `run-${size}`)
  fs.rmSync(runDir, { recursive: true, force: true })
  const configFile = path.join(outDir, `config-${size}.json`)
  fs.writeFileSync(configFile, JSON.stringify(configFor(pool, runDir), null, 2))
  const loadBefore = load()
  console.log(
    `\n== ${size} pairs: pool built in ${poolBuildS.toFixed(1)} s (${built.distinctDocuments} distinct documents, ${built.distinctQueries} distinct queries, ${built.suffixed} suffixed); load ${loadBefore.join(" ")}`
  )
  const r = await runCli(configFile, path.join(outDir, `run-${size}.log`))
  const loadAfter = load()
  if (r.code !== 0 || r.time === undefined) {
    console.log(`run failed: exit ${r.code} signal ${r.signal}; see ${path.join(outDir, `run-${size}.log`)}`)
    break
  }
  const m = readManifest(runDir)
  const result: Result = {
    size,
    pool: built,
    poolBuildS,
    poolMiB: fs.statSync(pool).size / 2 ** 20,
    time: r.time,
    loadBefore,
    loadAfter,
    manifestTotalS: m.totals.durationMs / 1000,
    stages: m.stages.map((s) => ({
      stage: s.stage,
      seconds: s.durationMs / 1000,
      reused: s.reused,
      counts: s.counts,
      maxRssMiB: s.maxRssMiB
    })),
    runDirMiB: duMiB(runDir)
  }
  results.push(result)
  const sum = result.stages.reduce((a, s) => a + s.seconds, 0)
  console.log(
    `total ${r.time.wallS.toFixed(1)} s wall, ${(r.time.userS + r.time.sysS).toFixed(1)} s CPU (user ${r.time.userS} + sys ${r.time.sysS}), max RSS ${r.time.maxRssMiB.toFixed(0)} MiB; manifest total ${result.manifestTotalS.toFixed(1)} s, stages sum ${sum.toFixed(1)} s; run dir ${result.runDirMiB.toFixed(0)} MiB; load after ${loadAfter.join(" ")}`
  )
  // peak RSS so far when each stage was recorded: where it jumps is where the memory goes
  console.log("| stage | seconds | peak RSS so far (MiB) |\n|---|---|---|")
  for (const s of result.stages) console.log(`| ${s.stage} | ${s.seconds.toFixed(1)} | ${s.maxRssMiB ?? "?"} |`)
  fs.writeFileSync(path.join(outDir, "summary.json"), JSON.stringify({ set, seed, sizes, results }, null, 2))
}

// scaling exponents between consecutive sizes: log(t2/t1) / log(n2/n1)
if (results.length >= 2) {
  const stageNames = results[0]!.stages.map((s) => s.stage)
  const header = results
    .slice(1)
    .map((r, i) => `${results[i]!.size / 1000}k→${r.size / 1000}k`)
    .join(" | ")
  console.log(
    `\nscaling exponent b (t ∝ n^b)\n| stage | ${header} |\n|---|${results
      .slice(1)
      .map(() => "---|")
      .join("")}`
  )
  const exp = (a: number, b: number, n1: number, n2: number) =>
    a > 0 && b > 0 ? (Math.log(b / a) / Math.log(n2 / n1)).toFixed(2) : "-"
  for (const name of [...stageNames, "(total wall)", "(CPU)", "(max RSS)"]) {
    const val = (r: Result) =>
      name === "(total wall)"
        ? r.time.wallS
        : name === "(CPU)"
          ? r.time.userS + r.time.sysS
          : name === "(max RSS)"
            ? r.time.maxRssMiB
            : (r.stages.find((s) => s.stage === name)?.seconds ?? 0)
    console.log(
      `| ${name} | ${results
        .slice(1)
        .map((r, i) => exp(val(results[i]!), val(r), results[i]!.size, r.size))
        .join(" | ")} |`
    )
  }
}

// 3. kill -9 in the middle of Stage 1, then the same command again
let resume: unknown
if (flag("resume-check") && results.length > 0) {
  const last = results[results.length - 1]!
  const pool = path.join(outDir, `unlabeled-${last.size}.jsonl`)
  const runDir = path.join(outDir, `resume-${last.size}`)
  fs.rmSync(runDir, { recursive: true, force: true })
  const configFile = path.join(outDir, `config-resume-${last.size}.json`)
  fs.writeFileSync(configFile, JSON.stringify(configFor(pool, runDir), null, 2))
  console.log(
    `\n== resume check at ${last.size}: kill -9 once Stage 1 has about half of its chunks; load ${load().join(" ")}`
  )
  let killedAt: Progress | undefined
  const t0 = performance.now()
  const killed = await runCli(configFile, path.join(outDir, `resume-${last.size}-killed.log`), (e) => {
    if (killedAt === undefined && e.type === "progress" && e.stage === "stage1" && e.total && e.done! >= e.total / 2) {
      killedAt = e
      return true
    }
    return false
  })
  const killedS = (performance.now() - t0) / 1000
  const chunkDir = fs
    .readdirSync(path.join(runDir, "artifacts"))
    .filter((d) => d.startsWith("stage1-"))
    .map((d) => path.join(runDir, "artifacts", d, "chunks", "annotation"))[0]
  const chunksOnDisk = chunkDir ? fs.readdirSync(chunkDir).filter((f) => f.startsWith("chunk-")).length : 0
  const tmpLeft = chunkDir ? fs.readdirSync(chunkDir).filter((f) => !f.startsWith("chunk-") && f !== "plan.json") : []
  console.log(
    `killed (${killed.signal}) after ${killedS.toFixed(1)} s at stage1 ${killedAt?.done}/${killedAt?.total} chunks; ${chunksOnDisk} chunk files on disk, other files there: ${tmpLeft.join(", ") || "none"}`
  )
  const again = await runCli(configFile, path.join(outDir, `resume-${last.size}-rerun.log`))
  const m = readManifest(runDir)
  const s1 = m.stages.find((s) => s.stage === "stage1")
  const fresh = stage1Output(path.join(outDir, `run-${last.size}`))
  const resumed = stage1Output(runDir)
  const identical =
    fresh !== undefined && resumed !== undefined && JSON.stringify(fresh.files) === JSON.stringify(resumed.files)
  const stage1Fresh = last.stages.find((s) => s.stage === "stage1")?.seconds
  resume = {
    size: last.size,
    killedAfterS: killedS,
    killedAt,
    chunksOnDisk,
    otherFiles: tmpLeft,
    rerun: again.time,
    rerunExit: again.code,
    rerunFirstStage1Progress: again.firstStage1,
    stages: m.stages.map((s) => ({ stage: s.stage, seconds: s.durationMs / 1000, reused: s.reused })),
    stage1RerunS: s1 ? s1.durationMs / 1000 : undefined,
    stage1FreshS: stage1Fresh,
    stage1OutputIdenticalToUninterrupted: identical
  }
  console.log(
    `rerun: exit ${again.code}, ${again.time?.wallS.toFixed(1)} s wall, max RSS ${again.time?.maxRssMiB.toFixed(0)} MiB; stage1 started at ${again.firstStage1?.done}/${again.firstStage1?.total} chunks, took ${s1 ? (s1.durationMs / 1000).toFixed(1) : "?"} s (uninterrupted: ${stage1Fresh?.toFixed(1)} s); stage1 files identical to the uninterrupted run: ${identical}`
  )
  console.log("| stage | seconds | reused |\n|---|---|---|")
  for (const s of m.stages) console.log(`| ${s.stage} | ${(s.durationMs / 1000).toFixed(1)} | ${s.reused} |`)
}

fs.writeFileSync(path.join(outDir, "summary.json"), JSON.stringify({ set, seed, sizes, results, resume }, null, 2))
console.log(`\nsummary: ${path.join(outDir, "summary.json")}`)
if (!flag("keep")) {
  for (const f of fs.readdirSync(outDir))
    if (f.startsWith("run-") || f.startsWith("resume-") || f.startsWith("unlabeled-")) {
      const p = path.join(outDir, f)
      if (fs.statSync(p).isDirectory()) fs.rmSync(p, { recursive: true, force: true })
    }
  for (const f of fs.readdirSync(outDir))
    if (f.startsWith("unlabeled-")) fs.rmSync(path.join(outDir, f), { force: true })
}
