// Load benchmark: per endpoint requests/s and p50/p99 latency (autocannon) of the ssra server next to a bare
// node:http handler returning a constant, in the same run. Server and bare handler run in child processes; the
// load generator runs here. Usage: pnpm bench [-- --run <dir> | --checkpoint <dir> --score-model <dir>
// --query-model <dir>] [--duration <s>] [--connections <n>] [--batch-wait-ms <ms>]

import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import autocannon from "autocannon"

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const duration = Number(flag("--duration") ?? 10)
const only = flag("--only")
const connections = Number(flag("--connections") ?? 10)
// A fixed offered load (requests/s over all connections) instead of as fast as the server answers: compares
// latency at equal load, which a closed loop at saturation does not.
const rate = flag("--rate") !== undefined ? Number(flag("--rate")) : undefined
const passThrough = ["--run", "--checkpoint", "--score-model", "--query-model", "--batch-wait-ms"].flatMap((name) => {
  const value = flag(name)
  return value === undefined ? [] : [name, value]
})
const modelsFrom = ["--run", "--checkpoint", "--score-model", "--query-model"]
  .filter((name) => flag(name) !== undefined)
  .map((name) => `${name} ${flag(name)}`)
  .join(" ")
const here = path.dirname(new URL(import.meta.url).pathname)
const cpuProfDir = flag("--cpu-prof-dir")
const nodeFlags = (flag("--node-flags") ?? "").split(" ").filter((f) => f.length > 0)

// CPU time (user + system, ms) a child process has used so far, from /proc (Linux); undefined elsewhere.
const clockTick = 100
const cpuMs = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTick
  } catch {
    return undefined
  }
}

const start = (mode: "bare" | "server"): Promise<{ url: string; child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const log = fs.openSync(path.join(os.tmpdir(), `ssra-bench-${mode}.log`), "w")
    const child = spawn(
      process.execPath,
      [
        ...(mode === "server" ? nodeFlags : []),
        ...(mode === "server" && cpuProfDir !== undefined ? ["--cpu-prof", "--cpu-prof-dir", cpuProfDir] : []),
        "--import",
        "tsx",
        "--conditions=@ssra/source",
        path.resolve(flag("--server-script") ?? path.join(here, "server.ts")),
        mode,
        ...passThrough
      ],
      { stdio: ["ignore", log, "pipe"], cwd: path.join(here, "..") }
    )
    let errors = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      errors += chunk.toString()
      const match = /URL (\S+)/.exec(errors)
      if (match) resolve({ url: match[1]!, child })
    })
    child.on("exit", (code) => reject(new Error(`${mode} exited with ${code}: ${errors}`)))
  })

interface Case {
  readonly name: string
  readonly path: string
  readonly body?: unknown
  readonly needsQueryModel?: boolean
}

const docs = [
  "感冒发烧可以吃退烧药，多喝水，注意休息",
  "如何学习编程-入门教程",
  "发烧了怎么办？儿童发烧的处理方法",
  "驾校理论考试科目一模拟试题",
  "qq邮箱网页版登录入口",
  "感冒了吃什么好得快",
  "搞笑蜜蜂猫咪-萌宠视频",
  "流感和普通感冒的区别",
  "高烧不退需要去医院吗",
  "北京天气预报一周"
]
const cases: ReadonlyArray<Case> = [
  { name: "bare node:http (constant)", path: "/" },
  { name: "GET /healthz", path: "/healthz" },
  { name: "POST /v1/embeddings (1 short query)", path: "/v1/embeddings", body: { input: "感冒发烧怎么办" } },
  {
    name: "POST /v1/embeddings (16 documents)",
    path: "/v1/embeddings",
    body: { input: [...docs, ...docs.slice(0, 6)], input_type: "document" }
  },
  {
    name: "POST /v1/rerank (10 documents)",
    path: "/v1/rerank",
    body: { query: "感冒发烧怎么办", documents: docs, top_n: 3 }
  },
  {
    name: "POST /v1/relevance (4 pairs)",
    path: "/v1/relevance",
    body: { pairs: docs.slice(0, 4).map((document) => ({ query: "感冒发烧怎么办", document })) }
  },
  {
    name: "POST /v1/filter (10 candidates, min_grade 2)",
    path: "/v1/filter",
    body: { query: "感冒发烧怎么办", candidates: docs.map((text, i) => ({ id: `v${i}`, text })), min_grade: 2 }
  },
  {
    name: "POST /v1/queries (n=3)",
    path: "/v1/queries",
    body: { document: { title: "感冒", text: docs[0] }, target_grade: 2, n: 3 },
    needsQueryModel: true
  }
]

/** Sub-millisecond percentiles: autocannon's own histogram stores whole milliseconds, its per-response event has
 * the hrtime duration (ms, fractional), so the measured pass keeps those (mean, p50, p99). */
const percentile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

interface Load {
  readonly result: autocannon.Result
  readonly mean: number
  readonly p50: number
  readonly p99: number
}

const load = (url: string, c: Case): Promise<Load> =>
  new Promise((resolve, reject) => {
    let times = new Float64Array(1 << 16)
    let n = 0
    const instance = autocannon(
      {
        url: url + c.path,
        connections,
        duration,
        ...(rate !== undefined ? { overallRate: rate } : {}),
        ...(c.body !== undefined
          ? { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(c.body) }
          : {})
      },
      (error, result) => {
        if (error) return reject(error)
        const sorted = times.slice(0, n).sort()
        let sum = 0
        for (const t of sorted) sum += t
        resolve({
          result,
          mean: n > 0 ? sum / n : Number.NaN,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99)
        })
      }
    )
    instance.on("response", (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      if (n === times.length) {
        const grown = new Float64Array(times.length * 2)
        grown.set(times)
        times = grown
      }
      times[n++] = responseTime
    })
  })

const main = async () => {
  const bare = await start("bare")
  const server = await start("server")
  const rows: Array<string> = []
  let bareP99 = 0
  try {
    const ready = await fetch(`${server.url}/readyz`).then((r) => r.json() as Promise<any>)
    for (const c of cases) {
      if (c.needsQueryModel && ready.models.query_model === null) continue
      if (only !== undefined && c.path !== "/" && !only.split(",").some((o) => c.name.includes(o))) continue
      const target = c.path === "/" ? bare.url : server.url
      await load(target, { ...c, name: c.name }).catch(() => undefined) // warm-up pass (discarded)
      const pid = c.path === "/" ? bare.child.pid : server.child.pid
      const cpuBefore = cpuMs(pid)
      const { result, mean, p50, p99 } = await load(target, c)
      const cpuAfter = cpuMs(pid)
      if (c.path === "/") bareP99 = p99
      const errors = result.errors + result.timeouts + result.non2xx
      const requests = result.requests.total
      const cpuPerRequest =
        cpuBefore !== undefined && cpuAfter !== undefined && requests > 0
          ? (((cpuAfter - cpuBefore) * 1000) / requests).toFixed(0)
          : "–"
      rows.push(
        `| ${c.name} | ${Math.round(result.requests.average)} | ${mean.toFixed(3)} | ${p50.toFixed(3)} | ${p99.toFixed(3)} | ` +
          `${bareP99 > 0 ? (p99 / bareP99).toFixed(2) : "–"} | ${cpuPerRequest} | ${errors} |`
      )
      process.stderr.write(`${rows.at(-1)}\n`)
    }
  } finally {
    bare.child.kill("SIGTERM")
    server.child.kill("SIGTERM")
  }
  console.log(
    `\n${duration} s per endpoint (after a ${duration} s warm-up), ${connections} connections, ` +
      `${rate !== undefined ? `offered load ${rate} req/s, ` : ""}${os.cpus().length} CPUs, node ${process.version}, models: ${modelsFrom || "untrained DualEncoder.make() + QBQTC-trained score model"}` +
      `${flag("--batch-wait-ms") !== undefined ? `, batch window ${flag("--batch-wait-ms")} ms` : ""}; ` +
      "latencies from every measured response's hrtime duration (µs resolution; autocannon's own histogram keeps whole ms)\n"
  )
  console.log(
    "| endpoint | req/s | mean ms | p50 ms | p99 ms | p99 / bare p99 | CPU µs/req (server) | errors + non-2xx |"
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|")
  for (const row of rows) console.log(row)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
