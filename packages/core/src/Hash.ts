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
export const hashValue = (value: unknown): string => {
  const hash = createHash("sha256")
  let buffer = ""
  const write = (text: string) => {
    buffer += text
    if (buffer.length >= FLUSH) {
      hash.update(buffer)
      buffer = ""
    }
  }
  const root = prepare(value, "")
  // JSON.stringify gives undefined here, which `sha256(canonicalJson(value))` could not hash either
  if (root === SKIP) throw new TypeError(`hashValue: a ${typeof value} has no JSON text`)
  emit(root, write, [])
  hash.update(buffer)
  return hash.digest("hex")
}

const FLUSH = 1 << 16
const SKIP: unique symbol = Symbol("skip")

/**
 * What `JSON.stringify(…, replacer)` of `canonicalJson` does to a property's value before writing it: `toJSON(key)`
 * first, then the replacer (a non-array object other than a Uint8Array becomes a plain object with its own keys
 * sorted). `SKIP` where JSON leaves the property out (undefined, functions, symbols).
 */
const prepare = (raw: unknown, key: string): unknown => {
  let v = raw
  if ((typeof v === "object" && v !== null) || typeof v === "bigint") {
    const toJSON = (v as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") v = toJSON.call(v, key)
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    v = Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, (v as Record<string, unknown>)[k]])
    )
  }
  return v === undefined || typeof v === "function" || typeof v === "symbol" ? SKIP : v
}

/**
 * Writes a prepared value as JSON, piece by piece: the same bytes as `canonicalJson` without building the whole
 * text, so a million-row array is hashed in constant extra memory.
 */
const emit = (v: unknown, write: (text: string) => void, open: Array<object>): void => {
  if (v === null || typeof v !== "object") {
    // strings, numbers (non-finite → null), booleans; a BigInt throws as JSON.stringify does
    write(JSON.stringify(v))
    return
  }
  if (open.includes(v)) throw new TypeError("hashValue: converting a circular structure to JSON")
  open.push(v)
  if (Array.isArray(v)) {
    write("[")
    for (let i = 0; i < v.length; i++) {
      if (i > 0) write(",")
      const item = prepare(v[i], String(i))
      if (item === SKIP) write("null")
      else emit(item, write, open)
    }
    write("]")
  } else {
    write("{")
    let first = true
    for (const k of Object.keys(v)) {
      const item = prepare((v as Record<string, unknown>)[k], k)
      if (item === SKIP) continue
      if (!first) write(",")
      first = false
      write(JSON.stringify(k))
      write(":")
      emit(item, write, open)
    }
    write("}")
  }
  open.pop()
}

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
    catch: (cause) => {
      const code = (cause as NodeJS.ErrnoException)?.code
      // a directory where a file belongs is a wrong path, not a failing disk
      return code === "EISDIR"
        ? new DatasetError({
            file,
            reason: "not-found",
            detail: "is a directory, expected a file",
            hint: "pass the file inside it"
          })
        : new DatasetError({
            file,
            reason: code === "ENOENT" ? "not-found" : "io",
            detail: String((cause as Error)?.message ?? cause)
          })
    }
  })
