import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Inputs } from "../src/index.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ssra-inputs-"))

describe("Inputs: CSV and TSV files", () => {
  it.effect("a folder of CSV/TSV files is found when no JSONL is there; the same file in two formats is refused", () =>
    Effect.gen(function* () {
      const dir = tmp()
      fs.writeFileSync(path.join(dir, "labeled.csv"), "qid,did,query,doc,label\n")
      fs.writeFileSync(path.join(dir, "unlabeled.tsv"), "qid\tdid\tquery\tdoc\n")
      fs.writeFileSync(path.join(dir, "pair_test.jsonl"), "")
      fs.writeFileSync(path.join(dir, "notes.csv"), "")
      assert.deepStrictEqual(yield* Inputs.filesIn(dir), {
        labeled: path.join(dir, "labeled.csv"),
        unlabeled: path.join(dir, "unlabeled.tsv"),
        pairTest: path.join(dir, "pair_test.jsonl")
      })
      fs.writeFileSync(path.join(dir, "unlabeled.jsonl"), "")
      const error = yield* Effect.flip(Inputs.filesIn(dir))
      assert.strictEqual(error.reason, "input")
      assert.include(error.detail, `${dir} holds unlabeled.jsonl and unlabeled.tsv: the same file in 2 formats`)
      assert.include(error.hint, "data.unlabeled")
    })
  )

  it.effect("load: CSV pairs and a CSV documents file (title + OCR + ASR, empty cells as absent fields)", () =>
    Effect.gen(function* () {
      const dir = tmp()
      const file = (name: string, text: string) => {
        fs.writeFileSync(path.join(dir, name), text)
        return path.join(dir, name)
      }
      const files = {
        labeled: file("labeled.csv", 'qid,did,query,doc,label\nq1,v1,bees,"Bees, a film",2\nq1,v2,bees,Cats,0\n'),
        unlabeled: file("unlabeled.tsv", "qid\tdid\tquery\tdoc\nu1\tv2\tcats\tCats\n"),
        documents: file(
          "documents.csv",
          'id,title,ocr,asr,text\nv1,"Bees, a film",BEES,"buzz\nbuzz",\nv2,Cats,,,Cats as given\n'
        )
      }
      const dataset = yield* Inputs.load(files)
      assert.deepStrictEqual(
        dataset.labeled.map((p) => [p.qid, p.did, p.doc, p.label]),
        [
          ["q1", "v1", "Bees, a film", 2],
          ["q1", "v2", "Cats", 0]
        ]
      )
      assert.strictEqual(dataset.unlabeled.length, 1)
      const v1 = dataset.documents.get("v1")!
      assert.strictEqual(v1.asr, "buzz\nbuzz")
      assert.include(v1.text, "BEES")
      const v2 = dataset.documents.get("v2")!
      assert.strictEqual(v2.text, "Cats as given")
      assert.isFalse("ocr" in v2, "an empty optional cell is an absent field, as a missing JSONL key")
      assert.strictEqual(dataset.hashes.documents?.length, 64)
    })
  )
})
