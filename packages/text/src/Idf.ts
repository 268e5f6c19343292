/**
 * Inverse document frequency, once for every lexical scorer (BM25 indexes, the dual encoder's lexical channel and
 * IDF feature weights, the query model's key-word weights and pool retrieval).
 *
 * @since 0.1.0
 */

/**
 * BM25's IDF in Lucene's non-negative form: `ln(1 + (N − df + 0.5) / (df + 0.5))` for a term found in `df` of
 * `documents` documents. A term never seen (`df = 0`) gets `ln(1 + (N + 0.5) / 0.5)`; a term in every document
 * gets `ln(1 + 0.5 / (N + 0.5))`, small but positive.
 *
 * @since 0.1.0
 * @category idf
 */
export const bm25 = (documents: number, df: number): number => Math.log(1 + (documents - df + 0.5) / (df + 0.5))
