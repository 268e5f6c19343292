import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
// @ts-expect-error -- plain ESM script without declarations
import { between, graphBlock, samplesBlock } from "../docs.mjs"

const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../../${file}`, import.meta.url)), "utf8")

describe("generated documentation blocks (node tooling/deps-check/docs.mjs --write)", () => {
  it("ARCHITECTURE.md draws the dependency graph of the real src/ imports", () => {
    const graph = graphBlock()
    expect(graph).toContain("pipeline --> score_model")
    expect(between(read("ARCHITECTURE.md"), "deps-graph")).toBe(graph)
  })

  it("README.md shows exactly the samples the release smoke test type-checks and runs, one per package", () => {
    const block = samplesBlock()
    for (const pkg of ["core", "embedding", "evaluation", "filters", "llm", "pipeline", "query-model", "score-model"]) {
      expect(block).toContain(`from "@ssra/${pkg}"`)
    }
    expect(between(read("README.md"), "package-samples")).toBe(block)
  })
})
