/**
 * Atomic writes: data goes to a temporary file beside the target, is flushed to disk, and only then renamed
 * over the final name, so a crash or `kill -9` leaves either the old file or the complete new one — never a
 * half file under the final name.
 *
 * @since 0.1.0
 */

import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { DatasetError } from "./DatasetError.js"

/**
 * The temporary path used while `target` is being written.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tempPathFor = (target: string): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`)

/**
 * An open atomic writer: write chunks, then `commit` (fsync + rename) or `abort` (delete the temp file).
 *
 * @since 0.1.0
 * @category models
 */
export interface AtomicWriter {
  readonly tempPath: string
  readonly write: (chunk: string | Uint8Array) => void
  readonly commit: () => void
  readonly abort: () => void
}

const BUFFER_BYTES = 1 << 20

/**
 * Opens an atomic writer synchronously (plain code for hot loops; buffered 1 MiB writes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const openSync = (target: string): AtomicWriter => {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true })
  const tempPath = tempPathFor(target)
  const fd = fs.openSync(tempPath, "w")
  let pending: Array<Uint8Array> = []
  let pendingBytes = 0
  let closed = false
  const flush = () => {
    if (pendingBytes === 0) return
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending)
    let off = 0
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off)
    pending = []
    pendingBytes = 0
  }
  return {
    tempPath,
    write: (chunk) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk
      pending.push(bytes)
      pendingBytes += bytes.length
      if (pendingBytes >= BUFFER_BYTES) flush()
    },
    commit: () => {
      if (closed) return
      flush()
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      closed = true
      fs.renameSync(tempPath, target)
      try {
        const dir = fs.openSync(path.dirname(path.resolve(target)), "r")
        fs.fsyncSync(dir)
        fs.closeSync(dir)
      } catch {
        // directories cannot be fsynced on every platform; the rename itself is still atomic
      }
    },
    abort: () => {
      if (!closed) {
        closed = true
        try {
          fs.closeSync(fd)
        } catch {}
      }
      fs.rmSync(tempPath, { force: true })
    }
  }
}

/**
 * Writes `content` to `target` atomically.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeFile = (target: string, content: string | Uint8Array): Effect.Effect<void, DatasetError> =>
  Effect.try({
    try: () => writeFileSync(target, content),
    catch: (cause) =>
      new DatasetError({
        file: target,
        reason: "io",
        detail: String((cause as Error)?.message ?? cause),
        hint: "check the directory exists, is writable and the disk has space"
      })
  })

/**
 * Synchronous `writeFile`, for code outside Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeFileSync = (target: string, content: string | Uint8Array): void => {
  const writer = openSync(target)
  try {
    writer.write(content)
    writer.commit()
  } catch (error) {
    writer.abort()
    throw error
  }
}

/**
 * Writes a JSON value atomically (2-space indented, trailing newline).
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeJson = (target: string, value: unknown): Effect.Effect<void, DatasetError> =>
  writeFile(target, JSON.stringify(value, null, 2) + "\n")

/**
 * The prefix of a temporary sibling directory for `target` (for `fs.mkdtempSync`): dot-named and carrying this
 * process's id, so `sweepStale` can tell a crashed writer's leftovers from a live one's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tempDirPrefixFor = (target: string): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp-`)

// `.<name>.<pid>.<hex>.tmp` (tempPathFor) and `.<name>.<pid>.tmp-<suffix>` (tempDirPrefixFor, plus `.old`)
const TEMP_NAME = /^\..+\.(\d+)\.(?:[0-9a-f]+\.tmp|tmp-[^/]*)$/

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Removes the temporary files and directories a killed writer left in `dir` (named by `tempPathFor` /
 * `tempDirPrefixFor` with the id of a process that no longer runs; a live process's are kept), recursively when
 * asked. Returns how many entries were removed. A missing `dir` removes nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sweepStale = (dir: string, options: { readonly recursive?: boolean | undefined } = {}): number => {
  let removed = 0
  const walk = (d: string) => {
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const full = path.join(d, entry.name)
      const m = TEMP_NAME.exec(entry.name)
      if (m !== null && !alive(Number(m[1]))) {
        fs.rmSync(full, { recursive: true, force: true })
        removed++
      } else if (options.recursive === true && entry.isDirectory()) walk(full)
    }
  }
  walk(dir)
  return removed
}
