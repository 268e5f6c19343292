import { Grade, Models } from "@ssra/core"
import { Effect } from "effect"

/** Checks a batch of requests: non-blank document text, target grade on the scale, n a positive integer. */
export const validate = (
  backend: string,
  scale: Grade.GradeScale,
  requests: ReadonlyArray<Models.QueryRequest>
): Effect.Effect<void, Models.ModelError> => {
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!
    const id = r.document?.id ?? `#${i}`
    if (typeof r.document?.text !== "string" || r.document.text.trim() === "") {
      return Effect.fail(
        new Models.ModelError({
          backend,
          reason: "invalid-input",
          message: `request ${i} (document ${id}): the document has no text; render title/OCR/ASR into document.text first`
        })
      )
    }
    if (!Grade.isOnScale(scale, r.targetGrade)) {
      return Effect.fail(
        new Models.ModelError({
          backend,
          reason: "invalid-input",
          message: `request ${i} (document ${id}): target grade ${String(r.targetGrade)} is outside the scale 0..${scale.max}`
        })
      )
    }
    if (!Number.isInteger(r.n) || r.n < 1) {
      return Effect.fail(
        new Models.ModelError({
          backend,
          reason: "invalid-input",
          message: `request ${i} (document ${id}): n must be a positive integer, got ${String(r.n)}`
        })
      )
    }
  }
  return Effect.void
}
