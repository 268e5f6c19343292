// Test fixture: makes the disk under one directory "fill up" after a byte budget, at the OS boundary.
//
//   node --import ./disk-full-preload.mjs …   with
//   SSRA_DISK_FULL_DIR=<dir>      writes to files under this directory count against the budget
//   SSRA_DISK_FULL_BYTES=<n>      how many bytes fit; the write that crosses it is cut short (as a real
//                                 short write) and every later one fails with a real-shaped ENOSPC error
//   SSRA_DISK_FULL_LOG=<file>     optional: appends "<bytes>\t<path>" for every counted write (outside <dir>)
//
// It wraps the CommonJS `node:fs` object (openSync/closeSync/writeSync/writeFileSync) and then calls
// `syncBuiltinESMExports()`, so code that does `import * as fs from "node:fs"` sees the wrapped functions too.
// Without both variables set it changes nothing.
import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import * as path from "node:path"

const root = process.env.SSRA_DISK_FULL_DIR
const budget = process.env.SSRA_DISK_FULL_BYTES
const log = process.env.SSRA_DISK_FULL_LOG

if (root !== undefined && root !== "" && budget !== undefined && budget !== "") {
  const prefix = path.resolve(root) + path.sep
  let left = Number(budget)
  if (!Number.isFinite(left) || left < 0) throw new Error(`SSRA_DISK_FULL_BYTES must be a byte count, got ${budget}`)

  const original = {
    openSync: fs.openSync,
    closeSync: fs.closeSync,
    writeSync: fs.writeSync,
    writeFileSync: fs.writeFileSync,
    appendFileSync: fs.appendFileSync
  }
  /** Open file descriptors of files under the directory, and their paths. */
  const watched = new Map()

  const pathOf = (p) =>
    typeof p === "string" ? p : p instanceof URL ? p.pathname : Buffer.isBuffer(p) ? p.toString() : undefined
  const isWatched = (p) => {
    const s = pathOf(p)
    return s !== undefined && path.resolve(s).startsWith(prefix)
  }
  const enospc = () =>
    Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" })
  const record = (file, bytes) => {
    if (log !== undefined && log !== "") original.appendFileSync(log, `${bytes}\t${file}\n`)
  }

  fs.openSync = function openSync(file, ...rest) {
    const fd = original.openSync.call(fs, file, ...rest)
    if (isWatched(file)) watched.set(fd, path.resolve(pathOf(file)))
    return fd
  }
  fs.closeSync = function closeSync(fd, ...rest) {
    watched.delete(fd)
    return original.closeSync.call(fs, fd, ...rest)
  }
  fs.writeSync = function writeSync(fd, data, ...rest) {
    const file = watched.get(fd)
    if (file === undefined) return original.writeSync.call(fs, fd, data, ...rest)
    if (left <= 0) throw enospc()
    if (typeof data === "string") {
      // writeSync(fd, string[, position[, encoding]])
      const encoding = typeof rest[1] === "string" ? rest[1] : "utf8"
      return fs.writeSync(fd, Buffer.from(data, encoding), 0, undefined, rest[0] ?? null)
    }
    // writeSync(fd, buffer[, offset[, length[, position]]]) or writeSync(fd, buffer, { offset, length, position })
    const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    const options = rest[0] !== null && typeof rest[0] === "object" ? rest[0] : undefined
    const offset = (options ? options.offset : rest[0]) ?? 0
    const length = (options ? options.length : rest[1]) ?? view.length - offset
    const position = (options ? options.position : rest[2]) ?? null
    const n = Math.min(length, left)
    const written = original.writeSync.call(fs, fd, view, offset, n, position)
    left -= written
    record(file, written)
    return written
  }
  const writeWhole = (original) => (file, data, options) => {
    if (!isWatched(file)) return original.call(fs, file, data, options)
    const encoding = typeof options === "string" ? options : (options?.encoding ?? "utf8")
    const flag =
      typeof options === "object" && options?.flag ? options.flag : original === writeFileOriginal ? "w" : "a"
    const bytes = typeof data === "string" ? Buffer.from(data, encoding) : data
    const fd = fs.openSync(file, flag)
    try {
      let off = 0
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off)
    } finally {
      fs.closeSync(fd)
    }
  }
  const writeFileOriginal = original.writeFileSync
  fs.writeFileSync = writeWhole(original.writeFileSync)
  fs.appendFileSync = writeWhole(original.appendFileSync)
  syncBuiltinESMExports()
}
