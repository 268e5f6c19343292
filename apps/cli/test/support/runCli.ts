// Runs the `ssra` CLI in-process with its console captured: the exit code and everything it printed.
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeHttpClient, NodeServices } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Cli } from "../../src/index.js"

export const runCli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const capture = (...args: ReadonlyArray<unknown>) => {
      lines.push(args.map(String).join(" "))
    }
    const fake = { ...globalThis.console, log: capture, error: capture, info: capture, warn: capture }
    const code = yield* Cli.run(argv).pipe(
      Effect.provideService(Console.Console, fake as unknown as Console.Console),
      Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici))
    )
    return { code, output: lines.join("\n") }
  })

/**
 * `ssra run` of a small sample of the bundled Quark set into `<dir>/run` (the run export tests start from);
 * `extra` flags are appended.
 */
export const runSmall = (dir: string, extra: ReadonlyArray<string> = []) =>
  Effect.map(runCli(["run", ...smallRunArgs(dir), ...extra]), (result) => ({
    ...result,
    runDir: path.join(dir, "run")
  }))

/**
 * The arguments after `run` of the small run `runSmall` makes (writes its config into `dir`; the run directory is
 * `<dir>/run`), for tests that spawn the built CLI; `config` replaces the small config (`smallConfig`).
 */
export const smallConfig = {
  data: { sample: { labeledQueries: 40, unlabeledRows: 30 } },
  queryModel: { maxTrainingDocs: 30, candidatesPerDoc: 6 },
  stage2: { documents: 10 },
  synthesis: { documents: 16 },
  training: { dimensions: 16, buckets: 2048, epochs: 1, batchSize: 16 },
  evaluation: { bootstrapSamples: 50 },
  generation: { chunkSize: 4 }
}

export const smallRunArgs = (dir: string, config: object = smallConfig): Array<string> => {
  fs.writeFileSync(path.join(dir, "ssra.json"), JSON.stringify(config))
  return [
    "--config",
    path.join(dir, "ssra.json"),
    "--data",
    path.resolve(import.meta.dirname, "../../../../data/kuake_qtr"),
    "--skip-invalid",
    "--run-dir",
    path.join(dir, "run")
  ]
}
