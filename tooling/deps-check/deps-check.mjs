#!/usr/bin/env node
// Dependency check: every workspace package declares exactly what its code imports.
//
//   node tooling/deps-check/deps-check.mjs [--root DIR] [--graph]
//
// Rules (README "Dependency check" in tooling/deps-check/README.md explains why):
// - Every bare specifier imported by `src/**` (static `import`/`export … from`, side-effect `import "x"`, dynamic
//   `import("x")`, `import type`, `typeof import("x")`; a `?raw` or other query suffix is dropped) must be in
//   `dependencies`, `peerDependencies` or `optionalDependencies`. Type-only imports count: tsc copies them into the
//   emitted `.d.ts` whenever the type reaches an exported signature, and a consumer's type-check then needs them.
// - Every `dependencies`/`peerDependencies`/`optionalDependencies` entry must be imported by `src/**` (unused = fail).
// - A non-optional peer must also be a devDependency (the workspace installs it; consumers bring their own).
// - Every bare specifier imported by the package's other code (test/, bench/, scripts/, *.config.ts) must be declared
//   in one of the package's fields or in the root package.json's devDependencies.
// Ignored: relative specifiers, Node builtins (`node:fs`, `fs`), the package's own name, and `declare module`.
// Exit status 1 with one line per problem naming package.json, field and what to do; 0 when clean.
// `--graph` prints the workspace graph (package -> @ssra/* imports of src/) as a Mermaid block instead.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const RUNTIME_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies"]
const CODE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/
const SKIP_DIRS = new Set(["node_modules", "dist", ".turbo", "coverage", "fixtures"])

/**
 * Removes comments and blanks every string and template literal except a module specifier (one right after `from`,
 * `import` or `import(`), so `"//"` or `"import('x')"` inside a string is never read as code.
 */
export const stripComments = (text) =>
  text.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (m, literal, offset, whole) => {
      if (literal === undefined) return m.startsWith("//") ? "" : m.replace(/[^\n]/g, " ")
      const specifier =
        literal[0] !== "`" &&
        /(?:\bfrom|\bimport|\bimport\s*\()\s*$/.test(whole.slice(Math.max(0, offset - 40), offset))
      return specifier ? m : m[0] + m.slice(1, -1).replace(/[^\n]/g, " ") + m[0]
    }
  )

/** The package name a specifier resolves to: `effect/Schema` -> `effect`, `@a/b/c?raw` -> `@a/b`; null when ignored. */
export const packageOf = (specifier) => {
  const spec = specifier.split("?")[0]
  if (spec === "" || spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("#")) return null
  if (spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0])) return null
  const parts = spec.split("/")
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

/** Every import in a source text: `{ specifier, typeOnly }`. */
export const importsOf = (source) => {
  const text = stripComments(source)
  const found = []
  const staticForm = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/g
  for (const m of text.matchAll(staticForm)) found.push({ specifier: m[3], typeOnly: Boolean(m[2]) })
  for (const m of text.matchAll(/(typeof\s+)?\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push({ specifier: m[2], typeOnly: Boolean(m[1]) })
  }
  return found
}

const walk = (dir, out = []) => {
  let entries
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries) {
    if (SKIP_DIRS.has(name) || name.startsWith(".")) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, out)
    else if (CODE.test(name)) out.push(path)
  }
  return out
}

/** Package names (with where they are used) imported by the given files. */
const usage = (files, self) => {
  const used = new Map()
  for (const file of files) {
    for (const { specifier, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
      const name = packageOf(specifier)
      if (name === null || name === self) continue
      const entry = used.get(name) ?? { files: new Set(), runtime: false }
      entry.files.add(file)
      entry.runtime ||= !typeOnly
      used.set(name, entry)
    }
  }
  return used
}

const globToRegExp = (glob) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`)

/** The workspace's package directories (pnpm-workspace.yaml `packages:` globs of the form `dir/*`). */
export const workspaceDirs = (root) => {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8")
  const block = yaml.split(/^packages:\s*$/m)[1]?.split(/^\S/m)[0] ?? ""
  const globs = [...block.matchAll(/^\s+-\s+["']?([^"'\s]+)["']?/gm)].map((m) => m[1])
  const dirs = []
  for (const glob of globs) {
    const [parent, pattern] = [glob.split("/").slice(0, -1).join("/"), glob.split("/").pop()]
    const re = globToRegExp(pattern)
    let names = []
    try {
      names = readdirSync(join(root, parent))
    } catch {}
    for (const name of names.sort()) {
      const dir = join(root, parent, name)
      if (re.test(name) && statSync(dir).isDirectory()) {
        try {
          statSync(join(dir, "package.json"))
          dirs.push(dir)
        } catch {}
      }
    }
  }
  return dirs
}

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"))

/** Problems of one package directory, each a line naming the manifest, the field and the fix. */
export const checkPackage = (dir, rootDevDependencies = {}) => {
  const manifestPath = join(dir, "package.json")
  const pkg = readJson(manifestPath)
  const problems = []
  const declared = (field) => Object.keys(pkg[field] ?? {})
  const runtimeDeclared = new Set(RUNTIME_FIELDS.flatMap(declared))
  const allDeclared = new Set([...runtimeDeclared, ...declared("devDependencies")])
  const srcFiles = walk(join(dir, "src"))
  const srcSet = new Set(srcFiles)
  const otherFiles = walk(dir).filter((f) => !srcSet.has(f))
  const src = usage(srcFiles, pkg.name)
  const other = usage(otherFiles, pkg.name)
  const where = (entry) => relative(dir, [...entry.files][0])
  for (const [name, entry] of src) {
    if (runtimeDeclared.has(name)) continue
    const inDev = declared("devDependencies").includes(name)
    problems.push(
      `${manifestPath}: "${name}" is imported by ${where(entry)}${entry.runtime ? "" : " (type-only)"} but is ` +
        `${inDev ? "only a devDependency" : "not declared"}: add it to "dependencies" (or "peerDependencies" for effect and @effect/*)`
    )
  }
  for (const field of RUNTIME_FIELDS) {
    for (const name of declared(field)) {
      if (!src.has(name)) {
        problems.push(`${manifestPath}: ${field} "${name}" is never imported by src/: remove it from "${field}"`)
      }
    }
  }
  const optionalPeers = pkg.peerDependenciesMeta ?? {}
  for (const name of declared("peerDependencies")) {
    if (!optionalPeers[name]?.optional && !declared("devDependencies").includes(name)) {
      problems.push(
        `${manifestPath}: peerDependencies "${name}" is not also a devDependency: add it to "devDependencies" ("catalog:") so the workspace installs it`
      )
    }
  }
  for (const [name, entry] of other) {
    if (allDeclared.has(name) || name in rootDevDependencies) continue
    problems.push(
      `${manifestPath}: "${name}" is imported by ${where(entry)} but is not declared: add it to "devDependencies"`
    )
  }
  return { name: pkg.name, private: pkg.private === true, src, problems }
}

/** Checks every workspace package under `root`; returns `{ packages, problems }`. */
export const checkWorkspace = (root) => {
  const rootDev = readJson(join(root, "package.json")).devDependencies ?? {}
  const packages = workspaceDirs(root).map((dir) => ({ dir, ...checkPackage(dir, rootDev) }))
  return { packages, problems: packages.flatMap((p) => p.problems) }
}

/** A Mermaid graph of the `@ssra/*` imports of every package's `src/` (the real dependency drawing). */
export const mermaidGraph = (packages, scope = "@ssra/") => {
  const names = new Set(packages.map((p) => p.name))
  const id = (name) => name.replace(scope, "").replace(/[^\w]/g, "_")
  const drawn = packages.filter((p) => p.src.size > 0)
  const lines = ["graph BT", ...drawn.map((p) => `  ${id(p.name)}["${p.name}"]`)]
  for (const p of drawn) {
    for (const t of [...p.src.keys()].filter((n) => names.has(n)).sort()) lines.push(`  ${id(p.name)} --> ${id(t)}`)
  }
  return lines.join("\n")
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const rootIndex = args.indexOf("--root")
  const root = rootIndex >= 0 ? args[rootIndex + 1] : join(fileURLToPath(import.meta.url), "..", "..", "..")
  const { packages, problems } = checkWorkspace(root)
  if (args.includes("--graph")) {
    console.log(mermaidGraph(packages))
  } else {
    for (const line of problems) console.error(line)
    console.log(`deps-check: ${packages.length} packages, ${problems.length} problem(s)`)
    process.exitCode = problems.length === 0 ? 0 : 1
  }
}
