#!/usr/bin/env node
// Subpath exports: every public package (`packages/*`, not private) exports each top-level module of its `src/` as
// its own subpath, so a team imports one module (and what it needs) instead of the whole package:
//
//   import * as Metrics from "@ssra/evaluation/Metrics"     // = import { Metrics } from "@ssra/evaluation"
//
//   node tooling/exports/exports.mjs [--root DIR]           # check: exit 1, one line per package.json that drifted
//   node tooling/exports/exports.mjs [--root DIR] --write   # rewrite the drifted "exports" blocks
//
// For `src/Foo.ts` (any top-level `src/*.ts` but index.ts; `src/internal/**` is private):
// - "exports"["./Foo"] = { "@ssra/source": "./src/Foo.ts", types: "./dist/Foo.d.ts", default: "./dist/Foo.js" }
//   (the workspace resolves the TypeScript source, like ".");
// - "publishConfig"."exports"["./Foo"] = the same without "@ssra/source" (what pnpm pack / changeset publish ship);
// - "./internal/*": null in both (Node refuses `@ssra/x/internal/...`), "./package.json" kept.
// The dist files come from tsup: the shared preset (tooling/tsup) builds one entry per top-level `src/*.ts`, with
// code splitting so two subpaths share one copy of each class and service; a package's tsup.config.ts must not
// override `entry`. A package added later (or a module added to one) gets its exports by rerunning with --write;
// tooling/exports/test/exports.test.ts fails until then. Only the two "exports" blocks are ever rewritten.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { workspaceDirs } from "../deps-check/deps-check.mjs"

const MODULE = /^[A-Za-z][A-Za-z0-9]*\.ts$/

/** The public modules of a package: top-level `src/*.ts` other than index.ts, sorted. */
export const modulesOf = (dir) =>
  existsSync(join(dir, "src"))
    ? readdirSync(join(dir, "src"))
        .filter((f) => MODULE.test(f) && f !== "index.ts")
        .map((f) => f.slice(0, -".ts".length))
        .sort()
    : []

const entry = (file, source) => ({
  ...(source ? { "@ssra/source": `./src/${file}.ts` } : {}),
  types: `./dist/${file}.d.ts`,
  default: `./dist/${file}.js`
})

/**
 * The "exports" map of a package with these modules: "." (index), one subpath per module, "./internal/*" blocked,
 * "./package.json". `source`: with the workspace's "@ssra/source" condition (false for `publishConfig.exports`).
 */
export const exportsFor = (modules, source) => ({
  ".": entry("index", source),
  ...Object.fromEntries(modules.map((m) => [`./${m}`, entry(m, source)])),
  "./internal/*": null,
  "./package.json": "./package.json"
})

/** The manifest with both "exports" blocks as `modules` want them (every other field and its order kept). */
export const withExports = (manifest, modules) => ({
  ...manifest,
  exports: exportsFor(modules, true),
  publishConfig: { ...manifest.publishConfig, exports: exportsFor(modules, false) }
})

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"))
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)

/** Problems of one package directory, each a line naming the file, what is off and the fix. */
export const checkPackage = (dir) => {
  const file = join(dir, "package.json")
  const manifest = readJson(file)
  const modules = modulesOf(dir)
  const want = withExports(manifest, modules)
  const problems = []
  const fix = "run node tooling/exports/exports.mjs --write"
  for (const [label, have, expected] of [
    ['"exports"', manifest.exports, want.exports],
    ['"publishConfig"."exports"', manifest.publishConfig?.exports, want.publishConfig.exports]
  ]) {
    if (same(have, expected)) continue
    const haveKeys = Object.keys(have ?? {})
    const wantKeys = Object.keys(expected)
    const missing = wantKeys.filter((k) => !haveKeys.includes(k))
    const extra = haveKeys.filter((k) => !wantKeys.includes(k))
    const detail = [
      missing.length > 0 ? `missing ${missing.join(", ")}` : "",
      extra.length > 0 ? `no module behind ${extra.join(", ")}` : "",
      missing.length === 0 && extra.length === 0 ? "entries differ from the src/ modules' (order or targets)" : ""
    ]
      .filter((s) => s !== "")
      .join("; ")
    problems.push(`${file}: ${label} ${detail}: ${fix}`)
  }
  if (manifest.sideEffects !== false) {
    problems.push(`${file}: "sideEffects" must be false (every module is side-effect free): set it`)
  }
  const tsup = join(dir, "tsup.config.ts")
  if (existsSync(tsup) && /\bentry\s*:/.test(readFileSync(tsup, "utf8"))) {
    problems.push(
      `${tsup}: overrides "entry": remove it, the @ssra/tooling-tsup preset builds one entry per src/*.ts (the subpaths)`
    )
  }
  return { name: manifest.name, file, modules, want, problems }
}

/** The public packages under `root` (workspace packages whose package.json is not private). */
export const publicPackageDirs = (root) =>
  workspaceDirs(root).filter((dir) => readJson(join(dir, "package.json")).private !== true)

/** Checks every public package under `root`; returns `{ packages, problems }`. */
export const checkWorkspace = (root) => {
  const packages = publicPackageDirs(root).map((dir) => ({ dir, ...checkPackage(dir) }))
  return { packages, problems: packages.flatMap((p) => p.problems) }
}

/** Rewrites the "exports" blocks of every drifted public package under `root`; returns the files written. */
export const writeWorkspace = (root) => {
  const written = []
  for (const p of checkWorkspace(root).packages) {
    if (same(readJson(p.file), p.want)) continue
    writeFileSync(p.file, `${JSON.stringify(p.want, null, 2)}\n`)
    written.push(p.file)
  }
  return written
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const rootAt = args.indexOf("--root")
  const root = rootAt >= 0 ? args[rootAt + 1] : join(fileURLToPath(import.meta.url), "..", "..", "..")
  if (args.includes("--write")) {
    for (const file of writeWorkspace(root)) console.log(`rewrote the exports of ${relative(root, file)}`)
  }
  const { packages, problems } = checkWorkspace(root)
  for (const line of problems) console.error(line)
  const subpaths = packages.reduce((n, p) => n + p.modules.length, 0)
  console.log(`exports: ${packages.length} public packages, ${subpaths} module subpaths, ${problems.length} problem(s)`)
  process.exitCode = problems.length === 0 ? 0 : 1
}
