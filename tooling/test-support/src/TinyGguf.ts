/**
 * Writes a tiny random-weight llama GGUF (v3) so the node-llama-cpp backend can be tested on the real code path
 * without downloading a model: SPM vocabulary with byte fallback, a ChatML chat template, one transformer block
 * and F32 tensors, seeded so every run writes the same bytes. Its answers are noise; use it to check wiring
 * (loading, grammars, structured output, embeddings), never quality. Test-only: it lives here,
 * in the private test-support package, not in a published one.
 */
import * as fs from "node:fs"

const GGUF_MAGIC = 0x46554747 // "GGUF" little-endian
const ALIGNMENT = 32

// GGUF metadata value types
const T_UINT32 = 4
const T_INT32 = 5
const T_FLOAT32 = 6
const T_STRING = 8
const T_ARRAY = 9

type Kv =
  | { readonly key: string; readonly type: "u32"; readonly value: number }
  | { readonly key: string; readonly type: "f32"; readonly value: number }
  | { readonly key: string; readonly type: "string"; readonly value: string }
  | { readonly key: string; readonly type: "string[]"; readonly value: ReadonlyArray<string> }
  | { readonly key: string; readonly type: "f32[]"; readonly value: ReadonlyArray<number> }
  | { readonly key: string; readonly type: "i32[]"; readonly value: ReadonlyArray<number> }

class ByteWriter {
  private chunks: Array<Buffer> = []
  length = 0
  push(b: Buffer) {
    this.chunks.push(b)
    this.length += b.length
  }
  u32(v: number) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v)
    this.push(b)
  }
  i32(v: number) {
    const b = Buffer.alloc(4)
    b.writeInt32LE(v)
    this.push(b)
  }
  u64(v: number) {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(v))
    this.push(b)
  }
  f32(v: number) {
    const b = Buffer.alloc(4)
    b.writeFloatLE(v)
    this.push(b)
  }
  str(s: string) {
    const bytes = Buffer.from(s, "utf8")
    this.u64(bytes.length)
    this.push(bytes)
  }
  pad(alignment: number) {
    const rem = this.length % alignment
    if (rem !== 0) this.push(Buffer.alloc(alignment - rem))
  }
  concat() {
    return Buffer.concat(this.chunks)
  }
}

/** xorshift32: a seeded generator for the weights. */
const prng = (seed: number) => {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4294967296
  }
}

/** The vocabulary: specials, ChatML control tokens, printable ASCII pieces, then 256 byte-fallback tokens. */
const vocabulary = () => {
  const tokens: Array<string> = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
  const types: Array<number> = [2, 3, 3, 3, 3]
  tokens.push("\u2581")
  types.push(1)
  for (let c = 33; c < 127; c++) {
    tokens.push(String.fromCharCode(c))
    types.push(1)
  }
  for (const word of ["\u2581the", "\u2581a", "\u2581query", "\u2581grade"]) {
    tokens.push(word)
    types.push(1)
  }
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)
    types.push(6)
  }
  const scores = tokens.map((t, i) => (types[i] === 1 ? -Math.max(1, 10 - t.length) : 0))
  return { tokens, types, scores }
}

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

/** Writes the model to `file` (the same bytes for the same `seed`) and returns its size in bytes. */
export const writeTinyLlamaGguf = (file: string, seed = 42): number => {
  const nEmbd = 64
  const nHead = 4
  const nLayer = 1
  const nFf = 128
  const ctx = 512
  const { tokens, types, scores } = vocabulary()
  const nVocab = tokens.length

  const kvs: Array<Kv> = [
    { key: "general.architecture", type: "string", value: "llama" },
    { key: "general.name", type: "string", value: "ssra-tiny-random-llama" },
    { key: "general.alignment", type: "u32", value: ALIGNMENT },
    { key: "llama.context_length", type: "u32", value: ctx },
    { key: "llama.embedding_length", type: "u32", value: nEmbd },
    { key: "llama.block_count", type: "u32", value: nLayer },
    { key: "llama.feed_forward_length", type: "u32", value: nFf },
    { key: "llama.attention.head_count", type: "u32", value: nHead },
    { key: "llama.attention.head_count_kv", type: "u32", value: nHead },
    { key: "llama.rope.dimension_count", type: "u32", value: nEmbd / nHead },
    { key: "llama.attention.layer_norm_rms_epsilon", type: "f32", value: 1e-5 },
    { key: "llama.vocab_size", type: "u32", value: nVocab },
    { key: "tokenizer.ggml.model", type: "string", value: "llama" },
    { key: "tokenizer.ggml.tokens", type: "string[]", value: tokens },
    { key: "tokenizer.ggml.scores", type: "f32[]", value: scores },
    { key: "tokenizer.ggml.token_type", type: "i32[]", value: types },
    { key: "tokenizer.ggml.bos_token_id", type: "u32", value: 1 },
    { key: "tokenizer.ggml.eos_token_id", type: "u32", value: 4 },
    { key: "tokenizer.ggml.unknown_token_id", type: "u32", value: 0 },
    { key: "tokenizer.ggml.add_bos_token", type: "u32", value: 0 },
    { key: "tokenizer.chat_template", type: "string", value: CHATML_TEMPLATE }
  ]
  // add_bos_token is a bool in real files; write it as bool (type 7) below

  // tensor shapes in GGUF order (ne0 = innermost)
  const tensors: Array<{ name: string; dims: ReadonlyArray<number>; fill: "norm" | "random" }> = [
    { name: "token_embd.weight", dims: [nEmbd, nVocab], fill: "random" },
    { name: "output_norm.weight", dims: [nEmbd], fill: "norm" },
    { name: "output.weight", dims: [nEmbd, nVocab], fill: "random" }
  ]
  for (let l = 0; l < nLayer; l++) {
    tensors.push(
      { name: `blk.${l}.attn_norm.weight`, dims: [nEmbd], fill: "norm" },
      { name: `blk.${l}.attn_q.weight`, dims: [nEmbd, nEmbd], fill: "random" },
      { name: `blk.${l}.attn_k.weight`, dims: [nEmbd, nEmbd], fill: "random" },
      { name: `blk.${l}.attn_v.weight`, dims: [nEmbd, nEmbd], fill: "random" },
      { name: `blk.${l}.attn_output.weight`, dims: [nEmbd, nEmbd], fill: "random" },
      { name: `blk.${l}.ffn_norm.weight`, dims: [nEmbd], fill: "norm" },
      { name: `blk.${l}.ffn_gate.weight`, dims: [nEmbd, nFf], fill: "random" },
      { name: `blk.${l}.ffn_down.weight`, dims: [nFf, nEmbd], fill: "random" },
      { name: `blk.${l}.ffn_up.weight`, dims: [nEmbd, nFf], fill: "random" }
    )
  }

  const w = new ByteWriter()
  w.u32(GGUF_MAGIC)
  w.u32(3)
  w.u64(tensors.length)
  w.u64(kvs.length)
  for (const kv of kvs) {
    w.str(kv.key)
    switch (kv.type) {
      case "u32":
        if (kv.key === "tokenizer.ggml.add_bos_token") {
          w.u32(7)
          w.push(Buffer.from([kv.value ? 1 : 0]))
        } else {
          w.u32(T_UINT32)
          w.u32(kv.value)
        }
        break
      case "f32":
        w.u32(T_FLOAT32)
        w.f32(kv.value)
        break
      case "string":
        w.u32(T_STRING)
        w.str(kv.value)
        break
      case "string[]":
        w.u32(T_ARRAY)
        w.u32(T_STRING)
        w.u64(kv.value.length)
        for (const s of kv.value) w.str(s)
        break
      case "f32[]":
        w.u32(T_ARRAY)
        w.u32(T_FLOAT32)
        w.u64(kv.value.length)
        for (const v of kv.value) w.f32(v)
        break
      case "i32[]":
        w.u32(T_ARRAY)
        w.u32(T_INT32)
        w.u64(kv.value.length)
        for (const v of kv.value) w.i32(v)
        break
    }
  }
  let offset = 0
  const offsets: Array<number> = []
  for (const t of tensors) {
    const bytes = t.dims.reduce((a, b) => a * b, 1) * 4
    offsets.push(offset)
    offset += bytes
    offset += (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT
  }
  tensors.forEach((t, i) => {
    w.str(t.name)
    w.u32(t.dims.length)
    for (const d of t.dims) w.u64(d)
    w.u32(0) // GGML_TYPE_F32
    w.u64(offsets[i]!)
  })
  w.pad(ALIGNMENT)
  const rand = prng(seed)
  const dataStart = w.length
  tensors.forEach((t, i) => {
    while (w.length - dataStart < offsets[i]!) w.push(Buffer.alloc(offsets[i]! - (w.length - dataStart)))
    const n = t.dims.reduce((a, b) => a * b, 1)
    const data = new Float32Array(n)
    const scale = 1 / Math.sqrt(t.dims[0]!)
    for (let k = 0; k < n; k++) data[k] = t.fill === "norm" ? 1 : (rand() * 2 - 1) * scale
    w.push(Buffer.from(data.buffer))
  })
  w.pad(ALIGNMENT)
  const out = w.concat()
  fs.writeFileSync(file, out)
  return out.length
}
