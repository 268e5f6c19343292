/**
 * `POST /v1/embeddings`: the OpenAI-compatible embeddings request and response, plus `input_type` so an
 * asymmetric model embeds queries and documents differently. `dimensions` truncates Matryoshka-style;
 * `encoding_format: "base64"` returns little-endian float32 bytes, as OpenAI does.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Text = Schema.String.annotate({ description: "A text to embed (non-empty after trimming)" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const EmbeddingsRequest = Schema.Struct({
  input: Schema.Union([Text, Schema.Array(Text)]).annotate({
    description: "One text or an array of texts"
  }),
  model: Schema.optionalKey(
    Schema.String.annotate({ description: "Ignored beyond echoing; the server has one embedder" })
  ),
  dimensions: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "Matryoshka truncation: at most the model's dimensions"
    })
  ),
  encoding_format: Schema.optionalKey(Schema.Literals(["float", "base64"])),
  input_type: Schema.optionalKey(
    Schema.Literals(["query", "document"]).annotate({ description: "How to embed the input (default: query)" })
  ),
  user: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingsRequest = typeof EmbeddingsRequest.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Embedding = Schema.Struct({
  object: Schema.Literal("embedding"),
  index: Schema.Int,
  embedding: Schema.Union([Schema.Array(Schema.Number), Schema.String]).annotate({
    description: "Floats, or base64 of little-endian float32 when encoding_format is base64"
  })
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const EmbeddingsResponse = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Embedding),
  model: Schema.String,
  usage: Schema.Struct({ prompt_tokens: Schema.Int, total_tokens: Schema.Int })
})

/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingsResponse = typeof EmbeddingsResponse.Type
