/**
 * OpenAI-compatible `/v1/files` upload and download, shared by batch and fine-tuning jobs.
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { LlmError } from "../ChatClient.js"
import type { Transport } from "./transport.js"
import * as Wire from "./wire.js"

export const decodeOr =
  <S extends Schema.Codec<any, any>>(schema: S, endpoint: string, what: string) =>
  (json: unknown) =>
    Schema.decodeUnknownEffect(schema)(json).pipe(
      Effect.mapError(
        (error) =>
          new LlmError({
            reason: "server-error",
            endpoint,
            message: `the response is not ${what}: ${error.message}`,
            retryable: true
          })
      )
    ) as Effect.Effect<S["Type"], LlmError>

export const upload = (
  transport: Transport,
  file: string,
  purpose: "batch" | "fine-tune"
): Effect.Effect<string, LlmError> =>
  Effect.gen(function* () {
    const content = yield* Effect.try({
      try: () => fs.readFileSync(file),
      catch: (error) =>
        new LlmError({
          reason: "bad-request",
          endpoint: transport.endpoint("/files"),
          message: `cannot read ${file}: ${(error as Error).message}`,
          retryable: false
        })
    })
    const form = new FormData()
    form.append("purpose", purpose)
    form.append("file", new Blob([content], { type: "application/jsonl" }), path.basename(file))
    const json = yield* transport.postForm("/files", form)
    const object = yield* decodeOr(Wire.FileObject, transport.endpoint("/files"), "a file object")(json)
    return object.id
  })

export const download = (transport: Transport, fileId: string): Effect.Effect<string, LlmError> =>
  transport.getText(`/files/${encodeURIComponent(fileId)}/content`)
