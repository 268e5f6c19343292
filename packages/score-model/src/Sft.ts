/**
 * Supervised fine-tuning data for an LLM score model: one chat-format JSONL row per labeled pair
 * (`{"messages": [system, user, assistant]}`, the format OpenAI-compatible fine-tuning APIs, LLaMA-Factory and
 * TRL read), with the judge's zero-shot prompt and the human grade as the assistant's `{"grade": n}` answer.
 * Upload the file with `@ssra/llm`'s `FineTuningJobs`, then grade with `FineTunedJudge` on the resulting model.
 *
 * @since 0.1.0
 */
import { type DatasetError, Grade, Jsonl } from "@ssra/core"
import { Effect } from "effect"
import { ScoreTrainingError } from "./ScoreModelError.js"
import * as ScorePrompt from "./ScorePrompt.js"

/**
 * One SFT row.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChatRow {
  readonly messages: ReadonlyArray<{ readonly role: "system" | "user" | "assistant"; readonly content: string }>
}

/**
 * The SFT row for one labeled pair.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scoreRow = (
  scale: Grade.GradeScale,
  pair: { readonly query: string; readonly doc: string; readonly label: number }
): ChatRow => ({
  messages: [...ScorePrompt.messages(scale, pair), { role: "assistant", content: ScorePrompt.answer(pair.label) }]
})

/**
 * Writes labeled pairs as chat-format SFT JSONL (atomically). The scale is inferred from the labels unless
 * given; a label off the scale fails with the pair's index.
 *
 * @since 0.1.0
 * @category exports
 */
export const exportScoreSft = (
  pairs: ReadonlyArray<{ readonly query: string; readonly doc: string; readonly label: number }>,
  file: string,
  options: { readonly scale?: Grade.GradeScale | undefined } = {}
): Effect.Effect<
  { readonly rows: number; readonly promptVersion: string },
  ScoreTrainingError | DatasetError.DatasetError
> =>
  Effect.gen(function* () {
    if (pairs.length === 0)
      return yield* new ScoreTrainingError({ reason: "no-pairs", detail: `no labeled pairs to write to ${file}` })
    const bad = pairs.findIndex((p) => !Number.isInteger(p.label) || p.label < 0 || p.label > 3)
    if (bad >= 0) {
      return yield* new ScoreTrainingError({
        reason: "label-off-scale",
        detail: `pair ${bad} has label ${pairs[bad]!.label}`,
        hint: "labels are integers 0..3"
      })
    }
    const scale = options.scale ?? Grade.inferScale(pairs.map((p) => p.label))
    const off = pairs.findIndex((p) => !Grade.isOnScale(scale, p.label))
    if (off >= 0) {
      return yield* new ScoreTrainingError({
        reason: "label-off-scale",
        detail: `pair ${off} has label ${pairs[off]!.label} but the scale stops at ${scale.max}`
      })
    }
    const rows = pairs.map((p) => scoreRow(scale, p))
    yield* Jsonl.writeAll(file, rows)
    return { rows: rows.length, promptVersion: ScorePrompt.version }
  })
