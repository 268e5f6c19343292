/**
 * Content hashes for artifacts and cache keys: SHA-256 of files (streamed) and of canonical JSON (keys sorted),
 * so equal content gives equal ids on every machine.
 *
 * @since 0.1.0
 */

import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { Effect } from "effect"
import { DatasetError } from "./DatasetError.js"

/**
 * JSON with object keys sorted recursively: a stable text for hashing configs and requests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]])
        )
      : v
  )

/**
 * SHA-256 hex of a string or bytes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sha256 = (content: string | Uint8Array): string => createHash("sha256").update(content).digest("hex")

/**
 * SHA-256 hex of a value's canonical JSON.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hashValue = (value: unknown): string => sha256(canonicalJson(value))

/**
 * SHA-256 hex of a file, streamed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hashFile = (file: string): Effect.Effect<string, DatasetError> =>
  Effect.tryPromise({
    try: async () => {
      const hash = createHash("sha256")
      for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
      return hash.digest("hex")
    },
    catch: (cause) =>
      new DatasetError({
        file,
        reason: (cause as NodeJS.ErrnoException)?.code === "ENOENT" ? "not-found" : "io",
        detail: String((cause as Error)?.message ?? cause)
      })
  })
