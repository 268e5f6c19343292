// OpenAI-compatible chat server with a fixed latency for the judge benchmark, in its own process: a pairwise
// question gets {"better": "A"}, a grading gets {"grade": 2} with the grade token's logprobs (one call per grading).
import * as http from "node:http"

const latencyMs = Number(process.argv[2] ?? 50)
const token = (t, logprob, top = [[t, logprob]]) => ({
  token: t,
  logprob,
  bytes: [...Buffer.from(t)],
  top_logprobs: top.map(([tt, lp]) => ({ token: tt, logprob: lp, bytes: [...Buffer.from(tt)] }))
})
const body = (pairwise) =>
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1763880000,
    model: "bench-model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: pairwise ? '{"better": "A"}' : '{"grade": 2}' },
        finish_reason: "stop",
        logprobs: pairwise
          ? null
          : {
              content: [
                token('{"grade": ', -0.01),
                token("2", -0.2, [
                  ["2", -0.2],
                  ["3", -1.8]
                ]),
                token("}", -0.01)
              ]
            }
      }
    ],
    usage: { prompt_tokens: 120, completion_tokens: 6, total_tokens: 126 }
  })
let hits = 0
const server = http.createServer((req, res) => {
  let raw = ""
  req.on("data", (c) => (raw += c))
  req.on("end", () => {
    hits++
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(body(raw.includes("better")))
    }, latencyMs)
  })
})
server.keepAliveTimeout = 120_000
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }))
process.on("message", (m) => {
  if (m === "hits") process.send?.({ hits })
})
