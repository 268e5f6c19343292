import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
// @ts-expect-error -- plain ESM script without declarations
import { checkPackage as checkExports } from "../../exports/exports.mjs"
// @ts-expect-error -- plain ESM script without declarations
import { checkPackage } from "../deps-check.mjs"

const repo = fileURLToPath(new URL("../../..", import.meta.url))
const work = mkdtempSync(join(tmpdir(), "new-package-"))
const bin = (name: string) => join(repo, "node_modules", ".bin", name)
const sh = (command: string, args: Array<string>, cwd: string) => {
  const r = spawnSync(command, args, { cwd, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`)
  return r.stdout
}

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe("tooling/new-package.mjs", () => {
  // A copy of the workspace's root files (no packages), with the repo's node_modules for the build tools.
  for (const file of ["package.json", "pnpm-workspace.yaml", "LICENSE", ".changeset/config.json"]) {
    cpSync(join(repo, file), join(work, file), { recursive: true })
  }
  symlinkSync(join(repo, "node_modules"), join(work, "node_modules"), "dir")
  mkdirSync(join(work, "packages", "core"), { recursive: true })
  writeFileSync(
    join(work, "packages", "core", "package.json"),
    JSON.stringify({ name: "@ssra/core", version: "9.8.7" })
  )
  const dir = join(work, "packages", "widget")

  it("generates a library package like the real ones, that passes the dependency check", () => {
    sh(process.execPath, [join(repo, "tooling", "new-package.mjs"), "packages/widget", "Widgets", "--root", work], repo)
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    expect(pkg).toMatchObject({
      name: "@ssra/widget",
      version: "9.8.7",
      engines: { node: ">=22.19" },
      files: ["dist", "README.md", "src", "LICENSE"],
      peerDependencies: { effect: "^4.1.0" },
      devDependencies: { effect: "catalog:" },
      publishConfig: { exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } } }
    })
    expect(readdirSync(dir).sort()).toEqual(
      [
        "LICENSE",
        "README.md",
        "package.json",
        "src",
        "test",
        "tsconfig.build.json",
        "tsconfig.json",
        "tsup.config.ts",
        "vitest.config.ts"
      ].sort()
    )
    expect(JSON.parse(readFileSync(join(work, ".changeset", "config.json"), "utf8")).fixed[0]).toContain("@ssra/widget")
    const rootDev = JSON.parse(readFileSync(join(work, "package.json"), "utf8")).devDependencies
    expect(checkPackage(dir, rootDev).problems).toEqual([])
    // "." and the scaffold's module as a subpath, exactly as tooling/exports writes them
    expect(Object.keys(pkg.exports)).toEqual([".", "./Greeting", "./internal/*", "./package.json"])
    expect(checkExports(dir).problems).toEqual([])
  })

  it("builds, packs and passes publint --strict", () => {
    // what `pnpm install` would link: effect and the workspace's tooling presets
    mkdirSync(join(dir, "node_modules", "@ssra"), { recursive: true })
    symlinkSync(join(repo, "packages", "core", "node_modules", "effect"), join(dir, "node_modules", "effect"), "dir")
    for (const tool of ["tsconfig", "tsup", "vitest"]) {
      symlinkSync(join(repo, "tooling", tool), join(dir, "node_modules", "@ssra", `tooling-${tool}`), "dir")
    }
    sh(bin("tsup"), [], dir)
    sh(bin("tsc"), ["-p", "tsconfig.build.json"], dir)
    const out = join(work, "tarballs")
    sh("pnpm", ["pack", "--pack-destination", out], dir)
    const [tarball] = readdirSync(out)
    expect(tarball).toBe("ssra-widget-9.8.7.tgz")
    sh("tar", ["xzf", join(out, tarball!), "-C", out], out)
    // one entry per module, the subpaths' targets (code they share goes to chunks)
    expect(readdirSync(join(out, "package", "dist"))).toEqual(expect.arrayContaining(["Greeting.js", "index.js"]))
    const packed = JSON.parse(readFileSync(join(out, "package", "package.json"), "utf8"))
    expect(packed.devDependencies.effect).toMatch(/^\d+\.\d+\.\d+$/) // catalog: resolved by pnpm pack
    expect(sh(bin("publint"), ["run", join(out, "package"), "--pack", "false", "--strict"], repo)).toContain("All good")
  })
})
