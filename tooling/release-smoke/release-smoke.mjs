#!/usr/bin/env node
// Release smoke test: what a team gets from `npm install @ssra/<pkg>`, proven on the packed tarballs.
//
//   pnpm run build && node tooling/release-smoke/release-smoke.mjs [--keep]
//
// 1. `pnpm pack`s every public package (packages/*, not private) — pnpm rewrites `workspace:`/`catalog:` ranges and
//    applies `publishConfig`, exactly as `changeset publish` will.
// 2. `publint --strict` and `attw --profile esm-only` on each tarball (the packages are ESM-only; Node >= 22.19,
//    their `engines`, loads them from `require` too, so attw's node10 / CJS columns are not a goal).
// 3. A fresh npm project in a temp dir OUTSIDE the workspace installs all tarballs with npm, plus `effect` and
//    `@effect/platform-node` at a 4.1.x patch DIFFERENT from the workspace's catalog pin (the newest one the
//    registry has both of; override with SSRA_SMOKE_EFFECT_VERSION), and `@types/node`.
// 4. Type-checks tooling/release-smoke/samples/*.ts (one per package, the same files README.md shows) under
//    `strict` + `module: NodeNext` with skipLibCheck off, compiles them and runs each with node. Beside them, a
//    generated `subpaths.ts` imports every module subpath of every package (`@ssra/<pkg>/<Module>`, the exports
//    tooling/exports writes), type-checked the same way; run, it checks that each subpath holds the very values of
//    the package's root namespace (one copy of each class and service) and that `@ssra/<pkg>/internal/…` is refused.
//    `@ssra/evaluation/Metrics` alone must load no native addon (`@node-rs/jieba`).
// 5. Asserts one copy of `effect` in node_modules (walked) and a clean `npm ls effect --all`.
// Prints one line per check and "release-smoke: N passed, N failed"; appends "release-smoke N M" to
// $SSRA_COUNTS_FILE when set (scripts/test.sh sums those). Exit status 1 when anything failed.
import { spawnSync } from "node:child_process"
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"
import { modulesOf } from "../exports/exports.mjs"

const here = fileURLToPath(new URL(".", import.meta.url))
const root = join(here, "..", "..")
const bin = (name) => join(root, "node_modules", ".bin", name)
const results = []
const check = (name, ok, detail = "") => {
  results.push(ok)
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `\n${detail.trimEnd().replace(/^/gm, "     ")}` : ""}`)
  return ok
}
const run = (command, args, cwd) => {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 })
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` }
}

/** The public packages: `packages/*` whose package.json is not private. */
const publicPackages = () =>
  readdirSync(join(root, "packages"))
    .sort()
    .map((name) => join(root, "packages", name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
    .filter((p) => p.manifest.private !== true)

/** The workspace's catalog pin of a package (pnpm-workspace.yaml). */
const catalogPin = (name) => {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8")
  const quoted = name.startsWith("@") ? `"${name}"` : name
  return yaml.match(new RegExp(`^\\s+${quoted.replace(/[/.]/g, "\\$&")}:\\s*(\\S+)`, "m"))?.[1]
}

const registryVersions = (name) => {
  const r = run("npm", ["view", name, "versions", "--json"], tmpdir())
  if (!r.ok) throw new Error(`npm view ${name} versions failed:\n${r.output}`)
  return JSON.parse(r.output)
}

/** The newest 4.1.x that effect and @effect/platform-node both have and the workspace does not pin. */
const effectVersion = (pin) => {
  if (process.env.SSRA_SMOKE_EFFECT_VERSION) return process.env.SSRA_SMOKE_EFFECT_VERSION
  const platform = new Set(registryVersions("@effect/platform-node"))
  const candidates = registryVersions("effect").filter((v) => /^4\.1\.\d+$/.test(v) && v !== pin && platform.has(v))
  const newest = candidates.sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2])).pop()
  if (newest === undefined) throw new Error(`the registry has no effect 4.1.x other than the workspace's ${pin}`)
  return newest
}

const packAndLint = (pkg, tarballs) => {
  const name = pkg.manifest.name
  if (!existsSync(join(pkg.dir, "dist", "index.js")) || !existsSync(join(pkg.dir, "dist", "index.d.ts"))) {
    return check(`${name}: built`, false, `${pkg.dir}/dist is missing: run \`pnpm run build\` first`)
  }
  const packed = run("pnpm", ["pack", "--pack-destination", tarballs], pkg.dir)
  const file = readdirSync(tarballs).find((f) => f.startsWith(`${name.slice(1).replace("/", "-")}-`))
  if (!check(`${name}: pnpm pack`, packed.ok && file !== undefined, packed.ok ? "" : packed.output)) return null
  const tarball = join(tarballs, file)
  const unpacked = join(tarballs, basename(file, ".tgz"))
  mkdirSync(unpacked)
  run("tar", ["xzf", tarball, "-C", unpacked], tarballs)
  const publint = run(bin("publint"), ["run", join(unpacked, "package"), "--pack", "false", "--strict"], root)
  check(`${name}: publint --strict`, publint.ok && publint.output.includes("All good"), publint.output)
  const attw = run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], root)
  check(`${name}: attw --profile esm-only`, attw.ok, attw.ok ? "" : attw.output)
  return tarball
}

/** Every installed copy of `name` under a node_modules tree (nested ones included). */
const copiesOf = (nodeModules, name, found = []) => {
  if (!existsSync(nodeModules)) return found
  for (const entry of readdirSync(nodeModules)) {
    const dirs = entry.startsWith("@")
      ? readdirSync(join(nodeModules, entry)).map((e) => join(nodeModules, entry, e))
      : [join(nodeModules, entry)]
    for (const dir of dirs) {
      const manifest = join(dir, "package.json")
      if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === name) {
        found.push({ dir, version: JSON.parse(readFileSync(manifest, "utf8")).version })
      }
      copiesOf(join(dir, "node_modules"), name, found)
    }
  }
  return found
}

/**
 * `subpaths.ts`: imports every module subpath of every package; at run time each subpath's values must be the root
 * namespace's (`import { Metrics } from "@ssra/evaluation"`), and an `internal/` path must be refused by Node.
 */
const subpathsSample = (packages) => {
  const lines = [
    "// Generated by tooling/release-smoke/release-smoke.mjs: every module subpath of every public package."
  ]
  const checks = []
  for (const p of packages) {
    const name = p.manifest.name
    const id = name.split("/")[1].replace(/\W/g, "_")
    const root = new Set(Object.keys(p.manifest.publishConfig?.exports ?? {}))
    lines.push(`import * as ${id} from "${name}"`)
    for (const m of modulesOf(p.dir)) {
      if (!root.has(`./${m}`)) continue
      lines.push(`import * as ${id}__${m} from "${name}/${m}"`)
      checks.push(`  ["${name}/${m}", ${id}__${m}, (${id} as Record<string, unknown>)["${m}"]],`)
    }
  }
  return [
    ...lines,
    "",
    "const subpaths: ReadonlyArray<readonly [string, object, unknown]> = [",
    ...checks,
    "]",
    "for (const [path, module, fromRoot] of subpaths) {",
    "  // a module the root does not re-export (e.g. @ssra/core/NodeVersion) only has to load",
    "  if (fromRoot === undefined) continue",
    "  const values = Object.entries(module)",
    "  const same = values.every(([key, value]) => (fromRoot as Record<string, unknown>)[key] === value)",
    "  if (!same || values.length !== Object.keys(fromRoot as object).length) {",
    '    throw new Error(path + " does not export the values of the root namespace")',
    "  }",
    "}",
    'const internal: string = "@ssra/llm/internal/transport.js"',
    "const refused = await import(internal).then(",
    "  () => undefined,",
    "  (error: { code?: string }) => error.code",
    ")",
    'if (refused !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw new Error(internal + " was not refused: " + refused)',
    'console.log("subpaths:", subpaths.length, "module subpaths load and match their namespaces; internal/ refused")',
    ""
  ].join("\n")
}

/** The packages among resolved specifiers (bare ones; `effect/Schema` → `effect`, `@a/b/c` → `@a/b`). */
const packagesIn = (specifiers) => [
  ...new Set(
    specifiers
      .filter((s) => !s.startsWith(".") && !s.startsWith("/") && !s.startsWith("node:") && !s.startsWith("file:"))
      .map((s) =>
        s
          .split("/")
          .slice(0, s.startsWith("@") ? 2 : 1)
          .join("/")
      )
  )
]

/** The bare specifiers node resolves while importing `specifier` alone (module.registerHooks, in a child process). */
const loadedBy = (project, specifier) => {
  const hooks = [
    'import { registerHooks } from "node:module"',
    "const seen = new Set()",
    "registerHooks({ resolve: (s, context, next) => (seen.add(s), next(s, context)) })",
    "await import(process.argv[1])",
    "console.log(JSON.stringify([...seen]))"
  ].join("\n")
  const r = run(process.execPath, ["--input-type=module", "-e", hooks, specifier], project)
  return r.ok ? JSON.parse(r.output.trim().split("\n").pop()) : new Error(r.output)
}

const consumerProject = (project, tarballs, version) => {
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "ssra-release-smoke", private: true, type: "module" }, null, 2)}\n`
  )
  writeFileSync(
    join(project, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2023",
          lib: ["ES2023"],
          types: ["node"],
          skipLibCheck: false,
          rootDir: "src",
          outDir: "dist"
        },
        include: ["src"]
      },
      null,
      2
    )}\n`
  )
  cpSync(join(here, "samples"), join(project, "src"), { recursive: true })
  const install = run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...tarballs,
      `effect@${version}`,
      `@effect/platform-node@${version}`,
      "@types/node@22"
    ],
    project
  )
  return check(
    `npm install of ${tarballs.length} tarballs + effect@${version}`,
    install.ok,
    install.ok ? "" : install.output
  )
}

const main = () => {
  const started = Date.now()
  const work = mkdtempSync(join(tmpdir(), "ssra-release-smoke-"))
  const tarballDir = join(work, "tarballs")
  const project = join(work, "project")
  mkdirSync(tarballDir)
  mkdirSync(project)
  try {
    const packages = publicPackages()
    const tarballs = packages.map((p) => packAndLint(p, tarballDir)).filter((t) => t !== null)
    const pin = catalogPin("effect")
    const version = effectVersion(pin)
    check(`effect ${version} differs from the workspace's ${pin}`, version !== pin)
    const samples = readdirSync(join(here, "samples")).filter((f) => f.endsWith(".ts"))
    const missing = packages.map((p) => p.manifest.name.split("/")[1]).filter((n) => !samples.includes(`${n}.ts`))
    check("a sample per public package", missing.length === 0, missing.length ? `missing: ${missing.join(", ")}` : "")
    if (consumerProject(project, tarballs, version)) {
      writeFileSync(join(project, "src", "subpaths.ts"), subpathsSample(packages))
      const tsc = run(bin("tsc"), ["-p", join(project, "tsconfig.json")], project)
      const errors = tsc.output.split("\n").filter((l) => /error TS\d+/.test(l))
      // effect's own .d.ts name DOM's `Transferable` (rpc): a lib: ["ES2023"] project sees those with skipLibCheck
      // off. They are effect's, not ours; every other error (ours, the samples') fails the check.
      const ours = errors.filter((l) => !l.startsWith("node_modules/effect/"))
      check(
        "samples type-check (strict, NodeNext, skipLibCheck off) and compile",
        ours.length === 0 && existsSync(join(project, "dist")),
        ours.length ? tsc.output : `${errors.length} error(s) inside effect's own .d.ts ignored`
      )
      for (const sample of [...samples, "subpaths.ts"]) {
        const js = join(project, "dist", sample.replace(/\.ts$/, ".js"))
        const r = run(process.execPath, [js], project)
        check(`node ${sample.replace(/\.ts$/, ".js")}`, r.ok, r.output)
      }
      const metrics = loadedBy(project, "@ssra/evaluation/Metrics")
      check(
        "@ssra/evaluation/Metrics loads no native addon",
        Array.isArray(metrics) && !metrics.some((s) => s.startsWith("@node-rs/") || s.startsWith("node-llama-cpp")),
        Array.isArray(metrics) ? `packages it loads: ${packagesIn(metrics).join(", ")}` : String(metrics)
      )
      const copies = copiesOf(join(project, "node_modules"), "effect")
      check(
        "one copy of effect",
        copies.length === 1 && copies[0].version === version,
        copies.map((c) => `${c.version} ${c.dir}`).join("\n")
      )
      const ls = run("npm", ["ls", "effect", "--all"], project)
      check("npm ls effect --all", ls.ok, ls.output)
    }
  } catch (error) {
    check("release smoke", false, String(error?.stack ?? error))
  } finally {
    if (process.argv.includes("--keep")) console.log(`kept ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
  const passed = results.filter(Boolean).length
  const failed = results.length - passed
  console.log(`release-smoke: ${passed} passed, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)`)
  if (process.env.SSRA_COUNTS_FILE) appendFileSync(process.env.SSRA_COUNTS_FILE, `release-smoke ${passed} ${failed}\n`)
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1
}

main()
