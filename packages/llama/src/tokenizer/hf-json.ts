// HF `tokenizer.json` through @huggingface/tokenizers.
import {
  type DecodeOptions, type EncodeOptions, type SpecialToken, type StreamDecoderOptions, type Tokenizer, TokenizerLoadError,
} from './interface.ts';
import { StreamDecoder } from './stream.ts';
import { type TokenizerConfig, checkIds, configChatTemplate, configTokenString, wellFormed } from './common.ts';

type HfTokenizerInstance = {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_added_tokens_decoder(): Map<number, { content: string; special: boolean }>;
  get_vocab(withAdded?: boolean): Map<string, number>;
};
type HfTokenizerCtor = new (json: object, config: object) => HfTokenizerInstance;

export class HfJsonTokenizer implements Tokenizer {
  readonly kind = 'tokenizer.json' as const;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly specialTokens: readonly SpecialToken[];
  private readonly specialIds = new Set<number>();
  private readonly vocab: (string | undefined)[] = [];
  private readonly cleanUp: boolean;
  private plain: HfTokenizerInstance | undefined;
  private anchor: number | null | undefined;

  private constructor(
    private readonly Ctor: HfTokenizerCtor,
    private readonly hf: HfTokenizerInstance,
    private readonly json: Record<string, unknown>,
    readonly source: string,
    readonly config: Readonly<TokenizerConfig> | null,
    readonly chatTemplate: string | null,
  ) {
    for (const [tok, id] of hf.get_vocab(true)) this.vocab[id] = tok;
    this.vocabSize = this.vocab.length;
    const cfg = config ?? {};
    const idOf = (key: string, fallbacks: string[]): [number, string | null] => {
      const named = configTokenString(cfg[key]);
      for (const t of named !== null ? [named] : fallbacks) {
        const id = hf.token_to_id(t);
        if (id !== undefined) return [id, t];
      }
      return [-1, named];
    };
    [this.bosId, this.bosToken] = idOf('bos_token', ['<s>', '<|begin_of_text|>', '<bos>']);
    [this.eosId, this.eosToken] = idOf('eos_token', ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>']);
    [this.padId] = idOf('pad_token', []);
    [this.unkId] = idOf('unk_token', ['<unk>']);
    const specials: SpecialToken[] = [];
    for (const [id, t] of hf.get_added_tokens_decoder()) {
      if (t.special) {
        specials.push({ id, content: t.content });
        this.specialIds.add(id);
      }
    }
    const extra = cfg['additional_special_tokens'];
    if (Array.isArray(extra)) {
      for (const e of extra) {
        const s = configTokenString(e);
        const id = s === null ? undefined : hf.token_to_id(s);
        if (s !== null && id !== undefined && !this.specialIds.has(id)) {
          specials.push({ id, content: s });
          this.specialIds.add(id);
        }
      }
    }
    specials.sort((a, b) => a.id - b.id);
    this.specialTokens = specials;
    // tokenizers.js defaults clean_up_tokenization_spaces to true, which breaks round trips
    // (" ." -> "."); follow the config and default to false, like recent transformers.
    this.cleanUp = cfg['clean_up_tokenization_spaces'] === true;
  }

  static async fromJson(
    json: unknown,
    source: string,
    config: TokenizerConfig | null = null,
    chatTemplate: string | null = configChatTemplate(config, source),
  ): Promise<HfJsonTokenizer> {
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      throw new TokenizerLoadError(source, `${source} is not a tokenizer.json: expected a JSON object`);
    }
    const obj = { ...(json as Record<string, unknown>) };
    if (!obj['model'] || typeof obj['model'] !== 'object') {
      throw new TokenizerLoadError(source, `${source} is not a tokenizer.json: it has no "model" object`);
    }
    obj['added_tokens'] ??= [];
    const { Tokenizer: Ctor } = (await import('@huggingface/tokenizers')) as unknown as { Tokenizer: HfTokenizerCtor };
    let hf: HfTokenizerInstance;
    try {
      hf = new Ctor(obj, { ...(config ?? {}) });
    } catch (e) {
      throw new TokenizerLoadError(source, `${source} could not be loaded by @huggingface/tokenizers: ${(e as Error).message}`, { cause: e });
    }
    const tok = new HfJsonTokenizer(Ctor, hf, obj, source, config, chatTemplate);
    if (tok.vocabSize === 0) throw new TokenizerLoadError(source, `${source} has an empty vocabulary`);
    return tok;
  }

  /** A second instance without the special added tokens, for parseSpecial: false. */
  private plainInstance(): HfTokenizerInstance {
    if (!this.plain) {
      const added = (this.json['added_tokens'] as { special?: boolean }[]).filter((t) => !t.special);
      this.plain = new this.Ctor({ ...this.json, added_tokens: added }, { ...(this.config ?? {}) });
    }
    return this.plain;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const { bos = true, eos = false, parseSpecial = false } = options;
    const t = wellFormed(text);
    const inst = parseSpecial || this.specialIds.size === 0 ? this.hf : this.plainInstance();
    const ids = t.length ? [...inst.encode(t, { add_special_tokens: false }).ids] : [];
    if (bos && this.bosId >= 0) ids.unshift(this.bosId);
    if (eos && this.eosId >= 0) ids.push(this.eosId);
    return ids;
  }

  encodePieces(text: string, options: Omit<EncodeOptions, 'bos' | 'eos'> = {}): string[] {
    return this.encode(text, { ...options, bos: false, eos: false }).map((id) => this.idToPiece(id));
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const { skipSpecial = true } = options;
    checkIds(ids, this.vocabSize);
    const kept = skipSpecial ? ids.filter((id) => !this.specialIds.has(id)) : [...ids];
    if (kept.length === 0) return ''; // tokenizers.js throws on an empty list
    return this.hf.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: this.cleanUp });
  }

  decodeToken(id: number, options: DecodeOptions = {}): string {
    const { skipSpecial = true } = options;
    checkIds([id], this.vocabSize);
    if (this.specialIds.has(id)) return skipSpecial ? '' : this.idToPiece(id);
    // Decoders may strip the first token's leading space (Metaspace, Strip): decode after a plain
    // one-letter anchor token and cut the anchor off, so ' world' keeps its space.
    if (this.anchor === undefined) {
      this.anchor = null;
      for (const a of ['a', 'e', 't', 'x', 'A', '0']) {
        const aid = this.hf.token_to_id(a);
        if (aid !== undefined && !this.specialIds.has(aid) && this.decode([aid]) === a) {
          this.anchor = aid;
          break;
        }
      }
    }
    if (this.anchor === null) return this.decode([id], { skipSpecial: false });
    const text = this.decode([this.anchor, id], { skipSpecial: false });
    return text.slice(this.decode([this.anchor]).length);
  }

  idToPiece(id: number): string {
    checkIds([id], this.vocabSize);
    const p = this.vocab[id];
    if (p === undefined) throw new RangeError(`token id ${id} is unused in ${this.source}`);
    return p;
  }

  pieceToId(piece: string): number | undefined {
    return this.hf.token_to_id(piece);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  createStreamDecoder(options?: StreamDecoderOptions): StreamDecoder {
    return new StreamDecoder(this, options);
  }
}
