/**
 * The error the dual encoder and the loss throw for an option or argument out of range: a model config that
 * does not describe a valid model, a `dimensions` the model does not have, a fit for a channel the model lacks.
 *
 * @since 0.1.0
 */
import { Failure } from "@ssra/core"
import { Schema } from "effect"

/**
 * `option` names what was wrong (`config`, `matryoshkaDimensions`, `dimensions`, `lexical`, `featureWeighting`);
 * a usage error: fix the call or the config. (Read from a checkpoint, an invalid config is the checkpoint's
 * fault: `DualEncoder.load` fails with a `CheckpointError` instead.)
 *
 * @since 0.1.0
 * @category errors
 */
export class EmbeddingOptionError extends Schema.TaggedError<EmbeddingOptionError>()("EmbeddingOptionError", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("usage")
  }
}
