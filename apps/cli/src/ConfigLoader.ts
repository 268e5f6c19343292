/**
 * Reads the run configuration: defaults, then the config file (JSON or YAML, Schema-validated; unknown keys are
 * errors), then `SSRA_*` environment variables, then flags — later layers win. Errors name the file and the
 * field path.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { PipelineConfig } from "@ssra/pipeline"
import { Effect } from "effect"
import YAML from "yaml"
import { UsageError, usage } from "./ExitCode.js"

/**
 * Reads and parses a config file (by extension: .json, .yaml, .yml).
 *
 * @since 0.1.0
 * @category loading
 */
export const readFile = (file: string): Effect.Effect<unknown, UsageError> =>
  Effect.try({
    try: () => {
      let text: string
      try {
        text = fs.readFileSync(file, "utf8")
      } catch (cause) {
        throw usage(`cannot read config file ${file}: ${(cause as Error).message}`, "check the path given to --config")
      }
      const ext = path.extname(file).toLowerCase()
      try {
        const value = ext === ".json" ? JSON.parse(text) : YAML.parse(text)
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw usage(`config file ${file} must hold an object of settings`, "see `ssra run --help` for the fields")
        }
        return value as unknown
      } catch (cause) {
        if (cause instanceof UsageError) throw cause
        throw usage(
          `config file ${file} is not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(cause as Error).message}`
        )
      }
    },
    catch: (cause) => (cause instanceof UsageError ? cause : usage(String(cause)))
  })

/**
 * Settings taken from the environment (`SSRA_RUN_DIR`, `SSRA_SEED`, `SSRA_DATA`, `SSRA_LLM_BASE_URL`,
 * `SSRA_LLM_MODEL`, `SSRA_LLM_PRESET`).
 *
 * @since 0.1.0
 * @category loading
 */
export const fromEnv = (env: Readonly<Record<string, string | undefined>>): Record<string, unknown> => {
  const out: Record<string, any> = {}
  if (env.SSRA_RUN_DIR) out.runDir = env.SSRA_RUN_DIR
  if (env.SSRA_SEED && /^\d+$/.test(env.SSRA_SEED)) out.seed = Number(env.SSRA_SEED)
  if (env.SSRA_DATA) out.data = { dir: env.SSRA_DATA }
  if (env.SSRA_LLM_BASE_URL || env.SSRA_LLM_MODEL || env.SSRA_LLM_PRESET) {
    out.backends = {
      llm: {
        ...(env.SSRA_LLM_BASE_URL ? { baseUrl: env.SSRA_LLM_BASE_URL } : {}),
        ...(env.SSRA_LLM_MODEL ? { model: env.SSRA_LLM_MODEL } : {}),
        ...(env.SSRA_LLM_PRESET ? { preset: env.SSRA_LLM_PRESET } : {})
      }
    }
  }
  return out
}

/**
 * The full config: defaults ← file ← env ← flags, decoded with every issue reported.
 *
 * @since 0.1.0
 * @category loading
 */
export const resolve = (options: {
  readonly file?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly flags?: unknown
  readonly base?: unknown
}): Effect.Effect<PipelineConfig.Config, UsageError> =>
  Effect.gen(function* () {
    const fileValue = options.file !== undefined ? yield* readFile(options.file) : undefined
    const merged = PipelineConfig.merge(
      PipelineConfig.defaults,
      options.base,
      fileValue,
      fromEnv(options.env ?? {}),
      options.flags
    )
    return yield* PipelineConfig.decodeResolved(merged).pipe(
      Effect.mapError((error) =>
        usage(
          `invalid configuration${options.file !== undefined ? ` (${options.file})` : ""}:\n${String(error.message)
            .split("\n")
            .map((l) => `    ${l}`)
            .join("\n")}`,
          "fix the named field (unknown keys are rejected, so check spelling too)"
        )
      )
    )
  })
