// Creates a workspace package shaped like the real ones:
//
//   node tooling/new-package.mjs packages/foo "what it is for" [--app] [--root DIR] [deps...]
//
// Library (packages/*): public, version of the changesets `fixed` group (read from packages/core), `effect` as a
// peer (`^4.1.0`) and devDependency (`catalog:`), `@ssra/*` deps as `workspace:^`, others as `catalog:`; the
// `@ssra/source` export condition for the workspace and `publishConfig.exports` for the tarball, "." and a subpath
// per module (tooling/exports; `"./internal/*": null`); LICENSE, README, tsconfig(.build).json, tsup and vitest
// configs, src/index.ts and a first test. The name joins the `fixed` group in .changeset/config.json.
// `--app`: private, `@ssra/app-<name>`, `effect` as a plain dependency.
// Every dependency you pass must end up imported by src/ — tooling/deps-check fails on unused ones.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { exportsFor as subpathExports } from "./exports/exports.mjs"

const args = process.argv.slice(2)
const rootAt = args.indexOf("--root")
const root = rootAt >= 0 ? args[rootAt + 1] : join(dirname(fileURLToPath(import.meta.url)), "..")
const positional = args.filter((a, i) => a !== "--app" && a !== "--root" && (rootAt < 0 || i !== rootAt + 1))
const [relDir, description, ...deps] = positional
if (relDir === undefined || description === undefined) {
  throw new Error('usage: node tooling/new-package.mjs packages/foo "what it is for" [--app] [--root DIR] [deps...]')
}
const app = args.includes("--app")
const dir = join(root, relDir)
const short = relDir.split("/").pop()
const name = app ? `@ssra/app-${short}` : `@ssra/${short}`
if (existsSync(join(dir, "package.json"))) throw new Error(`${dir}/package.json exists: pick another name`)
const json = (value) => `${JSON.stringify(value, null, 2)}\n`
const write = (file, text) => {
  mkdirSync(dirname(join(dir, file)), { recursive: true })
  writeFileSync(join(dir, file), text)
}

const groupVersion = () => {
  const core = join(root, "packages", "core", "package.json")
  return existsSync(core) ? JSON.parse(readFileSync(core, "utf8")).version : "0.1.0"
}
const range = (dep) => (dep.startsWith("@ssra/") ? "workspace:^" : "catalog:")
// a library: "." and one subpath per module (the scaffold's one module, Greeting), as tooling/exports writes them
// (after adding modules, rerun `node tooling/exports/exports.mjs --write`); an app: "." only
const exportsFor = (source) =>
  app
    ? {
        ".": { "@ssra/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./package.json": "./package.json"
      }
    : subpathExports(["Greeting"], source)
const tooling = {
  "@ssra/tooling-tsconfig": "workspace:*",
  "@ssra/tooling-tsup": "workspace:*",
  "@ssra/tooling-vitest": "workspace:*"
}
const dependencies = Object.fromEntries(deps.filter((d) => d !== "effect").map((d) => [d, range(d)]))

const pkg = {
  name,
  version: groupVersion(),
  description,
  type: "module",
  license: "Apache-2.0",
  engines: { node: ">=22.19" },
  ...(app ? { private: true } : {}),
  sideEffects: false,
  exports: exportsFor(true),
  files: app ? ["dist", "README.md"] : ["dist", "README.md", "src", "LICENSE"],
  ...(app ? {} : { publishConfig: { access: "public", exports: exportsFor(false) } }),
  scripts: { build: "tsup && tsc -p tsconfig.build.json", typecheck: "tsc --noEmit -p tsconfig.json" },
  ...(app
    ? { dependencies: { ...dependencies, effect: "catalog:" }, devDependencies: tooling }
    : {
        ...(Object.keys(dependencies).length > 0 ? { dependencies } : {}),
        peerDependencies: { effect: "^4.1.0" },
        devDependencies: { ...tooling, effect: "catalog:" }
      })
}

write("package.json", json(pkg))
write(
  "tsconfig.json",
  json({ extends: "@ssra/tooling-tsconfig/base.json", compilerOptions: { rootDir: "." }, include: ["src", "test"] })
)
write(
  "tsconfig.build.json",
  json({
    extends: "./tsconfig.json",
    compilerOptions: { rootDir: "src", outDir: "dist", emitDeclarationOnly: true, noEmit: false },
    include: ["src"]
  })
)
write(
  "tsup.config.ts",
  `import { preset } from "@ssra/tooling-tsup"\nimport { defineConfig } from "tsup"\n\nexport default defineConfig(preset())\n`
)
write(
  "vitest.config.ts",
  `import { preset } from "@ssra/tooling-vitest"\nimport { defineConfig } from "vitest/config"\n\nexport default defineConfig(preset("${short}"))\n`
)
write(
  "src/index.ts",
  `/**\n * ${description}\n *\n * @since ${pkg.version}\n */\nexport * as Greeting from "./Greeting.js"\n`
)
write(
  "src/Greeting.ts",
  [
    `import { Effect } from "effect"`,
    ``,
    `/**`,
    ` * Replace with the package's first module; the scaffold's tests and README show the expected shape.`,
    ` *`,
    ` * @since ${pkg.version}`,
    ` */`,
    `export const greet = (who: string): Effect.Effect<string> => Effect.succeed(\`hello, \${who}\`)`,
    ``
  ].join("\n")
)
write(
  "test/Greeting.test.ts",
  [
    `import { Greeting } from "${name}"`,
    `import { Effect } from "effect"`,
    `import { expect, it } from "vitest"`,
    ``,
    `it("greets", async () => {`,
    `  expect(await Effect.runPromise(Greeting.greet("ssra"))).toBe("hello, ssra")`,
    `})`,
    ``
  ].join("\n")
)
write(
  "README.md",
  [
    `# ${name}`,
    ``,
    description,
    ``,
    "```ts",
    `import { Greeting } from "${name}"`,
    `import { Effect } from "effect"`,
    ``,
    `Effect.runPromise(Greeting.greet("ssra")).then(console.log)`,
    "```",
    ``,
    ...(app ? [] : [`Install: \`npm install ${name} effect@^4.1\` (\`effect\` is a peer dependency).`, ``])
  ].join("\n")
)
if (existsSync(join(root, "LICENSE"))) copyFileSync(join(root, "LICENSE"), join(dir, "LICENSE"))

const changesetConfig = join(root, ".changeset", "config.json")
if (existsSync(changesetConfig)) {
  const config = JSON.parse(readFileSync(changesetConfig, "utf8"))
  if (Array.isArray(config.fixed?.[0]) && !config.fixed[0].includes(name)) {
    config.fixed[0].push(name)
    writeFileSync(changesetConfig, json(config))
  }
}
console.log(`created ${name} in ${dir}; run pnpm install, then node tooling/deps-check/deps-check.mjs`)
