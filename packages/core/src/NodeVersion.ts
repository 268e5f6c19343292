/**
 * The Node version check every `ssra` executable makes before it loads anything else (Effect's HTTP client and
 * undici break on Node 20 with errors that name neither Node nor the fix). This module imports nothing, so a bin
 * can load it under any Node and say what to do. Exported as `@ssra/core/NodeVersion`.
 *
 * @since 0.1.0
 */

/**
 * Why `current` does not satisfy `required` (an engines range of the form `>=MAJOR.MINOR[.PATCH]`), with the
 * fix; `undefined` when it does.
 *
 * @since 0.1.0
 * @category validation
 */
export const problem = (required: string, current: string): string | undefined => {
  const parse = (v: string) => (v.match(/\d+/g) ?? []).slice(0, 3).map(Number)
  const want = parse(required)
  const have = parse(current)
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    const w = want[i] ?? 0
    const h = have[i] ?? 0
    if (h > w) return undefined
    if (h < w)
      return `this needs Node ${required.trim()}, but it runs under Node ${current} (${process.execPath}).\n  → from the repository root: source scripts/bootstrap.sh (puts the project's Node 22 on PATH), or install Node 22.19+ (e.g. nvm install 22), then rerun the same command`
  }
  return undefined
}

/**
 * Checks the running Node against the `engines.node` of the package.json at `packageJson` (a file URL); prints the
 * problem on stderr and sets exit code 2 when it fails. Returns whether the bin may go on.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = async (packageJson: URL): Promise<boolean> => {
  const { readFile } = await import("node:fs/promises")
  const engines = (JSON.parse(await readFile(packageJson, "utf8")) as { engines?: { node?: string } }).engines
  const message = engines?.node === undefined ? undefined : problem(engines.node, process.versions.node)
  if (message === undefined) return true
  process.stderr.write(`error: ${message}\n`)
  process.exitCode = 2
  return false
}
