// @ssra/query-model: the chat messages the prompt-only query model sends for a document and target grade.
import { PromptQueryModel } from "@ssra/query-model"

const messages = PromptQueryModel.messages({
  document: { id: "d1", title: "发烧", text: "宝宝发烧的处理方法：多喝水，及时就医" },
  targetGrade: 2,
  n: 3
})
if (messages.length !== 2 || !messages[1]?.content.includes("Target grade: 2")) throw new Error("unexpected prompt")
console.log("query-model:", PromptQueryModel.promptVersion, messages.map((m) => m.role).join(" + "))
