// Shared test helpers: a deterministic query writer (the server only relays its output; the real
// EmbeddedQueryModel needs D2Q training data) plus HTTP and raw-socket clients. Real models are in models.ts.

import { connect } from "node:net"
import type { Models } from "@ssra/core"
import { Effect } from "effect"

/** Writes `n` queries by taking slices of the document's text, longer for higher target grades. */
export const toyWriter: Models.QueryWriter = {
  id: "toy-writer",
  kind: "embedded",
  generate: (requests) =>
    Effect.sync(() =>
      requests.map((r) =>
        Array.from({ length: r.n }, (_, i) => ({
          query: r.document.text.slice(i, i + 2 + r.targetGrade),
          targetGrade: r.targetGrade,
          generator: { id: "toy-writer", promptVersion: "test/v1" }
        }))
      )
    )
}

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

/** One HTTP request with fetch; JSON bodies are serialized. */
export const http = (
  url: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}
): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body))
    const response = await fetch(url, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
      ...(body !== undefined ? { body } : {})
    })
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json }
  })

/** Writes raw bytes to the server and collects what it answers until it closes the socket or `waitMs` pass. */
export const rawExchange = (
  url: string,
  chunks: ReadonlyArray<{ readonly data: string | Buffer; readonly afterMs?: number }>,
  waitMs: number
): Effect.Effect<string> =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) => {
        const { hostname, port } = new URL(url)
        const socket = connect({ host: hostname, port: Number(port) })
        let received = ""
        socket.on("data", (d) => {
          received += d.toString("latin1")
        })
        socket.on("error", () => {})
        const finish = () => {
          clearTimeout(timer)
          socket.destroy()
          resolve(received)
        }
        socket.on("close", finish)
        const timer = setTimeout(finish, waitMs)
        let delay = 0
        for (const chunk of chunks) {
          delay += chunk.afterMs ?? 0
          setTimeout(() => {
            if (!socket.destroyed) socket.write(chunk.data)
          }, delay)
        }
      })
  )
