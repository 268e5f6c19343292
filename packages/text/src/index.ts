/**
 * @ssra/text — text processing shared by the models and the evaluator: tokenizers (characters, character n-grams,
 * jieba words from one lazily loaded segmenter), character n-gram cosine, IDF and BM25. Importing it loads no
 * native addon; jieba's loads on the first word segmentation.
 *
 * @since 0.1.0
 */
export * as Bm25 from "./Bm25.js"
export * as CharNgram from "./CharNgram.js"
export * as Idf from "./Idf.js"
export * as Jieba from "./Jieba.js"
export * as TextOptionError from "./TextOptionError.js"
export * as Tokenize from "./Tokenize.js"
