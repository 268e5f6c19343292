// @ssra/score-model: a BM25-threshold grader fitted on labeled pairs, grading a new pair.
import { Grade } from "@ssra/core"
import { Baselines } from "@ssra/score-model"
import { Effect } from "effect"

const pairs = [
  { query: "发烧怎么办", doc: "发烧了怎么办：多喝水，及时就医", label: 1 },
  { query: "发烧怎么办", doc: "如何学习编程", label: 0 },
  { query: "学习编程", doc: "如何学习编程", label: 1 },
  { query: "学习编程", doc: "发烧了怎么办：多喝水，及时就医", label: 0 }
]
const grader = Baselines.bm25Threshold(pairs, Grade.scale(1))
const [judgment] = await Effect.runPromise(grader.grade([{ query: "编程", doc: "如何学习编程" }]))
if (judgment === undefined || !Grade.isOnScale(grader.scale, judgment.grade)) throw new Error("no judgment")
console.log("score-model:", grader.id, "grade", judgment.grade)
