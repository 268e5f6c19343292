// @ssra/text: character n-grams, jieba words (the addon loads on this first segmentation), IDF and BM25.
import { Bm25, Idf, Tokenize } from "@ssra/text"

const bigrams = Tokenize.charNgrams("中文检索", 2)
const words = Tokenize.jiebaWords("我爱北京天安门")
const index = Bm25.make(["咽喉炎偏方", "治疗咽喉炎的偏方", "感冒吃什么药", "咽喉痛怎么办"])
if (bigrams.join(" ") !== "中文 文检 检索" || words.join("/") !== "我/爱/北京/天安门") {
  throw new Error(`unexpected tokens: ${bigrams} ${words}`)
}
if (index.idf("咽") !== Idf.bm25(4, 3)) throw new Error("BM25's IDF is not Idf.bm25")
console.log("text:", words.join("/"), "BM25 =", index.score("咽喉炎", "咽喉炎偏方").toFixed(4))
