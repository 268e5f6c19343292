/**
 * Documents: what a query is matched against. A short-video document is built from its title plus OCR and ASR
 * text; `text` is the rendered form every model sees, and the template that rendered it is recorded.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Failure from "./Failure.js"
import { normalize } from "./Text.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const Document = Schema.Struct({
  id: Schema.NonEmptyString,
  title: Schema.String,
  ocr: Schema.optionalKey(Schema.String),
  asr: Schema.optionalKey(Schema.String),
  text: Schema.NonEmptyString,
  source: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Document = typeof Document.Type

/**
 * A document template: how title, OCR and ASR text become one string. `{title}`, `{ocr}` and `{asr}` are
 * replaced; sections whose field is empty are dropped with their separator.
 *
 * @since 0.1.0
 * @category models
 */
export interface RenderTemplate {
  readonly id: string
  readonly sections: ReadonlyArray<{ readonly field: "title" | "ocr" | "asr"; readonly prefix: string }>
  readonly separator: string
  readonly maxChars: number
}

/**
 * The default template: the paper appends the title to the (rewritten) OCR+ASR description; we put the title
 * first so truncation never cuts it.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTemplate: RenderTemplate = {
  id: "title-ocr-asr/v1",
  sections: [
    { field: "title", prefix: "" },
    { field: "ocr", prefix: "画面文字：" },
    { field: "asr", prefix: "语音：" }
  ],
  separator: "\n",
  maxChars: 2000
}

/**
 * Renders title + OCR + ASR into the text models see, normalized.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (
  fields: { readonly title: string; readonly ocr?: string | undefined; readonly asr?: string | undefined },
  template: RenderTemplate = defaultTemplate
): string => {
  const parts: Array<string> = []
  for (const section of template.sections) {
    const value = normalize(fields[section.field] ?? "")
    if (value.length > 0) parts.push(section.prefix + value)
  }
  const text = parts.join(template.separator)
  return text.length > template.maxChars ? text.slice(0, template.maxChars) : text
}

/**
 * A document whose fields render to empty text (nothing a model could see): bad input.
 *
 * @since 0.1.0
 * @category errors
 */
export class EmptyDocumentError extends Schema.TaggedError<EmptyDocumentError>()("EmptyDocumentError", {
  id: Schema.String
}) {
  override get message(): string {
    return `document ${this.id} renders to empty text`
  }
  get [Failure.TypeId](): Failure.Classified {
    return Failure.make("input", {
      label: "invalid input",
      hint: "give the document a title, OCR or ASR text, or leave it out"
    })
  }
}

/**
 * Builds a document from its fields, rendering `text` with the template. Throws `EmptyDocumentError` when the
 * fields render to empty text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  input: {
    readonly id: string
    readonly title: string
    readonly ocr?: string | undefined
    readonly asr?: string | undefined
    readonly source?: string | undefined
  },
  template: RenderTemplate = defaultTemplate
): Document => {
  const text = render(input, template)
  if (text.length === 0) throw new EmptyDocumentError({ id: input.id })
  return {
    id: input.id,
    title: input.title,
    ...(input.ocr !== undefined ? { ocr: input.ocr } : {}),
    ...(input.asr !== undefined ? { asr: input.asr } : {}),
    text,
    ...(input.source !== undefined ? { source: input.source } : {})
  }
}
