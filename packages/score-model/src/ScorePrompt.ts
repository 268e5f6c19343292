/**
 * The versioned grading prompt shared by the LLM judge, the fine-tuned judge and the SFT export: grade
 * definitions in Chinese and English for the dataset's scale, optional in-domain few-shot examples drawn
 * seeded from labeled data, and the answer format `{"grade": n}`. Changing any text here means a new version.
 *
 * @since 0.1.0
 */
import { Grade, Sampling } from "@ssra/core"
import type { ChatClient } from "@ssra/llm"

type ChatMessage = ChatClient.ChatMessage

/**
 * The prompt version recorded with every judgment and SFT file.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "score-judge/v1"

/**
 * Chinese grade definitions (translations of core `Grade.definitions`).
 *
 * @since 0.1.0
 * @category constants
 */
export const definitionsZh: Readonly<Record<Grade.Grade, string>> = {
  3: "完全且准确地满足查询意图",
  2: "基本满足查询意图；部分非关键要素缺失或不匹配",
  1: "部分满足：关键实体或概念匹配，但需求的主要方面未被满足",
  0: "既不满足查询意图，也没有任何有意义的相关性"
}

/**
 * The definition of each grade on a scale, English and Chinese. On a scale that stops below 3 the top grade
 * stands for "satisfies the intent" (grades 2 and 3 of the SSRA scale merged), so every grade has a meaning.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scaleDefinitions = (
  scale: Grade.GradeScale
): ReadonlyArray<{ readonly grade: Grade.Grade; readonly en: string; readonly zh: string }> =>
  Grade.grades(scale).map((g) => {
    if (scale.max < 3 && g === scale.max && g > 0) {
      if (scale.max === 2) {
        return {
          grade: g,
          en: `${Grade.definitions[3]}, or ${Grade.definitions[2]}`,
          zh: `${definitionsZh[3]}，或${definitionsZh[2]}`
        }
      }
      return { grade: g, en: "satisfies the query's intent at least partially", zh: "至少部分满足查询意图" }
    }
    return { grade: g, en: Grade.definitions[g], zh: definitionsZh[g] }
  })

/**
 * A few-shot example.
 *
 * @since 0.1.0
 * @category models
 */
export interface Example {
  readonly query: string
  readonly doc: string
  readonly grade: number
}

/**
 * `perGrade` examples of each grade on the scale, drawn seeded from labeled pairs (fewer where a grade has
 * fewer), in a seeded order so grades are not presented sorted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fewShot = (
  labeled: ReadonlyArray<{ readonly query: string; readonly doc: string; readonly label: number }>,
  scale: Grade.GradeScale,
  perGrade: number,
  seed: number
): Array<Example> => {
  const onScale = labeled.filter((p) => Grade.isOnScale(scale, p.label))
  const chosen = Sampling.balanced(onScale, (p) => p.label, perGrade, seed)
  return Sampling.shuffle(chosen, Sampling.hashSeed(`${seed}/order`)).map((p) => ({
    query: p.query,
    doc: p.doc,
    grade: p.label
  }))
}

/**
 * The system message: task, scale, definitions and answer format.
 *
 * @since 0.1.0
 * @category prompts
 */
export const system = (scale: Grade.GradeScale): string => {
  const defs = scaleDefinitions(scale)
    .map((d) => `${d.grade}: ${d.en} / ${d.zh}`)
    .join("\n")
  return [
    `You grade how well a document satisfies a search query, on a scale from 0 to ${scale.max}.`,
    `你是搜索相关性标注员：判断文档满足查询需求的程度，等级为 0 到 ${scale.max}。`,
    "",
    "Grades / 等级定义:",
    defs,
    "",
    `Answer with JSON only: {"grade": n} where n is an integer from 0 to ${scale.max}. No other text.`,
    `只输出 JSON：{"grade": n}，n 为 0 到 ${scale.max} 的整数，不要输出其他内容。`
  ].join("\n")
}

/**
 * The user message for one pair.
 *
 * @since 0.1.0
 * @category prompts
 */
export const user = (pair: { readonly query: string; readonly doc: string }): string =>
  `查询 Query: ${pair.query}\n文档 Document: ${pair.doc}`

/**
 * The assistant answer for a grade (what the judge must produce; the SFT target).
 *
 * @since 0.1.0
 * @category prompts
 */
export const answer = (grade: number): string => JSON.stringify({ grade })

/**
 * The full conversation: system, few-shot examples as user/assistant turns, then the pair to grade.
 *
 * @since 0.1.0
 * @category prompts
 */
export const messages = (
  scale: Grade.GradeScale,
  pair: { readonly query: string; readonly doc: string },
  examples: ReadonlyArray<Example> = []
): Array<ChatMessage> => [
  { role: "system", content: system(scale) },
  ...examples.flatMap(
    (e): Array<ChatMessage> => [
      { role: "user", content: user(e) },
      { role: "assistant", content: answer(e.grade) }
    ]
  ),
  { role: "user", content: user(pair) }
]

/**
 * The structured-output request: a JSON Schema with `grade` an integer on the scale.
 *
 * @since 0.1.0
 * @category prompts
 */
export const responseFormat = (scale: Grade.GradeScale): ChatClient.ResponseFormat => ({
  type: "json_schema",
  name: "grade",
  schema: {
    type: "object",
    properties: { grade: { type: "integer", enum: Grade.grades(scale) } },
    required: ["grade"],
    additionalProperties: false
  }
})
