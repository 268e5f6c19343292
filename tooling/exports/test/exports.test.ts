import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
// @ts-expect-error -- plain ESM script without declarations
import { checkWorkspace, exportsFor, modulesOf } from "../exports.mjs"

const script = fileURLToPath(new URL("../exports.mjs", import.meta.url))
const repoRoot = join(dirname(script), "..", "..")
const roots: Array<string> = []

type Files = Record<string, string | object>
/** A temp workspace: root package.json + pnpm-workspace.yaml + the given files (objects are written as JSON). */
const fixture = (files: Files): string => {
  const root = mkdtempSync(join(tmpdir(), "exports-"))
  roots.push(root)
  const all: Files = {
    "package.json": { name: "root", private: true },
    "pnpm-workspace.yaml": "packages:\n  - packages/*\n",
    ...files
  }
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`)
  }
  return root
}

const run = (root: string, ...args: Array<string>) => {
  const r = spawnSync(process.execPath, [script, "--root", root, ...args], { encoding: "utf8" })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

describe("per-module subpath exports (tooling/exports/exports.mjs)", () => {
  it("passes on this repository: every public package exports each src/*.ts module, in the workspace and on npm", () => {
    const { packages, problems } = checkWorkspace(repoRoot)
    expect(problems).toEqual([])
    const evaluation = packages.find((p: { name: string }) => p.name === "@ssra/evaluation")
    const manifest = JSON.parse(readFileSync(join(repoRoot, "packages", "evaluation", "package.json"), "utf8"))
    expect(evaluation.modules).toContain("Metrics")
    expect(manifest.exports["./Metrics"]).toEqual({
      "@ssra/source": "./src/Metrics.ts",
      types: "./dist/Metrics.d.ts",
      default: "./dist/Metrics.js"
    })
    expect(manifest.publishConfig.exports["./Metrics"]).toEqual({
      types: "./dist/Metrics.d.ts",
      default: "./dist/Metrics.js"
    })
    expect(manifest.exports["./internal/*"]).toBeNull()
    expect(manifest.publishConfig.exports["./internal/*"]).toBeNull()
    // private packages (apps, tooling) are not published and keep their own exports
    expect(packages.map((p: { name: string }) => p.name)).not.toContain("@ssra/test-support")
  })

  it("modules: top-level src/*.ts but index.ts; src/internal is private", () => {
    const root = fixture({
      "packages/a/package.json": { name: "@x/a" },
      "packages/a/src/index.ts": "",
      "packages/a/src/Zeta.ts": "",
      "packages/a/src/Alpha.ts": "",
      "packages/a/src/internal/helper.ts": "",
      "packages/a/src/notes.md": ""
    })
    expect(modulesOf(join(root, "packages", "a"))).toEqual(["Alpha", "Zeta"])
    expect(Object.keys(exportsFor(["Alpha", "Zeta"], false))).toEqual([
      ".",
      "./Alpha",
      "./Zeta",
      "./internal/*",
      "./package.json"
    ])
  })

  it("fails on a package added later or a module added to one, names what is missing, and --write fixes both", () => {
    const root = fixture({
      // a new package, scaffolded with "." only (like a package another branch adds)
      "packages/text/package.json": {
        name: "@x/text",
        version: "0.1.0",
        sideEffects: false,
        exports: { ".": { "@ssra/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" } },
        publishConfig: {
          access: "public",
          exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } }
        },
        peerDependencies: { effect: "^4.1.0" }
      },
      "packages/text/src/index.ts": 'export * as Tokenize from "./Tokenize.js"\n',
      "packages/text/src/Tokenize.ts": "export const x = 1\n",
      // a private package is left alone
      "packages/tool/package.json": { name: "@x/tool", private: true, exports: { ".": "./src/index.ts" } },
      "packages/tool/src/Extra.ts": ""
    })
    const before = run(root)
    expect(before.status).toBe(1)
    expect(before.output).toContain('packages/text/package.json: "exports" missing ./Tokenize, ./internal/*')
    expect(before.output).toContain('"publishConfig"."exports" missing ./Tokenize')
    expect(before.output).toContain("node tooling/exports/exports.mjs --write")
    expect(before.output).not.toContain("packages/tool")

    const written = run(root, "--write")
    expect(written.status).toBe(0)
    expect(written.output).toContain("rewrote the exports of packages/text/package.json")
    const pkg = JSON.parse(readFileSync(join(root, "packages", "text", "package.json"), "utf8"))
    expect(pkg.exports["./Tokenize"]).toEqual({
      "@ssra/source": "./src/Tokenize.ts",
      types: "./dist/Tokenize.d.ts",
      default: "./dist/Tokenize.js"
    })
    expect(pkg.publishConfig).toEqual({ access: "public", exports: exportsFor(["Tokenize"], false) })
    // every other field is kept, in its order
    expect(Object.keys(pkg)).toEqual(["name", "version", "sideEffects", "exports", "publishConfig", "peerDependencies"])
    expect(run(root).status).toBe(0)

    // then a module is added: drift again, named
    writeFileSync(join(root, "packages", "text", "src", "Segment.ts"), "export const y = 2\n")
    const drift = run(root)
    expect(drift.status).toBe(1)
    expect(drift.output).toContain('"exports" missing ./Segment')
    // and a module removed: its subpath has nothing behind it
    rmSync(join(root, "packages", "text", "src", "Tokenize.ts"))
    expect(run(root).output).toContain("no module behind ./Tokenize")
    expect(run(root, "--write").status).toBe(0)
    expect(
      Object.keys(JSON.parse(readFileSync(join(root, "packages", "text", "package.json"), "utf8")).exports)
    ).toEqual([".", "./Segment", "./internal/*", "./package.json"])
  })

  it("fails when sideEffects is not false or a tsup config overrides the per-module entries", () => {
    const modules = ["Only"]
    const root = fixture({
      "packages/a/package.json": {
        name: "@x/a",
        exports: exportsFor(modules, true),
        publishConfig: { exports: exportsFor(modules, false) }
      },
      "packages/a/src/Only.ts": "",
      "packages/a/tsup.config.ts": 'export default defineConfig(preset({ entry: ["src/index.ts"] }))\n'
    })
    const { problems } = checkWorkspace(root)
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('"sideEffects" must be false')
    expect(problems[1]).toContain('tsup.config.ts: overrides "entry"')
  })
})
