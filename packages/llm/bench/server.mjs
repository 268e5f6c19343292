// OpenAI-compatible chat server with a fixed latency, run in its own process so the client's CPU is measured alone.
import * as http from "node:http"

const latencyMs = Number(process.argv[2] ?? 200)
const body = (id) =>
  JSON.stringify({
    id: `chatcmpl-${id}`,
    object: "chat.completion",
    created: 1763880000,
    model: "bench-model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: `{"id": ${id}, "grade": ${id % 4}}` },
        finish_reason: "stop",
        logprobs: null
      }
    ],
    usage: { prompt_tokens: 120, completion_tokens: 12, total_tokens: 132 }
  })
let hits = 0
const server = http.createServer((req, res) => {
  let raw = ""
  req.on("data", (c) => (raw += c))
  req.on("end", () => {
    hits++
    const m = /item (\d+)/.exec(raw)
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(body(m ? Number(m[1]) : 0))
    }, latencyMs)
  })
})
server.keepAliveTimeout = 120_000
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }))
process.on("message", (m) => {
  if (m === "hits") process.send?.({ hits })
})
