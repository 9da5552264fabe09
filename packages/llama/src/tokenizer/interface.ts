// The interface both tokenizers implement (SentencePiece `tokenizer.model` in ./sentencepiece.ts,
// HF `tokenizer.json` in ./hf-json.ts), their options, and the error raised for a bad file.
import type { StreamDecoder } from './stream.ts';

export interface EncodeOptions {
  /** Prepend the BOS id (if the tokenizer has one). Default true. */
  bos?: boolean;
  /** Append the EOS id (if the tokenizer has one). Default false. */
  eos?: boolean;
  /**
   * Map special-token strings in the text (`<s>`, `</s>`, `<unk>`, `<|im_start|>`, ...) to their
   * ids. Default false: the text is tokenized as plain text, like Python `sp.encode(text)`.
   * Use true for rendered chat templates (see `encodeChat` in chat.ts). With SentencePiece, each
   * stretch of text between special tokens is encoded on its own (so it gets the dummy-prefix
   * space), as HF's LlamaTokenizer (legacy) and Meta's reference code do.
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /**
   * Drop special tokens. Default true. For SentencePiece, true is exactly Python
   * `sp.decode(ids)`: control tokens (`<s>`, `</s>`) vanish and `<unk>` reads ` ⁇ `; false writes
   * control and unknown tokens as their piece text (`<s>`, `<unk>`).
   */
  skipSpecial?: boolean;
}

export interface SpecialToken {
  id: number;
  content: string;
}

export type TokenizerKind = 'sentencepiece' | 'tokenizer.json';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Where it came from: a file path, or a description of the embedded model. */
  readonly source: string;
  /** Number of ids (max id + 1). */
  readonly vocabSize: number;
  /** -1 where the tokenizer has none. */
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Text of the BOS / EOS tokens (for chat templates); null where there is none. */
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  /** Special tokens (SentencePiece: control and unknown pieces; tokenizer.json: added tokens marked special). */
  readonly specialTokens: readonly SpecialToken[];
  /** `chat_template` of tokenizer_config.json, or null. */
  readonly chatTemplate: string | null;
  /** Parsed tokenizer_config.json, or null if there was none. */
  readonly config: Readonly<Record<string, unknown>> | null;

  encode(text: string, options?: EncodeOptions): number[];
  /** Pieces of `encode(text, { bos: false, ...options })` (e.g. `['▁Hello', '▁world']`). */
  encodePieces(text: string, options?: Omit<EncodeOptions, 'bos' | 'eos'>): string[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /**
   * Text of one token on its own, leading space kept (`▁world` → ` world`), for showing tokens.
   * Byte-fallback tokens that are part of a multi-byte character give U+FFFD: to stream generated
   * text use `createStreamDecoder()`, which holds incomplete characters back.
   */
  decodeToken(id: number, options?: DecodeOptions): string;
  idToPiece(id: number): string;
  /** Id of an exact piece / token string, or undefined. */
  pieceToId(piece: string): number | undefined;
  isSpecial(id: number): boolean;
  createStreamDecoder(options?: StreamDecoderOptions): StreamDecoder;
}

export interface StreamDecoderOptions extends DecodeOptions {
  /**
   * Ids that precede the streamed ones (e.g. the prompt). The last few are used as context so
   * the first streamed token keeps its leading space (" Hello", not "Hello").
   */
  context?: readonly number[];
}

/** Error for a tokenizer file that is missing, malformed or not what it claims to be. */
export class TokenizerLoadError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenizerLoadError';
  }
}
