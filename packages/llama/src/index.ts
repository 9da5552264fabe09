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
export { loadModel, loadModelFrom, saveModel, type LoadModelOptions, type SaveModelOptions } from './load.ts';
export { sampleToken, type SamplingOptions } from './sample.ts';
export { generate, type GenerateOptions, type CausalLM } from './generate.ts';
export { readLlama2c, importLlama2c, type Llama2cCheckpoint } from './llama2c.ts';

// ---- tokenizers ----
export {
  type Tokenizer, type TokenizerKind, type EncodeOptions, type DecodeOptions, type SpecialToken,
  type StreamDecoderOptions, type LoadTokenizerOptions, type SaveLlama2TokenizerOptions,
  loadTokenizer, loadTokenizerFrom, llama2Tokenizer, llama2TokenizerModelBytes, saveLlama2TokenizerModel,
  SentencePieceTokenizer, HfJsonTokenizer, StreamDecoder, TokenizerLoadError,
  LLAMA2_TOKENIZER_MD5, LLAMA2_TOKENIZER_CONFIG,
  parseSpmModel, PieceType, ModelType, ProtoError, type SpmModel, type SpmPiece, spmDecode,
} from './tokenizer/index.ts';
export {
  type ChatMessage, type ChatFormat, type ApplyChatTemplateOptions, type PromptAnswerParts,
  applyChatTemplate, encodeChat, formatPromptAnswer, formatPromptAnswerParts, renderLlama2Chat, renderChatML,
  renderJinjaChatTemplate, defaultChatFormat, usesLlama2Format, pythonStrip, ChatTemplateError,
  LLAMA2_CHAT_TEMPLATE, CHATML_CHAT_TEMPLATE,
} from './chat.ts';
