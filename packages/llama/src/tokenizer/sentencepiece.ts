// SentencePiece `tokenizer.model` (Llama-1/2 and friends) through the wasm build of sentencepiece in
// @sctg/sentencepiece-js. Ids and decoded text match Python's `sentencepiece` exactly (see
// test/llama/tokenizer.test.ts and reference/tokenizer_goldens.py). That package neither checks the
// load status nor exposes the vocabulary, so the model file is parsed and validated here
// (./spm-proto.ts) before it is handed to the wasm.
import { type SpmModel, ModelType, PieceType, ProtoError, parseSpmModel } from './spm-proto.ts';
import { bomCapableIds, pieceToByte, spmDecode } from './spm-decode.ts';
import {
  type DecodeOptions, type EncodeOptions, type SpecialToken, type StreamDecoderOptions, type Tokenizer, TokenizerLoadError,
} from './interface.ts';
import { StreamDecoder } from './stream.ts';
import { type TokenizerConfig, checkIds, configChatTemplate, configTokenString, splitOnSpecials, wellFormed } from './common.ts';


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
export function loadSctg(): Promise<SctgModule> {
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
    await spp.loadFromB64StringModel(toBase64(bytes));
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

/** Base64 of bytes (the wasm takes its model as base64), in chunks to stay under the argument limit. */
function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
