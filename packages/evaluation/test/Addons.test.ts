import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const packageDir = path.resolve(import.meta.dirname, "..")

describe("native addons", () => {
  it("importing @ssra/evaluation (Metrics, character scorers) loads no jieba; a jieba-tokenized BM25 does", () => {
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=@ssra/source", path.join(packageDir, "test", "fixtures", "addons.ts")],
      { cwd: packageDir, encoding: "utf8", timeout: 55_000 }
    )
    expect(child.status, child.stderr).toBe(0)
    const report = JSON.parse(child.stdout.trim().split("\n").pop()!) as {
      afterImport: Array<string>
      afterCharacters: Array<string>
      afterWords: Array<string>
      ndcg: number
      chars: Array<number>
      cosine: Array<number>
      words: Array<number>
    }
    expect(report.afterImport).toEqual([])
    expect(report.afterCharacters).toEqual([])
    expect(report.ndcg).toBeCloseTo(0.6885, 4)
    expect(report.chars[0]).toBeGreaterThan(0)
    expect(report.chars[1]).toBe(0)
    expect(report.cosine[0]).toBeGreaterThan(0)
    // the detector does see an addon: the jieba-tokenized scorer loads it
    expect(report.afterWords.filter((f) => /jieba/i.test(path.basename(f)))).toHaveLength(1)
    expect(report.words[0]).toBeGreaterThan(0)
  })
})
