// @ssra/evaluation: trec_eval's nDCG@10 for one query (ties broken by document id, descending).
import { Metrics } from "@ssra/evaluation"

const ndcg = Metrics.ndcgAtK({ d1: 3, d2: 0, d3: 1 }, { d1: 0.2, d2: 0.9, d3: 0.9 }, 10)
if (Math.abs(ndcg - 0.6885) > 1e-4) throw new Error(`nDCG@10 = ${ndcg}, expected 0.6885`)
console.log("evaluation: nDCG@10 =", ndcg.toFixed(4))
