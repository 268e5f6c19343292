/**
 * The OpenAI wire format as the servers send it (OpenAI, vLLM, SGLang, Ollama, llama.cpp server, Ark, DashScope,
 * DeepSeek): only the fields we read, the rest ignored; `null`s and missing fields tolerated where real servers
 * send them.
 */
import { Schema } from "effect"

const TopLogprob = Schema.Struct({
  token: Schema.String,
  logprob: Schema.Number
})

const TokenLogprob = Schema.Struct({
  token: Schema.String,
  logprob: Schema.Number,
  top_logprobs: Schema.optionalKey(Schema.NullOr(Schema.Array(TopLogprob)))
})

export const ChatCompletion = Schema.Struct({
  id: Schema.optionalKey(Schema.String),
  model: Schema.optionalKey(Schema.String),
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.optionalKey(Schema.Number),
      message: Schema.Struct({
        role: Schema.optionalKey(Schema.String),
        content: Schema.optionalKey(Schema.NullOr(Schema.String)),
        reasoning_content: Schema.optionalKey(Schema.NullOr(Schema.String))
      }),
      finish_reason: Schema.optionalKey(Schema.NullOr(Schema.String)),
      logprobs: Schema.optionalKey(
        Schema.NullOr(Schema.Struct({ content: Schema.optionalKey(Schema.NullOr(Schema.Array(TokenLogprob))) }))
      )
    })
  ),
  usage: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        prompt_tokens: Schema.optionalKey(Schema.Number),
        completion_tokens: Schema.optionalKey(Schema.Number)
      })
    )
  )
})
export type ChatCompletion = typeof ChatCompletion.Type

export const Embeddings = Schema.Struct({
  data: Schema.Array(
    Schema.Struct({ index: Schema.optionalKey(Schema.Number), embedding: Schema.Array(Schema.Number) })
  ),
  model: Schema.optionalKey(Schema.String),
  usage: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        prompt_tokens: Schema.optionalKey(Schema.Number),
        total_tokens: Schema.optionalKey(Schema.Number)
      })
    )
  )
})
export type Embeddings = typeof Embeddings.Type

export const FileObject = Schema.Struct({
  id: Schema.String,
  purpose: Schema.optionalKey(Schema.String),
  filename: Schema.optionalKey(Schema.String),
  bytes: Schema.optionalKey(Schema.Number)
})

export const Batch = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  input_file_id: Schema.optionalKey(Schema.String),
  output_file_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  error_file_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  request_counts: Schema.optionalKey(
    Schema.NullOr(Schema.Struct({ total: Schema.Number, completed: Schema.Number, failed: Schema.Number }))
  )
})
export type Batch = typeof Batch.Type

export const BatchOutputLine = Schema.Struct({
  custom_id: Schema.String,
  response: Schema.optionalKey(Schema.NullOr(Schema.Struct({ status_code: Schema.Number, body: Schema.Unknown }))),
  error: Schema.optionalKey(
    Schema.NullOr(Schema.Struct({ code: Schema.optionalKey(Schema.NullOr(Schema.String)), message: Schema.String }))
  )
})

export const FineTuningJob = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  model: Schema.optionalKey(Schema.String),
  fine_tuned_model: Schema.optionalKey(Schema.NullOr(Schema.String)),
  trained_tokens: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  error: Schema.optionalKey(Schema.NullOr(Schema.Struct({ message: Schema.optionalKey(Schema.NullOr(Schema.String)) })))
})
export type FineTuningJob = typeof FineTuningJob.Type
