/**
 * The one atomic text-line writer behind JSONL and TREC output: rows are formatted chunk by chunk, hashed and
 * written to a temp file that is renamed over the target only when the stream ends; any failure deletes it.
 */
import { Buffer } from "node:buffer"
import { createHash } from "node:crypto"
import { Effect, Stream } from "effect"
import * as AtomicFile from "../AtomicFile.js"
import { DatasetError } from "../DatasetError.js"

export interface WriteSummary {
  readonly file: string
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
}

/** `format` gets each row and its 1-based line number; it throws a DatasetError to reject a row. */
export const writeLines = <A, E, R>(
  file: string,
  rows: Stream.Stream<A, E, R>,
  format: (row: A, line: number) => string
): Effect.Effect<WriteSummary, E | DatasetError, R> =>
  Effect.suspend(() => {
    let writer: AtomicFile.AtomicWriter
    try {
      writer = AtomicFile.openSync(file)
    } catch (cause) {
      return Effect.fail(
        new DatasetError({
          file,
          reason: "io",
          detail: String((cause as Error).message),
          hint: "check the directory is writable and the disk has space"
        })
      )
    }
    const hash = createHash("sha256")
    let count = 0
    let bytes = 0
    return Stream.runForEachArray(rows, (array) =>
      Effect.try({
        try: () => {
          let text = ""
          for (const row of array) {
            count++
            text += format(row, count) + "\n"
          }
          const buf = Buffer.from(text, "utf8")
          hash.update(buf)
          bytes += buf.length
          try {
            writer.write(buf)
          } catch (cause) {
            // a failed flush of the buffer (e.g. ENOSPC) is a disk problem, not a problem with the current row
            throw new DatasetError({
              file,
              reason: "io",
              detail: String((cause as Error)?.message ?? cause),
              hint: "check the disk has space"
            })
          }
        },
        catch: (cause) =>
          cause instanceof DatasetError
            ? cause
            : new DatasetError({ file, line: count, reason: "io", detail: String((cause as Error)?.message ?? cause) })
      })
    ).pipe(
      Effect.flatMap(() =>
        Effect.try({
          try: () => writer.commit(),
          catch: (cause) =>
            new DatasetError({
              file,
              reason: "io",
              detail: String((cause as Error).message),
              hint: "check the disk has space"
            })
        })
      ),
      Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(() => writer.abort()) : Effect.void)),
      Effect.map(() => ({ file, rows: count, bytes, sha256: hash.digest("hex") }))
    )
  })
