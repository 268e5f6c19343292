// @ssra/filters: run candidate queries through a filter chain and read each step's counts.
import type { SyntheticQuery } from "@ssra/core"
import { Filter, LengthFilter } from "@ssra/filters"
import { Effect } from "effect"

const candidate = (id: string, query: string): SyntheticQuery.SyntheticQuery => ({
  ...{ id, did: "d1", doc: "宝宝发烧的处理方法", query, targetGrade: 3, stage: "stage2", verdicts: [], seed: 1 },
  generator: { id: "example", promptVersion: "v1" }
})
const result = await Effect.runPromise(
  Filter.chain([LengthFilter.make({ minChars: 2, maxChars: 40 })], [candidate("a", "宝宝发烧"), candidate("b", "烧")])
)
if (result.kept.length !== 1 || result.kept[0]?.id !== "a") throw new Error(JSON.stringify(result.steps))
console.log("filters:", result.steps.map((s) => `${s.filter} ${s.kept}/${s.input}`).join(", "))
