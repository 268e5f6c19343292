/**
 * Presets for the OpenAI-compatible servers users bring: base URL, how the API key is sent, which environment
 * variable holds it, and the quirks the client works around (no `json_schema`, no `n` > 1, no logprobs, caps on
 * `top_logprobs`). Chosen by name in config; every field can be overridden.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * What a server supports; the client adapts requests to it (`json_schema` → `json_object` + instruction,
 * `n` > 1 → n parallel requests, logprobs dropped or capped).
 *
 * @since 0.1.0
 * @category models
 */
export interface Quirks {
  /** Accepts `response_format: { type: "json_schema" }`. */
  readonly jsonSchema: boolean
  /** Accepts `response_format: { type: "json_object" }`. */
  readonly jsonObject: boolean
  /** Largest `n` per request (1 = one choice per request). */
  readonly maxN: number
  /** Returns `logprobs`. */
  readonly logprobs: boolean
  /** Largest `top_logprobs`. */
  readonly maxTopLogprobs: number
  /** Accepts `seed`. */
  readonly seed: boolean
}

/**
 * A server preset.
 *
 * @since 0.1.0
 * @category models
 */
export interface Preset {
  readonly name: PresetName
  readonly baseUrl: string
  /** How the key is sent: `Authorization: Bearer <key>` or a named header. */
  readonly auth: { readonly _tag: "Bearer" } | { readonly _tag: "Header"; readonly header: string }
  /** Environment variable that holds the API key (read through `Config.Redacted`). */
  readonly apiKeyEnv: string | undefined
  /** Whether requests fail without a key. */
  readonly requiresApiKey: boolean
  readonly quirks: Quirks
}

/**
 * @since 0.1.0
 * @category models
 */
export const PresetName = Schema.Literals([
  "vllm",
  "ollama",
  "llamacpp-server",
  "sglang",
  "openai",
  "ark",
  "dashscope",
  "deepseek"
])

/**
 * @since 0.1.0
 * @category models
 */
export type PresetName = typeof PresetName.Type

const full: Quirks = { jsonSchema: true, jsonObject: true, maxN: 128, logprobs: true, maxTopLogprobs: 20, seed: true }

/**
 * The preset table. Capabilities follow each server's documentation of its OpenAI-compatible endpoint; where a
 * hosted API documents a feature only for some models, the preset takes the conservative side.
 *
 * @since 0.1.0
 * @category constructors
 */
export const presets: Readonly<Record<PresetName, Preset>> = {
  vllm: {
    name: "vllm",
    baseUrl: "http://127.0.0.1:8000/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "VLLM_API_KEY",
    requiresApiKey: false,
    quirks: full
  },
  sglang: {
    name: "sglang",
    baseUrl: "http://127.0.0.1:30000/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "SGLANG_API_KEY",
    requiresApiKey: false,
    quirks: full
  },
  ollama: {
    name: "ollama",
    baseUrl: "http://127.0.0.1:11434/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: undefined,
    requiresApiKey: false,
    // Ollama's OpenAI layer returns one choice whatever `n` is. Its compatibility page lists logprobs among the
    // supported features (docs/openai.md, recent releases); older servers omit them, and callers that need
    // probabilities (the LLM judge's "auto" mode) then fall back to samples.
    quirks: { jsonSchema: true, jsonObject: true, maxN: 1, logprobs: true, maxTopLogprobs: 20, seed: true }
  },
  "llamacpp-server": {
    name: "llamacpp-server",
    baseUrl: "http://127.0.0.1:8080/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "LLAMA_API_KEY",
    requiresApiKey: false,
    // llama-server answers chat completions with a single choice.
    quirks: { jsonSchema: true, jsonObject: true, maxN: 1, logprobs: true, maxTopLogprobs: 20, seed: true }
  },
  openai: {
    name: "openai",
    baseUrl: "https://api.openai.com/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "OPENAI_API_KEY",
    requiresApiKey: true,
    quirks: full
  },
  ark: {
    name: "ark",
    baseUrl: "https://ark.cn-beijing.volces.com/api/v3",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "ARK_API_KEY",
    requiresApiKey: true,
    quirks: { jsonSchema: false, jsonObject: true, maxN: 1, logprobs: true, maxTopLogprobs: 20, seed: false }
  },
  dashscope: {
    name: "dashscope",
    baseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "DASHSCOPE_API_KEY",
    requiresApiKey: true,
    quirks: { jsonSchema: false, jsonObject: true, maxN: 4, logprobs: true, maxTopLogprobs: 5, seed: true }
  },
  deepseek: {
    name: "deepseek",
    baseUrl: "https://api.deepseek.com/v1",
    auth: { _tag: "Bearer" },
    apiKeyEnv: "DEEPSEEK_API_KEY",
    requiresApiKey: true,
    quirks: { jsonSchema: false, jsonObject: true, maxN: 1, logprobs: true, maxTopLogprobs: 20, seed: false }
  }
}

/**
 * Looks a preset up by name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = (name: PresetName): Preset => presets[name]
