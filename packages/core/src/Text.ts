/**
 * Text normalization used everywhere a string is compared, hashed, de-duplicated or featurized: NFKC (which
 * folds full-width ASCII and compatibility forms), control characters removed, whitespace collapsed.
 *
 * @since 0.1.0
 */

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u200B-\u200D\uFEFF]/g
const SPACE = /[\s\u3000]+/g

/**
 * NFKC, control characters and zero-width marks dropped, runs of whitespace (including the ideographic space)
 * collapsed to one ASCII space, trimmed.
 *
 * @since 0.1.0
 * @category normalization
 */
export const normalize = (text: string): string =>
  text.normalize("NFKC").replace(CONTROL, "").replace(SPACE, " ").trim()

/**
 * The key two queries share when they are "the same" for de-duplication: `normalize`, lower-cased, with
 * punctuation and spaces removed.
 *
 * @since 0.1.0
 * @category normalization
 */
export const dedupKey = (text: string): string =>
  normalize(text)
    .toLowerCase()
    .replace(/[\p{P}\p{S}\s]+/gu, "")

/**
 * Whether the text contains at least one Han character.
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasHan = (text: string): boolean => /\p{Script=Han}/u.test(text)

/**
 * Share of letters that are Han characters (0 when the text has no letters).
 *
 * @since 0.1.0
 * @category predicates
 */
export const hanRatio = (text: string): number => {
  let han = 0
  let letters = 0
  for (const ch of text) {
    if (/\p{L}/u.test(ch)) {
      letters++
      if (/\p{Script=Han}/u.test(ch)) han++
    }
  }
  return letters === 0 ? 0 : han / letters
}
