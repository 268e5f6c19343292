/**
 * Durations as people read them ("45 s", "3 min 20 s", "2 h 05 min"), for plans, ETAs and summaries.
 *
 * @since 0.1.0
 */

/**
 * `seconds` in the largest sensible units; "?" when unknown (not finite or negative).
 *
 * @since 0.1.0
 * @category formatting
 */
export const human = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`
  const h = Math.floor(m / 60)
  return `${h} h ${String(m % 60).padStart(2, "0")} min`
}
