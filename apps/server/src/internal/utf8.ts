/**
 * Strict UTF-8 for request bodies: a body with invalid bytes is refused with the offset of the first one, instead
 * of being decoded with U+FFFD replacements that would then be embedded or scored as if the client had sent them.
 */
import { isUtf8 } from "node:buffer"

const strict = new TextDecoder("utf-8", { fatal: true })

/** The length of the valid sequence starting at `i` (1..4), or 0 when the bytes there are not UTF-8 (RFC 3629). */
const sequenceLength = (bytes: Uint8Array, i: number): number => {
  const b0 = bytes[i]!
  if (b0 < 0x80) return 1
  const continuation = (k: number, low = 0x80, high = 0xbf) =>
    i + k < bytes.length && bytes[i + k]! >= low && bytes[i + k]! <= high
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1) ? 2 : 0
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // no overlongs (E0 A0..), no surrogates (ED ..9F)
    const [low, high] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf]
    return continuation(1, low, high) && continuation(2) ? 3 : 0
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // no overlongs (F0 90..), nothing above U+10FFFF (F4 ..8F)
    const [low, high] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf]
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0
  }
  return 0
}

/** The byte offset of the first byte that is not part of a valid UTF-8 sequence, or -1 when all are valid. */
export const firstInvalidOffset = (bytes: Uint8Array): number => {
  if (isUtf8(bytes)) return -1
  for (let i = 0; i < bytes.length; ) {
    const n = sequenceLength(bytes, i)
    if (n === 0) return i
    i += n
  }
  return -1
}

/** The text of a valid UTF-8 body, or the offset (and byte) of the first invalid one. */
export const decode = (
  bytes: Uint8Array
): { readonly text: string } | { readonly offset: number; readonly byte: number } => {
  const offset = firstInvalidOffset(bytes)
  return offset < 0 ? { text: strict.decode(bytes) } : { offset, byte: bytes[offset]! }
}
