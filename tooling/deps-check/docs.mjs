#!/usr/bin/env node
// Generated documentation blocks, kept equal to their sources (tooling/deps-check/test/docs.test.ts checks them):
// - ARCHITECTURE.md, between the `deps-graph` markers: the Mermaid graph of the real `src/` imports (deps-check).
// - README.md, between the `package-samples` markers: tooling/release-smoke/samples/*.ts, the files the release
//   smoke test type-checks and runs against the packed tarballs.
//
//   node tooling/deps-check/docs.mjs          # exit 1 and name the stale file
//   node tooling/deps-check/docs.mjs --write  # regenerate both blocks
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { checkWorkspace, mermaidGraph } from "./deps-check.mjs"

const root = join(fileURLToPath(import.meta.url), "..", "..", "..")
const samplesDir = join(root, "tooling", "release-smoke", "samples")

/** The README block: one short section per sample, its code verbatim. */
export const samplesBlock = () =>
  readdirSync(samplesDir)
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => {
      const code = readFileSync(join(samplesDir, f), "utf8").trimEnd()
      return `### \`@ssra/${f.replace(/\.ts$/, "")}\`\n\n[\`samples/${f}\`](tooling/release-smoke/samples/${f})\n\n\`\`\`ts\n${code}\n\`\`\``
    })
    .join("\n\n")

export const graphBlock = () => `\`\`\`mermaid\n${mermaidGraph(checkWorkspace(root).packages)}\n\`\`\``

/** The text between `<!-- name:start -->` and `<!-- name:end -->` (markers excluded, trimmed); null when absent. */
export const between = (text, name) => {
  const m = text.match(new RegExp(`<!-- ${name}:start[^>]*-->\\n([\\s\\S]*?)\\n?<!-- ${name}:end -->`))
  return m ? m[1].trim() : null
}

const blocks = [
  { file: "ARCHITECTURE.md", name: "deps-graph", make: graphBlock },
  { file: "README.md", name: "package-samples", make: samplesBlock }
]

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let stale = 0
  for (const { file, name, make } of blocks) {
    const path = join(root, file)
    const text = readFileSync(path, "utf8")
    const want = make()
    if (between(text, name) === want) continue
    if (between(text, name) === null) throw new Error(`${file}: no <!-- ${name}:start --> … <!-- ${name}:end --> block`)
    if (process.argv.includes("--write")) {
      writeFileSync(
        path,
        text.replace(
          new RegExp(`(<!-- ${name}:start[^>]*-->\\n)[\\s\\S]*?\\n?<!-- ${name}:end -->`),
          (_, a) => `${a}${want}\n<!-- ${name}:end -->`
        )
      )
      console.log(`${file}: ${name} block rewritten`)
    } else {
      console.error(`${file}: the ${name} block is stale: run node tooling/deps-check/docs.mjs --write`)
      stale++
    }
  }
  process.exitCode = stale === 0 ? 0 : 1
}
