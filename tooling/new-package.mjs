// Creates a workspace package with the shared presets: `node tooling/new-package.mjs packages/foo "what it is for" [--app] [deps...]`.
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const [dir, description, ...rest] = process.argv.slice(2)
const app = rest.includes("--app")
const deps = rest.filter((d) => d !== "--app")
const short = dir.split("/").pop()
const name = app ? `@ssra/app-${short}` : `@ssra/${short}`
if (existsSync(join(dir, "package.json"))) throw new Error(`${dir} exists`)
mkdirSync(join(dir, "src"), { recursive: true })
mkdirSync(join(dir, "test"), { recursive: true })
const dependencies = Object.fromEntries(deps.map((d) => [d, d.startsWith("@ssra/") ? "workspace:^" : "catalog:"]))
const pkg = {
  name,
  version: "0.1.0",
  description,
  type: "module",
  license: "Apache-2.0",
  ...(app ? { private: true } : {}),
  sideEffects: false,
  exports: {
    ".": { "@ssra/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
    "./package.json": "./package.json"
  },
  files: ["dist", "README.md"],
  ...(app
    ? {}
    : {
        publishConfig: {
          access: "public",
          exports: {
            ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
            "./package.json": "./package.json"
          }
        }
      }),
  scripts: {
    build: "tsup && tsc -p tsconfig.build.json",
    typecheck: "tsc --noEmit -p tsconfig.json"
  },
  dependencies,
  devDependencies: {
    "@ssra/tooling-tsconfig": "workspace:*",
    "@ssra/tooling-tsup": "workspace:*",
    "@ssra/tooling-vitest": "workspace:*"
  }
}
writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n")
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify(
    { extends: "@ssra/tooling-tsconfig/base.json", compilerOptions: { rootDir: "." }, include: ["src", "test"] },
    null,
    2
  ) + "\n"
)
writeFileSync(
  join(dir, "tsconfig.build.json"),
  JSON.stringify(
    {
      extends: "./tsconfig.json",
      compilerOptions: { rootDir: "src", outDir: "dist", emitDeclarationOnly: true, noEmit: false },
      include: ["src"]
    },
    null,
    2
  ) + "\n"
)
writeFileSync(
  join(dir, "tsup.config.ts"),
  `import { preset } from "@ssra/tooling-tsup"\nimport { defineConfig } from "tsup"\n\nexport default defineConfig(preset())\n`
)
writeFileSync(
  join(dir, "vitest.config.ts"),
  `import { preset } from "@ssra/tooling-vitest"\nimport { defineConfig } from "vitest/config"\n\nexport default defineConfig(preset("${short}"))\n`
)
console.log(`created ${name} in ${dir}`)
