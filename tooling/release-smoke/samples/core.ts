// @ssra/core: validate a grade with its Schema and write a TREC run in trec_eval's order.
import { Grade, Trec } from "@ssra/core"
import { Schema } from "effect"

const grade = Schema.decodeUnknownSync(Grade.Grade)(2)
const run = Trec.rank(
  "q1",
  [
    { did: "d2", score: 0.4 },
    { did: "d1", score: 0.9 }
  ],
  "demo"
)
if (grade !== 2 || run[0]?.did !== "d1") throw new Error(`unexpected: ${grade} ${JSON.stringify(run)}`)
console.log("core:", Grade.definitions[grade], run.map((r) => `${r.qid} ${r.did} ${r.rank}`).join("; "))
