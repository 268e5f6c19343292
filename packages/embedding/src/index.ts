/**
 * @ssra/embedding — the embedded dual-encoder embedding model (hashed char n-grams + jieba words, Matryoshka
 * dimensions, safetensors checkpoints), the grade-weighted InfoNCE trainer with hard-negative mining, and
 * exports for GPU trainers (sentence-transformers, FlagEmbedding, a Qwen3-Embedding LoRA launch kit).
 *
 * @since 0.1.0
 */
export * as CheckpointError from "./CheckpointError.js"
export * as DualEncoder from "./DualEncoder.js"
export * as EmbeddingOptionError from "./EmbeddingOptionError.js"
export * as EmbeddingTrainer from "./EmbeddingTrainer.js"
export * as Export from "./Export.js"
export * as Featurizer from "./Featurizer.js"
export * as HardNegativeMiner from "./HardNegativeMiner.js"
export * as Lexical from "./Lexical.js"
export * as LexicalWeight from "./LexicalWeight.js"
export * as Loss from "./Loss.js"
export * as Safetensors from "./Safetensors.js"
export * as TrainingArgs from "./TrainingArgs.js"
export * as TrainingError from "./TrainingError.js"
export * as TrainingSet from "./TrainingSet.js"
