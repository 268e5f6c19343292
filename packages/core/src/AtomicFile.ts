/**
 * Atomic writes: data goes to a temporary file beside the target, is flushed to disk, and only then renamed
 * over the final name, so a crash or `kill -9` leaves either the old file or the complete new one — never a
 * half file under the final name. Directories (model checkpoints) are published the same way: written into a
 * temporary sibling directory, flushed, and swapped in (`writeDirectorySync`, `copyDirectorySync`).
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
export const sweepStale = (dir: string, options: { readonly recursive?: boolean | undefined } = {}): number =>
  sweep(dir, options.recursive === true, () => true)

const sweep = (dir: string, recursive: boolean, include: (name: string, pid: string) => boolean): number => {
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
      if (m !== null && include(entry.name, m[1]!) && !alive(Number(m[1]))) {
        fs.rmSync(full, { recursive: true, force: true })
        removed++
      } else if (recursive && entry.isDirectory()) walk(full)
    }
  }
  walk(dir)
  return removed
}

/** Flushes a file or directory to disk; directories cannot be fsynced on every platform (the renames stay atomic). */
const fsyncPath = (file: string): void => {
  let fd: number
  try {
    fd = fs.openSync(file, "r")
  } catch {
    return
  }
  try {
    fs.fsyncSync(fd)
  } catch {
    // EINVAL / EPERM on a directory where the platform does not support it
  } finally {
    fs.closeSync(fd)
  }
}

/** Flushes every file and directory under `dir` (depth first), then `dir` itself. */
const fsyncTree = (dir: string): void => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) fsyncTree(full)
    else if (entry.isFile()) fsyncPath(full)
  }
  fsyncPath(dir)
}

/**
 * Finishes a directory publish (`writeDirectorySync`) that was killed between its two renames: after moving the
 * old `target` aside (`<temp>.old`) and before moving the new one (`<temp>`, complete by then) into place, `target`
 * is missing. Puts the new one in place (or, when only the old one is left, the old one back) and removes the
 * moved-aside copies. A no-op when `target` exists. Returns whether it restored anything. Readers of a directory
 * published this way call it before reading.
 *
 * @since 0.1.0
 * @category constructors
 */
export const recoverDirectorySync = (target: string): boolean => {
  const resolved = path.resolve(target)
  if (fs.existsSync(resolved)) return false
  const parent = path.dirname(resolved)
  const prefix = `.${path.basename(resolved)}.`
  let entries: Array<string>
  try {
    entries = fs.readdirSync(parent)
  } catch {
    return false
  }
  const olds = entries.filter((e) => e.startsWith(prefix) && /\.tmp-[^/]*\.old$/.test(e)).sort()
  for (const old of olds) {
    const fresh = old.slice(0, -".old".length)
    if (entries.includes(fresh)) fs.renameSync(path.join(parent, fresh), resolved)
    else fs.renameSync(path.join(parent, old), resolved)
    for (const leftover of olds) fs.rmSync(path.join(parent, leftover), { recursive: true, force: true })
    return true
  }
  return false
}

/**
 * Publishes a directory atomically: `write` fills a fresh temporary sibling of `target` (named by
 * `tempDirPrefixFor`, with the permissions `mkdir` gives), whose files and directories are then flushed to disk
 * before it is renamed over `target` (an existing `target` is moved aside first and removed after). A reader sees
 * the old directory or the complete new one, never a mix of two writes; a failed `write` (a full disk) removes the
 * temporary directory and leaves `target` as it was. Before writing it finishes a publish of `target` killed
 * between its renames (`recoverDirectorySync`) and removes the temporary siblings of `target` that writers no
 * longer running left.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeDirectorySync = (target: string, write: (tempDir: string) => void): void => {
  const resolved = path.resolve(target)
  const parent = path.dirname(resolved)
  fs.mkdirSync(parent, { recursive: true })
  recoverDirectorySync(resolved)
  // only this target's temporary directories (and their moved-aside `.old` copies), not other writers' files
  const own = `.${path.basename(resolved)}.`
  sweep(parent, false, (name, pid) => name.startsWith(`${own}${pid}.tmp-`))
  // created like any output directory (mkdir's mode under the umask, not mkdtemp's private 0700), exclusively
  const temp = `${tempDirPrefixFor(resolved)}${randomBytes(6).toString("hex")}`
  fs.mkdirSync(temp)
  try {
    write(temp)
    fsyncTree(temp)
    let old: string | undefined
    if (fs.existsSync(resolved)) {
      old = `${temp}.old`
      fs.renameSync(resolved, old)
    }
    fs.renameSync(temp, resolved)
    if (old !== undefined) fs.rmSync(old, { recursive: true, force: true })
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true })
    throw error
  }
  fsyncPath(parent)
}

/**
 * Publishes a copy of the directory `from` at `target` through `writeDirectorySync`: a failed copy (a full disk)
 * leaves no part of it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const copyDirectorySync = (from: string, target: string): void =>
  writeDirectorySync(target, (temp) => fs.cpSync(from, temp, { recursive: true }))
