// @kts/llama: HF-compatible Llama on @kts/tensor — config, model, KV cache, checkpoint I/O,
// llama2.c import, sampling and id-level generation.
export {
  type LlamaConfig, type RopeScaling, parseConfig, readConfig, makeConfig, configToJson, ropeInvFreq,
  SUPPORTED_ARCHITECTURES, SUPPORTED_MODEL_TYPES,
} from './config.ts';
export { KVCache, type KVCacheOptions } from './cache.ts';
export {
  LlamaForCausalLM, LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP,
  type LinearLike, type SteerSpec, type ForwardOptions, type LlamaOutput, type ModelInitOptions,
  resolveLayer, replaceLinears, linearSlots, hfStateDict, expectedShapes, setParameter,
} from './model.ts';
export { loadModel, saveModel, type LoadModelOptions, type SaveModelOptions } from './load.ts';
export { sampleToken, type SamplingOptions } from './sample.ts';
export { generate, type GenerateOptions } from './generate.ts';
export { readLlama2c, importLlama2c, type Llama2cCheckpoint } from './llama2c.ts';

// ---- tokenizer exports (owned by the tokenizer engineer; append `export * from './tokenizer….ts'` lines below) ----
