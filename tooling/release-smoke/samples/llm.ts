// @ssra/llm: estimate the tokens, cost and time of a batch of chat calls before making any.
import { Estimate } from "@ssra/llm"

const estimate = Estimate.fromSample(
  [{ messages: [{ role: "user", content: "Write three search queries for: 宝宝发烧的处理方法" }], maxTokens: 64 }],
  { totalCalls: 1000, model: "gpt-4o-mini", throughput: { requestsPerSecond: 10 } }
)
if (estimate.calls !== 1000 || !(estimate.promptTokens > 0)) throw new Error(JSON.stringify(estimate))
console.log("llm:", estimate.calls, "calls,", estimate.promptTokens, "prompt tokens,", estimate.seconds, "s")
