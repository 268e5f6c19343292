// Shared tsup preset: ESM for Node 22, sourcemaps, no declarations (TS 7's tsc emits those; see STACK).
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * `import text from "./file.py?raw"` (Vite's spelling, which vitest understands natively): the file's text as the
 * module's default export, inlined into the bundle, so `dist/` carries it and never reads the source at run time.
 * The path is resolved relative to the importing file. The module is named by its path relative to the package
 * (not the absolute one), so a bundle's comments and source map do not depend on where the repo was checked out.
 *
 * @type {import("esbuild").Plugin}
 */
export const rawTextPlugin = {
  name: "ssra-raw-text",
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, (args) => {
      const file = path.resolve(args.resolveDir, args.path.slice(0, -"?raw".length))
      if (!fs.existsSync(file)) {
        return { errors: [{ text: `raw import ${args.path}: ${file} does not exist` }] }
      }
      return {
        path: path.relative(process.cwd(), file).split(path.sep).join("/"),
        namespace: "ssra-raw",
        watchFiles: [file]
      }
    })
    build.onLoad({ filter: /.*/, namespace: "ssra-raw" }, (args) => ({
      contents: fs.readFileSync(path.resolve(process.cwd(), args.path), "utf8"),
      loader: "text",
      watchFiles: [path.resolve(process.cwd(), args.path)]
    }))
  }
}

/**
 * The libraries' default `entry` is every top-level `src/*.ts`: each public module is its own `dist/<Module>.js`,
 * the target of its subpath export (`@ssra/x/<Module>`, written by tooling/exports). Code splitting puts what
 * several entries share in chunks, so `@ssra/x` and `@ssra/x/<Module>` load one copy of every class and service.
 *
 * @param {Partial<import("tsup").Options>} overrides
 */
export const preset = (overrides = {}) => ({
  entry: ["src/*.ts"],
  format: ["esm"],
  target: "node22",
  platform: "node",
  sourcemap: true,
  clean: true,
  dts: false,
  splitting: true,
  treeshake: true,
  ...overrides,
  esbuildPlugins: [rawTextPlugin, ...(overrides.esbuildPlugins ?? [])]
})
