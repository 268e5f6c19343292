import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { vi } from "vitest"
import { SftKit } from "../src/index.js"

const kits = path.resolve(import.meta.dirname, "../../../python/ssra_kits")
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-sft-kit-"))

const system = {
  role: "system",
  content: "Write a search query for the document so that the document has the given relevance grade (0-3) for it."
} as const
const rows: Array<SftKit.ChatRow> = [
  {
    messages: [
      system,
      { role: "user", content: "Document:\n感冒发烧应该吃什么药\nGrade: 3" },
      { role: "assistant", content: '{"queries": ["感冒发烧吃什么药"]}' }
    ]
  },
  {
    messages: [
      system,
      { role: "user", content: "Document:\n眼睛痒是什么原因\nGrade: 1" },
      { role: "assistant", content: '{"queries": ["眼睛干涩"]}' }
    ]
  }
]

const executable = (file: string) => (fs.statSync(file).mode & 0o111) === 0o111

describe("SftKit", () => {
  it.effect("writes the kit: rows, config, the python/ssra_kits files byte for byte, executable scripts", () =>
    Effect.gen(function* () {
      const dir = path.join(tmp(), "qm-kit")
      const kit = yield* SftKit.write(dir, { task: "query-model", rows })
      const files = [
        "README.md",
        "ds_zero2.json",
        "launch.sh",
        "requirements.txt",
        "serve.sh",
        "sft_config.json",
        "sft_train.py",
        "train.jsonl"
      ]
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), files)
      assert.deepStrictEqual(kit.files, files)
      assert.strictEqual(kit.rows, 2)
      for (const name of ["sft_train.py", "ds_zero2.json"]) {
        assert.isTrue(
          fs.readFileSync(path.join(dir, name)).equals(fs.readFileSync(path.join(kits, name))),
          `${name} differs from python/ssra_kits/${name}`
        )
      }
      assert.isTrue(executable(path.join(dir, "launch.sh")))
      assert.isTrue(executable(path.join(dir, "serve.sh")))
      assert.isFalse(executable(path.join(dir, "sft_config.json")))
      const lines = fs.readFileSync(path.join(dir, "train.jsonl"), "utf8").trim().split("\n")
      assert.deepStrictEqual(
        lines.map((l) => JSON.parse(l)),
        rows.map((r) => ({ messages: r.messages }))
      )
      const config = Schema.decodeUnknownSync(SftKit.SftKitConfig)(
        JSON.parse(fs.readFileSync(path.join(dir, "sft_config.json"), "utf8"))
      )
      assert.deepStrictEqual(config, SftKit.defaultConfig("query-model"))
      assert.strictEqual(config.model, "Qwen/Qwen3-4B")
      assert.deepStrictEqual(config.lora, { r: 16, alpha: 32, dropout: 0.05, target_modules: "all-linear" })
      assert.strictEqual(config.learning_rate, 1e-4)
      assert.strictEqual(config.per_device_batch_size * config.gradient_accumulation_steps, 16)
      assert.strictEqual(config.epochs, 2)
      assert.strictEqual(config.max_steps, -1)
      assert.isTrue(config.assistant_only_loss && config.bf16 && config.gradient_checkpointing && config.merge)
      assert.strictEqual(config.served_model_name, "ssra-query-model")

      const launch = fs.readFileSync(path.join(dir, "launch.sh"), "utf8")
      assert.include(launch, 'NPROC="$' + '{NPROC:-1}"')
      assert.include(launch, 'exec python sft_train.py --config sft_config.json "$@"')
      assert.include(
        launch,
        'exec torchrun --standalone --nproc_per_node=$NPROC sft_train.py --config sft_config.json "$@"'
      )
      const serve = fs.readFileSync(path.join(dir, "serve.sh"), "utf8")
      assert.include(serve, 'PORT="$' + '{PORT:-8000}"')
      assert.include(serve, 'HOST="$' + '{HOST:-127.0.0.1}"')
      assert.include(serve, "exec transformers serve ssra-query-model")
      assert.include(serve, "vllm serve output/merged --served-model-name ssra-query-model")
      const requirements = fs.readFileSync(path.join(dir, "requirements.txt"), "utf8")
      assert.include(requirements, "CUDA build of torch")
      assert.match(requirements, /^trl==/m)
      assert.notMatch(requirements, /^(pytest|ruff)==/m)
      const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8")
      for (const text of [
        "./launch.sh",
        "NPROC=4 ./launch.sh",
        "--deepspeed ds_zero2.json",
        "./serve.sh",
        "--query-model fine-tuned",
        "--query-model-v2-endpoint http://127.0.0.1:8000/v1#ssra-query-model",
        "--vanilla-query-model-endpoint",
        "queryModel: fine-tuned",
        'queryModelV2: { baseUrl: "http://127.0.0.1:8000/v1", model: ssra-query-model }'
      ])
        assert.include(readme, text)
      assert.deepStrictEqual(kit.endpoint, { baseUrl: "http://127.0.0.1:8000/v1", model: "ssra-query-model" })
      assert.strictEqual(kit.trainCommand, `NPROC=1 ${path.join(dir, "launch.sh")}`)
      assert.strictEqual(kit.serveCommand, `PORT=8000 ${path.join(dir, "serve.sh")}`)
      for (const script of ["launch.sh", "serve.sh"]) {
        const bash = spawnSync("bash", ["-n", path.join(dir, script)], { encoding: "utf8" })
        if (bash.error === undefined) assert.strictEqual(bash.status, 0, bash.stderr)
      }
      const python = spawnSync("python3", ["-m", "py_compile", path.join(dir, "sft_train.py")], { encoding: "utf8" })
      if (python.error === undefined) assert.strictEqual(python.status, 0, python.stderr)
    })
  )

  it.effect("the score-model kit: its own served name and flag; config overrides are validated", () =>
    Effect.gen(function* () {
      const dir = path.join(tmp(), "sm-kit")
      const scoreRows: Array<SftKit.ChatRow> = [
        {
          messages: [
            { role: "user", content: "Query: 感冒\nDocument: 感冒发烧应该吃什么药\nGrade 0-3." },
            { role: "assistant", content: '{"grade": 3}' }
          ]
        }
      ]
      const kit = yield* SftKit.write(dir, {
        task: "score-model",
        rows: scoreRows,
        config: { model: "/models/tiny", nproc_per_node: 2, lora: { r: 8 }, max_steps: 20 }
      })
      const config = JSON.parse(fs.readFileSync(path.join(dir, "sft_config.json"), "utf8"))
      assert.strictEqual(config.model, "/models/tiny")
      assert.deepStrictEqual(config.lora, { r: 8, alpha: 32, dropout: 0.05, target_modules: "all-linear" })
      assert.strictEqual(config.served_model_name, "ssra-score-model")
      assert.strictEqual(kit.endpoint.model, "ssra-score-model")
      assert.include(fs.readFileSync(path.join(dir, "launch.sh"), "utf8"), 'NPROC="$' + '{NPROC:-2}"')
      const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8")
      assert.include(readme, "--score-model-endpoint http://127.0.0.1:8000/v1#ssra-score-model")
      assert.include(readme, "scoreModel: fine-tuned")
      // a query-model kit for one variant: its own served name and the flag of that variant
      const v1 = yield* SftKit.write(path.join(tmp(), "v1"), { task: "query-model", variant: "v1", rows })
      assert.strictEqual(v1.endpoint.model, "ssra-query-model-v1")
      const v1Readme = fs.readFileSync(path.join(v1.dir, "README.md"), "utf8")
      assert.include(v1Readme, "--query-model-v1-endpoint http://127.0.0.1:8000/v1#ssra-query-model-v1")
      assert.include(v1Readme, 'queryModelV1: { baseUrl: "http://127.0.0.1:8000/v1", model: ssra-query-model-v1 }')
      assert.include(fs.readFileSync(path.join(v1.dir, "serve.sh"), "utf8"), "transformers serve ssra-query-model-v1")
      const variantOfScore = yield* Effect.flip(
        SftKit.write(path.join(tmp(), "x"), { task: "score-model", variant: "v1", rows: scoreRows })
      )
      assert.strictEqual(variantOfScore.reason, "invalid-config")
      const bad = yield* Effect.flip(
        SftKit.write(path.join(tmp(), "bad"), {
          task: "score-model",
          rows: scoreRows,
          config: { served_model_name: "a/b", learning_rate: 0 }
        })
      )
      assert.strictEqual(bad.reason, "invalid-config")
      assert.include(bad.message, "served_model_name")
      assert.include(bad.message, "learning_rate")
    })
  )

  it.effect("a row without an assistant answer is refused with its index, before anything is written", () =>
    Effect.gen(function* () {
      const parent = tmp()
      const dir = path.join(parent, "kit")
      const unanswered: Array<SftKit.ChatRow> = [
        rows[0]!,
        { messages: [system, { role: "user", content: "Document:\n眼睛痒\nGrade: 2" }] }
      ]
      const error = yield* Effect.flip(SftKit.write(dir, { task: "query-model", rows: unanswered }))
      assert.strictEqual(error._tag, "SftKitError")
      assert.strictEqual(error.reason, "invalid-row")
      assert.strictEqual(error.row, 1)
      assert.include(error.message, "row 1, line 2 of train.jsonl")
      assert.include(error.message, "no assistant answer")
      assert.deepStrictEqual(fs.readdirSync(parent), [])
      const cases: Array<[ReadonlyArray<{ role: string; content: string }>, string]> = [
        [[{ role: "assistant", content: "x" }], "no user message"],
        [
          [
            { role: "user", content: "q" },
            { role: "assistant", content: " " }
          ],
          "answer is empty"
        ],
        [
          [
            { role: "user", content: "q" },
            { role: "assistant", content: "a" },
            { role: "user", content: "q2" },
            { role: "assistant", content: "b" }
          ],
          "2 assistant messages"
        ],
        [
          [
            { role: "tool", content: "q" },
            { role: "assistant", content: "a" }
          ],
          "expected"
        ]
      ]
      for (const [messages, expected] of cases) {
        const e = yield* Effect.flip(
          SftKit.write(dir, { task: "query-model", rows: [{ messages }] as unknown as Array<SftKit.ChatRow> })
        )
        assert.strictEqual(e.reason, "invalid-row")
        assert.include(e.message, expected)
      }
      const empty = yield* Effect.flip(SftKit.write(dir, { task: "query-model", rows: [] }))
      assert.strictEqual(empty.reason, "empty")
      assert.deepStrictEqual(fs.readdirSync(parent), [])
    })
  )

  it.effect("atomic: a write failing midway leaves no directory; an earlier kit is replaced whole, or kept", () =>
    Effect.gen(function* () {
      const parent = tmp()
      const dir = path.join(parent, "kit")
      // a full disk at one file: the CommonJS `fs` object is patched and its ESM exports re-synced, so the kit's
      // `import * as fs from "node:fs"` sees the patch
      const fsObject = createRequire(import.meta.url)("node:fs") as typeof fs
      const real = fsObject.writeFileSync
      const failOn = (name: string) => {
        const spy = vi.spyOn(fsObject, "writeFileSync").mockImplementation((file, ...rest) => {
          if (String(file).endsWith(name))
            throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" })
          return (real as (...a: Array<unknown>) => void)(file, ...rest)
        })
        syncBuiltinESMExports()
        return () => {
          spy.mockRestore()
          syncBuiltinESMExports()
        }
      }
      let restore = failOn("serve.sh")
      const failed = yield* Effect.flip(SftKit.write(dir, { task: "query-model", rows })).pipe(
        Effect.ensuring(Effect.sync(() => restore()))
      )
      assert.strictEqual(failed.reason, "io")
      assert.include(failed.message, "ENOSPC")
      assert.deepStrictEqual(fs.readdirSync(parent), [])
      // an earlier kit: replaced as a whole…
      yield* SftKit.write(dir, { task: "query-model", rows })
      fs.writeFileSync(path.join(dir, "notes.txt"), "stale")
      yield* SftKit.write(dir, { task: "query-model", rows: rows.slice(0, 1) })
      assert.isFalse(fs.existsSync(path.join(dir, "notes.txt")))
      assert.strictEqual(fs.readFileSync(path.join(dir, "train.jsonl"), "utf8").trim().split("\n").length, 1)
      // …or, when the new one fails, kept as it was
      restore = failOn("README.md")
      yield* Effect.flip(SftKit.write(dir, { task: "query-model", rows })).pipe(
        Effect.ensuring(Effect.sync(() => restore()))
      )
      assert.strictEqual(fs.readFileSync(path.join(dir, "train.jsonl"), "utf8").trim().split("\n").length, 1)
      assert.deepStrictEqual(fs.readdirSync(parent), ["kit"])
      // a kit holding a trained model, or a directory that is no kit, is refused untouched
      fs.mkdirSync(path.join(dir, "output"))
      const trained = yield* Effect.flip(SftKit.write(dir, { task: "query-model", rows }))
      assert.strictEqual(trained.reason, "exists")
      assert.include(trained.message, "output/")
      const other = path.join(parent, "other")
      fs.mkdirSync(other)
      fs.writeFileSync(path.join(other, "mine.txt"), "keep")
      const refused = yield* Effect.flip(SftKit.write(other, { task: "query-model", rows }))
      assert.strictEqual(refused.reason, "exists")
      assert.deepStrictEqual(fs.readdirSync(other), ["mine.txt"])
    })
  )
})
