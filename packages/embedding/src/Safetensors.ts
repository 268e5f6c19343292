/**
 * The safetensors file format, written and read by our own code: an 8-byte little-endian header length, a JSON
 * header (`dtype`, `shape`, `data_offsets` per tensor and a string-to-string `__metadata__`), then the tensors'
 * little-endian bytes back to back. F32 only, which is all the dual encoder stores.
 *
 * @since 0.1.0
 */

import * as fs from "node:fs"
import * as os from "node:os"
import { AtomicFile } from "@ssra/core"
import { CheckpointError } from "./CheckpointError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Tensor {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SafetensorsFile {
  readonly tensors: Readonly<Record<string, Tensor>>
  readonly metadata: Readonly<Record<string, string>>
}

const LITTLE_ENDIAN = os.endianness() === "LE"
const MAX_HEADER = 100 * 1024 * 1024

const leBytes = (data: Float32Array): Uint8Array => {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  const out = new Uint8Array(data.byteLength)
  const view = new DataView(out.buffer)
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true)
  return out
}

/**
 * Serializes tensors (in name order) and metadata. Fails with a `CheckpointError` on a shape/length mismatch or a
 * non-finite value: no NaN is ever written.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (file: SafetensorsFile, target = "<memory>"): Array<Uint8Array> => {
  const names = Object.keys(file.tensors).sort()
  const header: Record<string, unknown> = {}
  if (Object.keys(file.metadata).length > 0) header.__metadata__ = file.metadata
  let offset = 0
  for (const name of names) {
    const t = file.tensors[name]!
    const size = t.shape.reduce((a, b) => a * b, 1)
    if (size !== t.data.length) {
      throw new CheckpointError({
        path: target,
        reason: "invalid",
        detail: `tensor ${name}: shape [${t.shape}] holds ${size} values but data has ${t.data.length}`
      })
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) {
        throw new CheckpointError({
          path: target,
          reason: "non-finite",
          detail: `tensor ${name}[${i}] is ${t.data[i]}; refusing to write a checkpoint with NaN/Infinity`
        })
      }
    }
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] }
    offset += t.data.byteLength
  }
  let json = JSON.stringify(header)
  // pad with spaces so the data starts 8-byte aligned (as the reference writer does)
  const jsonBytes = Buffer.byteLength(json, "utf8")
  json += " ".repeat((8 - ((8 + jsonBytes) % 8)) % 8)
  const headerBytes = Buffer.from(json, "utf8")
  const prefix = new Uint8Array(8)
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true)
  return [prefix, headerBytes, ...names.map((n) => leBytes(file.tensors[n]!.data))]
}

/**
 * Writes a safetensors file atomically (temp file + rename).
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeSync = (target: string, file: SafetensorsFile): void => {
  const chunks = encode(file, target)
  const writer = AtomicFile.openSync(target)
  try {
    for (const c of chunks) writer.write(c)
    writer.commit()
  } catch (error) {
    writer.abort()
    throw error
  }
}

/**
 * Parses safetensors bytes, checking the header length, the JSON, each dtype, shape and offset range.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (bytes: Uint8Array, source = "<memory>"): SafetensorsFile => {
  const fail = (detail: string) => new CheckpointError({ path: source, reason: "corrupt", detail })
  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length)
    throw fail(`header length ${headerLength} does not fit the ${bytes.length}-byte file`)
  let header: Record<string, any>
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString("utf8"))
  } catch (error) {
    throw fail(`header is not valid JSON: ${(error as Error).message}`)
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw fail("header is not a JSON object")
  const dataStart = 8 + headerLength
  const dataLength = bytes.length - dataStart
  const tensors: Record<string, Tensor> = {}
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Object.values(entry).some((v) => typeof v !== "string"))
        throw fail("__metadata__ must map strings to strings")
      metadata = entry as Record<string, string>
      continue
    }
    if (entry?.dtype !== "F32")
      throw fail(`tensor ${name}: dtype ${JSON.stringify(entry?.dtype)} is not supported (F32 only)`)
    const shape = entry.shape
    const offsets = entry.data_offsets
    if (!Array.isArray(shape) || !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0))
      throw fail(`tensor ${name}: bad shape`)
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d: unknown) => Number.isInteger(d)))
      throw fail(`tensor ${name}: bad data_offsets`)
    const [begin, end] = offsets as [number, number]
    const size = (shape as Array<number>).reduce((a, b) => a * b, 1)
    if (begin < 0 || end > dataLength || end - begin !== size * 4)
      throw fail(
        `tensor ${name}: data_offsets [${begin}, ${end}] do not match shape [${shape}] within ${dataLength} data bytes`
      )
    const data = new Float32Array(size)
    if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end))
    else for (let i = 0; i < size; i++) data[i] = view.getFloat32(dataStart + begin + i * 4, true)
    tensors[name] = { shape, data }
  }
  return { tensors, metadata }
}

/**
 * Reads a safetensors file.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readSync = (file: string): SafetensorsFile => {
  let bytes: Uint8Array
  try {
    bytes = fs.readFileSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new CheckpointError({
      path: file,
      reason: code === "ENOENT" ? "not-found" : "io",
      detail: String((error as Error).message)
    })
  }
  return decode(bytes, file)
}
