import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ExitCode } from "../src/index.js"
import { runCli } from "./support/runCli.js"

const slice = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssra-cli-handoff-"))
  const data = path.resolve(import.meta.dirname, "../../../data/kuake_qtr")
  const take = (name: string, n: number) =>
    fs.readFileSync(path.join(data, name), "utf8").split("\n").filter(Boolean).slice(0, n).join("\n") + "\n"
  fs.writeFileSync(path.join(dir, "labeled.jsonl"), take("labeled.jsonl", 160))
  fs.writeFileSync(path.join(dir, "unlabeled.jsonl"), take("unlabeled.jsonl", 40))
  fs.writeFileSync(path.join(dir, "pair_test.jsonl"), take("pair_test.jsonl", 60))
  fs.writeFileSync(path.join(dir, "retrieval_test.jsonl"), take("retrieval_test.jsonl", 120))
  return dir
}

describe("ssra run: hand-off to external training", () => {
  it.effect("--score-model fine-tuned without an endpoint: exit 8, the kit on disk, the three steps printed", () =>
    Effect.gen(function* () {
      const data = slice()
      const runDir = path.join(data, "run")
      const args = ["run", "--data", data, "--run-dir", runDir, "--score-model", "fine-tuned"]
      const plan = yield* runCli([...args, "--sft-base-model", "my/base", "--dry-run"])
      assert.strictEqual(plan.code, 0, plan.output)
      assert.include(plan.output, "| score-model | external |")
      assert.include(plan.output, "hand-off")
      const r = yield* runCli([...args, "--sft-base-model", "my/base"])
      assert.strictEqual(r.code, ExitCode.codes.awaitingTraining, r.output)
      assert.include(r.output, "hand-off:")
      assert.include(r.output, "--score-model-endpoint http://127.0.0.1:8000/v1#ssra-score-model")
      const manifest = JSON.parse(fs.readFileSync(path.join(runDir, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.status, "awaiting-training")
      const kit = manifest.handoffs[0].kit as string
      assert.include(r.output, kit)
      assert.strictEqual(fs.statSync(path.join(kit, "launch.sh")).mode & 0o111, 0o111)
      assert.strictEqual(JSON.parse(fs.readFileSync(path.join(kit, "sft_config.json"), "utf8")).model, "my/base")
    })
  )

  it.effect("an endpoint flag that is no URL, or names an empty model, is a usage error naming the flag", () =>
    Effect.gen(function* () {
      const data = slice()
      const base = ["run", "--data", data, "--run-dir", path.join(data, "run")]
      const bad = yield* runCli([...base, "--query-model", "fine-tuned", "--query-model-v1-endpoint", "localhost:8000"])
      assert.strictEqual(bad.code, ExitCode.codes.usage, bad.output)
      assert.include(bad.output, "--query-model-v1-endpoint localhost:8000 is not an http(s) URL")
      const empty = yield* runCli([...base, "--score-model-endpoint", "http://127.0.0.1:9/v1#"])
      assert.strictEqual(empty.code, ExitCode.codes.usage, empty.output)
      assert.include(empty.output, "empty model")
    })
  )
})
