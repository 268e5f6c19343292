import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
// @ts-expect-error -- plain ESM script without declarations
import { checkWorkspace, importsOf, mermaidGraph, packageOf } from "../deps-check.mjs"

const script = fileURLToPath(new URL("../deps-check.mjs", import.meta.url))
const repoRoot = join(dirname(script), "..", "..")
const roots: Array<string> = []

type Files = Record<string, string | object>
/** A temp workspace: root package.json + pnpm-workspace.yaml + the given files (objects are written as JSON). */
const fixture = (files: Files): string => {
  const root = mkdtempSync(join(tmpdir(), "deps-check-"))
  roots.push(root)
  const all: Files = {
    "package.json": { name: "root", private: true, devDependencies: { vitest: "1.0.0" } },
    "pnpm-workspace.yaml": "packages:\n  - packages/*\n",
    ...files
  }
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), typeof content === "string" ? content : JSON.stringify(content))
  }
  return root
}

const cleanPackage: Files = {
  "packages/a/package.json": {
    name: "@x/a",
    dependencies: { lib: "1.0.0", "@scope/kit": "1.0.0" },
    peerDependencies: { effect: "^4.1.0", optionalThing: "^1.0.0" },
    peerDependenciesMeta: { optionalThing: { optional: true } },
    devDependencies: { effect: "4.1.0", helper: "1.0.0" }
  },
  "packages/a/src/index.ts": [
    `import * as Schema from "effect/Schema"`,
    `import { readFileSync } from "node:fs"`,
    `import path from "path"`,
    `import type {`,
    `  Kit`,
    `} from "@scope/kit/sub"`,
    `import text from "./file.py?raw"`,
    `export * from "./other.js"`,
    `export { self } from "@x/a"`,
    `// import "commented-out"`,
    `/* import "block-commented" */`,
    `const s = "import('in-a-string')"`,
    `export const load = () => import("lib")`,
    `export type T = typeof import("optionalThing")`
  ].join("\n"),
  "packages/a/test/a.test.ts": `import { it } from "vitest"\nimport { h } from "helper"\n`
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

describe("importsOf / packageOf", () => {
  it("finds static, side-effect, re-export, dynamic and type-only imports, and skips comments", () => {
    const found = importsOf(
      `import a from "a"\nimport "b"\nexport { c } from "c/sub"\nimport type { D } from "@d/d"\n// import "e"\nconst f = await import("f")\ntype G = typeof import("g")`
    )
    expect(found).toEqual([
      { specifier: "a", typeOnly: false },
      { specifier: "b", typeOnly: false },
      { specifier: "c/sub", typeOnly: false },
      { specifier: "@d/d", typeOnly: true },
      { specifier: "f", typeOnly: false },
      { specifier: "g", typeOnly: true }
    ])
  })

  it("maps specifiers to package names and ignores builtins, relative paths and ?raw files", () => {
    expect(packageOf("effect/Schema")).toBe("effect")
    expect(packageOf("@effect/platform-node/NodeRuntime")).toBe("@effect/platform-node")
    expect(packageOf("@a/b/c.py?raw")).toBe("@a/b")
    expect(packageOf("node:fs")).toBeNull()
    expect(packageOf("fs/promises")).toBeNull()
    expect(packageOf("./kit.py?raw")).toBeNull()
  })
})

describe("checkWorkspace", () => {
  it("passes a package whose manifest matches its imports", () => {
    const { packages, problems } = checkWorkspace(fixture(cleanPackage))
    expect(problems).toEqual([])
    expect(packages.map((p: { name: string }) => p.name)).toEqual(["@x/a"])
  })

  it("fails on an unused dependency, naming the manifest and field", () => {
    const root = fixture({
      ...cleanPackage,
      "packages/a/package.json": {
        ...(cleanPackage["packages/a/package.json"] as object),
        dependencies: { lib: "1.0.0", "@scope/kit": "1.0.0", unused: "1.0.0" }
      }
    })
    const { problems } = checkWorkspace(root)
    expect(problems).toEqual([
      `${join(root, "packages/a/package.json")}: dependencies "unused" is never imported by src/: remove it from "dependencies"`
    ])
  })

  it("fails on an undeclared import, and on a type-only import declared only as a devDependency", () => {
    const root = fixture({
      ...cleanPackage,
      "packages/a/src/extra.ts": `import { x } from "undeclared"\nimport type { H } from "helper"\n`
    })
    const { problems } = checkWorkspace(root)
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain(`"undeclared" is imported by src/extra.ts but is not declared`)
    expect(problems[1]).toContain(`"helper" is imported by src/extra.ts (type-only) but is only a devDependency`)
  })

  it("fails on a peer that the workspace does not install, and on an undeclared test import", () => {
    const root = fixture({
      ...cleanPackage,
      "packages/a/package.json": {
        ...(cleanPackage["packages/a/package.json"] as object),
        devDependencies: { helper: "1.0.0" }
      },
      "packages/a/test/b.test.ts": `import { y } from "not-a-dev-dep"\n`
    })
    const { problems } = checkWorkspace(root)
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain(`peerDependencies "effect" is not also a devDependency`)
    expect(problems[1]).toContain(`"not-a-dev-dep" is imported by test/b.test.ts but is not declared`)
  })

  it("exits 1 from the command line on a broken package and 0 on a clean one", () => {
    const broken = fixture({ ...cleanPackage, "packages/a/src/extra.ts": `import "undeclared"\n` })
    const bad = spawnSync(process.execPath, [script, "--root", broken], { encoding: "utf8" })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain(`"undeclared" is imported by src/extra.ts`)
    const good = spawnSync(process.execPath, [script, "--root", fixture(cleanPackage)], { encoding: "utf8" })
    expect(good.status).toBe(0)
    expect(good.stdout).toContain("deps-check: 1 packages, 0 problem(s)")
  })

  it("draws the graph of workspace imports", () => {
    const root = fixture({
      ...cleanPackage,
      "packages/b/package.json": { name: "@x/b", dependencies: { "@x/a": "workspace:^" } },
      "packages/b/src/index.ts": `export * from "@x/a"\n`
    })
    expect(mermaidGraph(checkWorkspace(root).packages, "@x/")).toBe(
      ["graph BT", `  a["@x/a"]`, `  b["@x/b"]`, "  b --> a"].join("\n")
    )
  })

  it("passes on this repository", () => {
    expect(checkWorkspace(repoRoot).problems).toEqual([])
  })
})
