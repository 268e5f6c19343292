import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Jsonl } from "@ssra/core"
import { Export } from "@ssra/embedding"
import { SftKit } from "@ssra/llm"
import { Effect, Schema } from "effect"
import { ExitCode } from "../src/index.js"
import { runCli, runSmall } from "./support/runCli.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-cli-kits-"))
const kits = path.resolve(import.meta.dirname, "../../../python/ssra_kits")
const sameAs = (file: string, script: string) => fs.readFileSync(file).equals(fs.readFileSync(path.join(kits, script)))
const executable = (file: string) => (fs.statSync(file).mode & 0o111) === 0o111

describe("ssra export: kits and negatives", () => {
  it.effect(
    "launch-kit, sft-kit-query (--stage), sft-kit-score, mined negatives and --weights repeat from a finished run",
    () =>
      Effect.gen(function* () {
        const dir = tmp()
        const run = yield* runSmall(dir)
        const runDir = run.runDir
        assert.strictEqual(run.code, 0, run.output)
        const exportCli = (...args: ReadonlyArray<string>) => runCli(["export", "--run", runDir, ...args])

        // the embedding launch kit: the repo's scripts, an executable launch.sh, a valid config, the base model flag
        const kitDir = path.join(dir, "emb-kit")
        const kit = yield* exportCli("--format", "launch-kit", "--out", kitDir, "--model", "/models/tiny-embedding")
        assert.strictEqual(kit.code, 0, kit.output)
        assert.include(kit.output, "mined with train:ssra's model")
        assert.isTrue(sameAs(path.join(kitDir, "train_embedding.py"), "train_embedding.py"))
        assert.isTrue(sameAs(path.join(kitDir, "encode.py"), "encode.py"))
        assert.isTrue(executable(path.join(kitDir, "launch.sh")))
        const launchConfig = Schema.decodeUnknownSync(Export.LaunchConfig)(
          JSON.parse(fs.readFileSync(path.join(kitDir, "config.json"), "utf8"))
        )
        assert.strictEqual(launchConfig.model, "/models/tiny-embedding")
        // rerunning into the same kit replaces it; a directory that is no kit is a usage error (exit 2)
        assert.strictEqual((yield* exportCli("--format", "launch-kit", "--out", kitDir)).code, 0)
        const occupied = path.join(dir, "occupied")
        fs.mkdirSync(occupied)
        fs.writeFileSync(path.join(occupied, "notes.txt"), "mine")
        const refused = yield* exportCli("--format", "launch-kit", "--out", occupied)
        assert.strictEqual(refused.code, ExitCode.codes.usage)
        assert.include(refused.output, "not an ssra kit")
        assert.deepStrictEqual(fs.readdirSync(occupied), ["notes.txt"])

        // negatives from each source, reported; grade-0 pairs are negatives, never rows
        const st = path.join(dir, "st.jsonl")
        const stOut = yield* exportCli("--format", "sentence-transformers", "--out", st)
        assert.strictEqual(stOut.code, 0, stOut.output)
        const summary = JSON.parse(stOut.output.slice(stOut.output.indexOf("{")))
        assert.containsAllKeys(summary.negatives, ["sameQuery", "mined", "random"])
        assert.isAbove(summary.negatives.sameQuery, 0)
        assert.isAbove(summary.negatives.mined, 0)
        assert.strictEqual(
          summary.negatives.sameQuery + summary.negatives.mined + summary.negatives.random,
          summary.rows * 3
        )
        const none = yield* exportCli("--format", "sentence-transformers", "--out", st, "--mine-with", "none")
        assert.strictEqual(JSON.parse(none.output.slice(none.output.indexOf("{"))).negatives.mined, 0)
        const base = yield* exportCli("--format", "sentence-transformers", "--out", st, "--mine-with", "base")
        assert.include(base.output, "mined with train:base's model")

        // FlagEmbedding: no scores; --weights repeat writes more lines than rows
        const fe = path.join(dir, "fe.jsonl")
        const once = yield* exportCli("--format", "flag-embedding", "--out", fe)
        assert.strictEqual(once.code, 0, once.output)
        const onceRows = (yield* Jsonl.readAll(fe, Export.FlagEmbeddingRow)).length
        for (const r of yield* Jsonl.readAll(fe, Export.FlagEmbeddingRow)) assert.isUndefined(r.pos_scores)
        const repeated = yield* exportCli("--format", "flag-embedding", "--out", fe, "--weights", "repeat")
        assert.strictEqual(repeated.code, 0, repeated.output)
        assert.isAbove((yield* Jsonl.readAll(fe, Export.FlagEmbeddingRow)).length, onceRows)
        const misplaced = yield* exportCli("--format", "sentence-transformers", "--out", st, "--weights", "repeat")
        assert.strictEqual(misplaced.code, ExitCode.codes.usage)

        // the SFT kits: every stage variant of the query model, and the score model
        const rowsOf = (kitPath: string) =>
          fs.readFileSync(path.join(kitPath, "train.jsonl"), "utf8").trim().split("\n").length
        const counts: Record<string, number> = {}
        for (const stage of ["vanilla", "stage1", "stage2"]) {
          const out = path.join(dir, `qm-${stage}`)
          const written = yield* exportCli("--format", "sft-kit-query", "--stage", stage, "--out", out)
          assert.strictEqual(written.code, 0, written.output)
          assert.include(written.output, `query-model SFT, ${stage}`)
          counts[stage] = rowsOf(out)
        }
        // Stage 1 adds the re-annotated click log; Stage 2 adds the survivors to Stage 1
        assert.notStrictEqual(counts.stage1, counts.vanilla)
        assert.isAtLeast(counts.stage2!, counts.stage1!)
        const latest = path.join(dir, "qm-latest")
        const byDefault = yield* exportCli("--format", "sft-kit-query", "--out", latest, "--model", "Qwen/Qwen3-1.7B")
        assert.include(byDefault.output, "query-model SFT, stage2")
        assert.isTrue(
          fs
            .readFileSync(path.join(latest, "train.jsonl"))
            .equals(fs.readFileSync(path.join(dir, "qm-stage2", "train.jsonl")))
        )
        const qmConfig = Schema.decodeUnknownSync(SftKit.SftKitConfig)(
          JSON.parse(fs.readFileSync(path.join(latest, "sft_config.json"), "utf8"))
        )
        assert.strictEqual(qmConfig.model, "Qwen/Qwen3-1.7B")
        assert.strictEqual(qmConfig.served_model_name, "ssra-query-model-v2")
        assert.include(byDefault.output, "model ssra-query-model-v2")
        assert.include(fs.readFileSync(path.join(dir, "qm-stage1", "README.md"), "utf8"), "--query-model-v1-endpoint")
        for (const script of ["launch.sh", "serve.sh"]) assert.isTrue(executable(path.join(latest, script)))
        assert.isTrue(sameAs(path.join(latest, "sft_train.py"), "sft_train.py"))
        const first = JSON.parse(fs.readFileSync(path.join(latest, "train.jsonl"), "utf8").split("\n")[0]!)
        assert.strictEqual(first.messages.at(-1).role, "assistant")
        assert.include(first.messages.at(-1).content, '"queries"')

        const sm = path.join(dir, "sm-kit")
        const score = yield* exportCli("--format", "sft-kit-score", "--out", sm)
        assert.strictEqual(score.code, 0, score.output)
        assert.include(score.output, "serve:")
        const scoreRow = JSON.parse(fs.readFileSync(path.join(sm, "train.jsonl"), "utf8").split("\n")[0]!)
        assert.match(scoreRow.messages.at(-1).content, /"grade"/)
        assert.include(fs.readFileSync(path.join(sm, "README.md"), "utf8"), "--score-model-endpoint")
        const wrongStage = yield* exportCli("--format", "sft-kit-score", "--stage", "stage1", "--out", sm)
        assert.strictEqual(wrongStage.code, ExitCode.codes.usage)

        // the chat JSONL formats still work
        for (const format of ["sft-query", "sft-score"]) {
          const out = path.join(dir, `${format}.jsonl`)
          assert.strictEqual((yield* exportCli("--format", format, "--out", out)).code, 0)
        }
      }),
    240_000
  )
})
