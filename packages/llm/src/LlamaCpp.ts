/**
 * Local GGUF models through `node-llama-cpp` (an optional dependency, loaded with `await import()`): chat
 * completions with JSON-schema grammars for structured output, and embeddings from the same model, behind the
 * same `ChatClientShape` as the HTTP backends so retry, cache and cost wrappers apply unchanged.
 *
 * @since 0.1.0
 */
import { Models } from "@ssra/core"
import { Effect, Layer, type Scope, Semaphore } from "effect"
import type { ChatClientShape, ChatRequest, ChatResponse } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"
import { LlmError } from "./ChatClient.js"
import { formatInput, type RemoteEmbedderConfig } from "./RemoteEmbedder.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface LlamaCppOptions {
  readonly modelPath: string
  /** Default 2048. */
  readonly contextSize?: number | undefined
  /** CPU threads; use 1 for tiny models on busy machines. Default: node-llama-cpp's choice. */
  readonly threads?: number | undefined
  /** `false` forces CPU. Default "auto". */
  readonly gpu?: false | "auto" | undefined
  /** Completion tokens when a request sets no `maxTokens`. Default 512. */
  readonly maxTokens?: number | undefined
  /** Embedding inputs formatting (query instruction, document prefix). */
  readonly embedding?: Pick<RemoteEmbedderConfig, "queryInstruction" | "documentPrefix"> | undefined
  /** Module to import; only tests change it. Default "node-llama-cpp". */
  readonly moduleName?: string | undefined
  /**
   * The client's id (what response-cache keys and manifests name). Default `llama.cpp:<file name>`; a caller that
   * hashed the file passes an id with the hash, so a different file under the same name never reuses answers.
   */
  readonly id?: string | undefined
  /** The model name responses carry (what cost tables are keyed by). Default the model's file name. */
  readonly model?: string | undefined
}

/**
 * The command that installs the optional node-llama-cpp (part of the error when it is absent).
 *
 * @since 0.1.0
 * @category constants
 */
export const installCommand = "pnpm add node-llama-cpp@3.22.1"

/**
 * A local client: chat plus an embedder from the same model.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlamaCppClient extends ChatClientShape {
  readonly embedder: Models.TextEmbedder
}

const unavailable = (endpoint: string, message: string) =>
  new LlmError({ reason: "unavailable", endpoint, message, retryable: false })

// Imports node-llama-cpp, failing with a clear instruction when it is not installed. Not exported: its type names
// the optional peer, and a public declaration would make every consumer's type check need node-llama-cpp installed.
const importModule = (moduleName = "node-llama-cpp"): Effect.Effect<typeof import("node-llama-cpp"), LlmError> =>
  Effect.tryPromise({
    try: () => import(moduleName) as Promise<typeof import("node-llama-cpp")>,
    catch: (error) =>
      new LlmError({
        reason: "not-installed",
        endpoint: `llama.cpp:${moduleName}`,
        message: `cannot load ${moduleName} (${(error as Error)?.message ?? String(error)}); install node-llama-cpp to use local GGUF models: ${installCommand}`,
        retryable: false
      })
  })

type Lib = typeof import("node-llama-cpp")
type Llama = import("node-llama-cpp").Llama
type LlamaModel = import("node-llama-cpp").LlamaModel

/** Starts llama.cpp and loads the GGUF model, both released when the scope closes. */
const loadModel = (lib: Lib, options: LlamaCppOptions, fail: (what: string) => (error: unknown) => LlmError) =>
  Effect.gen(function* () {
    const llama = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          lib.getLlama({
            gpu: options.gpu ?? "auto",
            build: "never",
            logLevel: lib.LlamaLogLevel.error,
            ...(options.threads !== undefined ? { maxThreads: options.threads } : {})
          }),
        catch: fail("cannot start llama.cpp")
      }),
      (l) => Effect.promise(() => l.dispose())
    )
    const model = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => llama.loadModel({ modelPath: options.modelPath }),
        catch: fail(`cannot load the GGUF model (check the path and that it is a GGUF file)`)
      }),
      (m) => Effect.promise(() => m.dispose())
    )
    return { llama, model }
  })

/** The grammar a request's `responseFormat` asks for, built once per schema. */
const grammarCache = (llama: Llama) => {
  const grammars = new Map<string, Awaited<ReturnType<typeof llama.getGrammarFor>>>()
  return async (request: ChatRequest) => {
    const format = request.responseFormat
    if (format === undefined) return undefined
    const key = format.type === "json_schema" ? JSON.stringify(format.schema) : "json"
    const known = grammars.get(key)
    if (known) return known
    let grammar: Awaited<ReturnType<typeof llama.getGrammarFor>>
    if (format.type === "json_schema") {
      try {
        grammar = await llama.createGrammarForJsonSchema(format.schema as never)
      } catch {
        // schemas outside node-llama-cpp's JSON-schema subset fall back to plain JSON; Schema decode still checks
        grammar = await llama.getGrammarFor("json")
      }
    } else grammar = await llama.getGrammarFor("json")
    grammars.set(key, grammar)
    return grammar
  }
}

/** Chat messages as node-llama-cpp's chat history items. */
const chatHistory = (messages: ChatRequest["messages"]) =>
  messages.map((m) =>
    m.role === "system"
      ? { type: "system" as const, text: m.content }
      : m.role === "user"
        ? { type: "user" as const, text: m.content }
        : { type: "model" as const, response: [m.content] }
  )

/**
 * The embedder from the same model: one request at a time on an embedding context created on first use (and
 * disposed when the scope closes); vectors cut to the requested dimensions and L2-normalized.
 */
const embedderOf = (model: LlamaModel, options: LlamaCppOptions, id: string, modelName: string) =>
  Effect.gen(function* () {
    const threads = options.threads !== undefined ? { threads: options.threads } : {}
    let embeddingContext: Awaited<ReturnType<typeof model.createEmbeddingContext>> | undefined
    yield* Effect.addFinalizer(() => Effect.promise(async () => embeddingContext?.dispose()))
    const embedLock = Semaphore.makeUnsafe(1)
    const embedder: Models.TextEmbedder = {
      id: `${id}#embedding`,
      dimensions: model.embeddingVectorSize,
      embed: (texts, embedOptions) =>
        embedLock.withPermits(1)(
          Effect.tryPromise({
            try: async () => {
              embeddingContext ??= await model.createEmbeddingContext({
                contextSize: Math.min(options.contextSize ?? 2048, 512),
                ...threads
              })
              const dims = embedOptions.dimensions ?? model.embeddingVectorSize
              const out: Array<Float32Array> = []
              for (const text of texts) {
                const input = formatInput({ model: modelName, ...options.embedding }, text, embedOptions.kind)
                const { vector } = await embeddingContext.getEmbeddingFor(input)
                const v = new Float32Array(Math.min(dims, vector.length))
                let norm = 0
                for (let i = 0; i < v.length; i++) {
                  v[i] = vector[i]!
                  norm += v[i]! * v[i]!
                }
                norm = Math.sqrt(norm)
                if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm
                out.push(v)
              }
              return out
            },
            catch: (error) =>
              new Models.ModelError({
                backend: `${id}#embedding`,
                reason: "internal",
                message: `embedding failed: ${(error as Error)?.message ?? String(error)}`
              })
          })
        )
    }
    return embedder
  })

/**
 * Loads the model; it is unloaded when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: LlamaCppOptions): Effect.Effect<LlamaCppClient, LlmError, Scope.Scope> =>
  Effect.gen(function* () {
    const endpoint = `llama.cpp:${options.modelPath}`
    const lib = yield* importModule(options.moduleName)
    const fail = (what: string) => (error: unknown) =>
      unavailable(endpoint, `${what}: ${(error as Error)?.message ?? String(error)}`)
    const { llama, model } = yield* loadModel(lib, options, fail)
    const threads = options.threads !== undefined ? { threads: options.threads } : {}
    const context = yield* Effect.tryPromise({
      try: () => model.createContext({ contextSize: options.contextSize ?? 2048, ...threads }),
      catch: fail("cannot create a context")
    })
    const sequence = context.getSequence()
    const lock = Semaphore.makeUnsafe(1)
    const id = options.id ?? `llama.cpp:${model.filename ?? options.modelPath}`
    const modelName = options.model ?? model.filename ?? options.modelPath
    const grammarFor = grammarCache(llama)

    const generateOne = async (request: ChatRequest, seed: number | undefined) => {
      const session = new lib.LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false })
      try {
        const messages = request.messages
        const last = messages.at(-1)
        session.setChatHistory(chatHistory(last?.role === "user" ? messages.slice(0, -1) : messages))
        const grammar = await grammarFor(request)
        const result = await session.promptWithMeta(last?.role === "user" ? last.content : "", {
          maxTokens: request.maxTokens ?? options.maxTokens ?? 512,
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.topP !== undefined ? { topP: request.topP } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(grammar !== undefined ? { grammar } : {}),
          ...(request.stop !== undefined ? { customStopTriggers: [...request.stop] } : {})
        })
        return {
          text: result.responseText,
          finishReason: result.stopReason === "maxTokens" ? "length" : "stop"
        }
      } finally {
        session.dispose({ disposeSequence: false })
        await sequence.clearHistory()
      }
    }

    const complete = (request: ChatRequest): Effect.Effect<ChatResponse, LlmError> =>
      lock
        .withPermits(1)(
          Effect.tryPromise({
            try: async () => {
              const n = Math.max(1, request.n ?? 1)
              const choices = []
              for (let i = 0; i < n; i++) {
                choices.push(await generateOne(request, request.seed === undefined ? undefined : request.seed + i))
              }
              const promptTokens = request.messages.reduce((s, m) => s + model.tokenize(m.content).length, 0)
              const completionTokens = choices.reduce((s, c) => s + model.tokenize(c.text).length, 0)
              return {
                id: `llama-${Date.now().toString(36)}`,
                model: modelName,
                choices,
                usage: { promptTokens, completionTokens },
                cached: false
              } satisfies ChatResponse
            },
            catch: (error) =>
              new LlmError({
                reason: "server-error",
                endpoint,
                message: `generation failed: ${(error as Error)?.message ?? String(error)}`,
                retryable: false
              })
          })
        )
        .pipe((self) =>
          Effect.withSpan(self, `chat ${modelName}`, {
            kind: "internal",
            captureStackTrace: false,
            attributes: {
              "gen_ai.operation.name": "chat",
              "gen_ai.provider.name": "llama.cpp",
              "gen_ai.request.model": modelName
            }
          })
        )

    const embedder = yield* embedderOf(model, options, id, modelName)
    return { ...ChatClient.make({ id, model: modelName, complete }), embedder }
  })

/**
 * The `ChatClient` layer over a local GGUF model (unloaded when the layer is released).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: LlamaCppOptions): Layer.Layer<ChatClient.ChatClient, LlmError> =>
  Layer.effect(ChatClient.ChatClient, make(options))
