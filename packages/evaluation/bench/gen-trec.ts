/**
 * Writes the evaluator's benchmark files (seeded, reproducible): `queries` queries × `candidates` documents,
 * qrels lines `q{i} 0 d{i}_{j} g` with g uniform from {0,0,1,2,3}, run lines `q{i} Q0 d{i}_{j} {j+1} {score} x`
 * with scores uniform in [0,1) rounded to 4 decimals (so ties occur). Every document id is unique across the
 * collection (10M distinct ids at full size), which is what makes memory the hard part.
 * Usage: `tsx --conditions=@ssra/source bench/gen-trec.ts DIR [queries=100000] [candidates=100] [seed=17]`
 * (writes DIR/bench.qrels and DIR/bench.run).
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs"
import { join } from "node:path"
import { Sampling } from "@ssra/core"

const GRADES = [0, 0, 1, 2, 3]

export const generate = (dir: string, queries = 100_000, candidates = 100, seed = 17) => {
  mkdirSync(dir, { recursive: true })
  const rng = new Sampling.SeededRandom(seed)
  const qrelsFd = openSync(join(dir, "bench.qrels"), "w")
  const runFd = openSync(join(dir, "bench.run"), "w")
  try {
    for (let i = 0; i < queries; i++) {
      let qrels = ""
      let run = ""
      for (let j = 0; j < candidates; j++) {
        qrels += `q${i} 0 d${i}_${j} ${GRADES[rng.int(GRADES.length)]}\n`
        run += `q${i} Q0 d${i}_${j} ${j + 1} ${Math.round(rng.next() * 10_000) / 10_000} x\n`
      }
      writeSync(qrelsFd, qrels)
      writeSync(runFd, run)
    }
  } finally {
    closeSync(qrelsFd)
    closeSync(runFd)
  }
  return { qrels: join(dir, "bench.qrels"), run: join(dir, "bench.run") }
}

if (process.argv[1]?.endsWith("gen-trec.ts")) {
  const [dir, queries, candidates, seed] = process.argv.slice(2)
  if (dir === undefined) {
    console.error("usage: gen-trec.ts DIR [queries=100000] [candidates=100] [seed=17]")
    process.exit(2)
  }
  const files = generate(dir, Number(queries ?? 100_000), Number(candidates ?? 100), Number(seed ?? 17))
  console.log(`wrote ${files.qrels} and ${files.run}`)
}
