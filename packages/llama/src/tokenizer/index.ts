// Tokenizers: one interface (./interface.ts), two implementations — SentencePiece
// `tokenizer.model` (./sentencepiece.ts) and HF `tokenizer.json` (./hf-json.ts) — and loading
// from a folder, a URL or in-memory files (./load.ts).
export {
  type Tokenizer, type TokenizerKind, type EncodeOptions, type DecodeOptions, type SpecialToken, type StreamDecoderOptions,
  TokenizerLoadError,
} from './interface.ts';
export { StreamDecoder } from './stream.ts';
export { SentencePieceTokenizer } from './sentencepiece.ts';
export { HfJsonTokenizer } from './hf-json.ts';
export { type LoadTokenizerOptions, loadTokenizer, loadTokenizerFrom } from './load.ts';
export {
  type SaveLlama2TokenizerOptions, llama2Tokenizer, llama2TokenizerModelBytes, saveLlama2TokenizerModel,
  LLAMA2_TOKENIZER_MD5, LLAMA2_TOKENIZER_CONFIG,
} from './llama2.ts';
export { parseSpmModel, PieceType, ModelType, ProtoError, type SpmModel, type SpmPiece } from './spm-proto.ts';
export { spmDecode } from './spm-decode.ts';
export { LLAMA2_CHAT_TEMPLATE, CHATML_CHAT_TEMPLATE } from './templates.ts';
