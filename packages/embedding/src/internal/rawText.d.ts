/**
 * `import text from "./file.txt?raw"`: the file's text (vitest reads it natively; the shared tsup preset's
 * plugin inlines it into the bundle). Referenced with `/// <reference path>` by the modules that use it, so
 * every compilation that reaches them — this package's and its dependents' typechecks through the
 * `@ssra/source` condition — sees the declaration; no emitted `.d.ts` mentions it.
 */
declare module "*?raw" {
  const text: string
  export default text
}
