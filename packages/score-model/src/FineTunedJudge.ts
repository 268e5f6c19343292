/**
 * The fine-tuned LLM score model: the LLM judge's call, zero-shot, against a model fine-tuned on
 * `Sft.exportScoreSft` data — the same system and user messages the SFT rows carry, so the model sees at
 * inference exactly what it was trained on. The fine-tuning job itself runs through `@ssra/llm`'s
 * `FineTuningJobs` (upload the JSONL, create the job, poll it, read the resulting model id).
 *
 * @since 0.1.0
 */
import type { Grade } from "@ssra/core"
import type { ChatClient } from "@ssra/llm"
import * as LlmJudge from "./LlmJudge.js"

/**
 * Options: the client (any OpenAI-compatible server hosting the fine-tuned model), the fine-tuned model id, the
 * scale it was trained on, and the LLM judge's probability options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<LlmJudge.Options, "client" | "model" | "scale" | "fewShot" | "idPrefix"> {
  readonly client: ChatClient.ChatClientShape
  /** The fine-tuned model id (e.g. `ft:qwen2.5-7b:ssra:score:abc123`, from `FineTuningJobs`). */
  readonly model: string
  readonly scale: Grade.GradeScale
}

/**
 * A judge over a fine-tuned model (zero-shot prompt, as in the SFT data).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): LlmJudge.LlmJudge =>
  LlmJudge.make({ ...options, fewShot: [], idPrefix: "fine-tuned-judge" })
