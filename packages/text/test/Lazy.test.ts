import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const packageDir = path.resolve(import.meta.dirname, "..")

interface Report {
  readonly afterImport: ReadonlyArray<string>
  readonly afterChars: ReadonlyArray<string>
  readonly afterWords: ReadonlyArray<string>
  readonly words: ReadonlyArray<string>
  readonly featurizerWords: ReadonlyArray<string>
}

const run = (): Report => {
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", "--conditions=@ssra/source", path.join(packageDir, "test", "fixtures", "addons.ts")],
    { cwd: packageDir, encoding: "utf8", timeout: 55_000 }
  )
  expect(child.status, child.stderr).toBe(0)
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as Report
}

const jieba = (files: ReadonlyArray<string>) => files.filter((f) => /jieba/i.test(path.basename(f)))

describe("the jieba addon loads on first use, in a fresh process", () => {
  it("importing @ssra/text and tokenizing characters / BM25 over characters loads no addon", () => {
    const report = run()
    expect(report.afterImport).toEqual([])
    expect(report.afterChars).toEqual([])
    // the detector sees the addon once words are segmented (so the empty lists above are not blind) — once: the
    // HMM and the plain cut share the one instance
    expect(jieba(report.afterWords)).toHaveLength(1)
    expect(report.words).toEqual(["我", "爱", "北京", "天安门"])
    expect(report.featurizerWords).toEqual(["我", "爱", "北京", "天安门"])
  })
})
