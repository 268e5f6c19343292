/**
 * Token counts without a tokenizer: about 4 characters per token for ASCII text and about 1 token per CJK
 * character (Qwen, DeepSeek and GPT-4-class vocabularies land between 0.6 and 1.3 per Han character).
 */
export const approximateTokens = (text: string): number => {
  let ascii = 0
  let other = 0
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) < 128) ascii++
    else other++
  }
  return Math.ceil(ascii / 4 + other)
}
