/**
 * Test-only helpers shared by the workspace's suites. Never built or published: consumers resolve the TypeScript
 * sources directly (the "@ssra/source" export condition, and "default" for tools without it).
 */
export {
  type ChatChoice,
  type ChatReply,
  chatCompletion,
  embeddingList,
  errorBody,
  Faults,
  inFlightCounter,
  lastUserMessage,
  type OpenAiServer,
  type OpenAiServerOptions,
  type RecordedRequest,
  type Reply,
  startOpenAiServer,
  type TokenLogprob,
  type Usage,
  unreachableBaseUrl,
  unusedPort,
  wireLogprobs
} from "./OpenAiServer.js"
export { thrown } from "./Thrown.js"
export { writeTinyLlamaGguf } from "./TinyGguf.js"
