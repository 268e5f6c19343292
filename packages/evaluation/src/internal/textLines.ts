import { closeSync, openSync, readSync } from "node:fs"

/**
 * Calls `onLine(text, start, end, lineNumber)` for each line of `text` (without the newline; a trailing `\r` is
 * left in), without allocating line strings.
 */
export const forEachLine = (
  text: string,
  firstLine: number,
  onLine: (text: string, start: number, end: number, line: number) => void
): number => {
  let line = firstLine
  let pos = 0
  const n = text.length
  while (pos < n) {
    let end = text.indexOf("\n", pos)
    if (end === -1) end = n
    onLine(text, pos, end, line)
    line++
    pos = end + 1
  }
  return line
}

/**
 * Reads a file in chunks of whole lines (split at the last newline of each block, which is safe in UTF-8), so
 * files larger than V8's longest string can be parsed, and memory stays proportional to the parsed result.
 */
export const forEachChunk = (
  file: string,
  onText: (text: string, firstLine: number) => number,
  blockBytes = 32 << 20
): void => {
  const fd = openSync(file, "r")
  try {
    let buffer = Buffer.allocUnsafe(blockBytes)
    let carry = 0
    let line = 1
    for (;;) {
      if (carry === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2)
        buffer.copy(bigger, 0, 0, carry)
        buffer = bigger
      }
      const read = readSync(fd, buffer, carry, buffer.length - carry, null)
      const filled = carry + read
      if (read === 0) {
        if (filled > 0) onText(buffer.toString("utf8", 0, filled), line)
        return
      }
      const lastNewline = buffer.lastIndexOf(10, filled - 1)
      if (lastNewline === -1) {
        carry = filled
        continue
      }
      line = onText(buffer.toString("utf8", 0, lastNewline + 1), line)
      buffer.copy(buffer, 0, lastNewline + 1, filled)
      carry = filled - lastNewline - 1
    }
  } finally {
    closeSync(fd)
  }
}

/** Whitespace (space, tab, CR, vertical tab, form feed). */
const isSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 11 || c === 12

/**
 * Splits `text[start, end)` into whitespace-separated fields, writing [from, to) pairs into `bounds`; returns the
 * number of fields (it keeps counting past `bounds`' capacity, without writing).
 */
export const splitFields = (text: string, start: number, end: number, bounds: Int32Array): number => {
  let count = 0
  let i = start
  const capacity = bounds.length >> 1
  while (i < end) {
    while (i < end && isSpace(text.charCodeAt(i))) i++
    if (i >= end) break
    const from = i
    while (i < end && !isSpace(text.charCodeAt(i))) i++
    if (count < capacity) {
      bounds[2 * count] = from
      bounds[2 * count + 1] = i
    }
    count++
  }
  return count
}
