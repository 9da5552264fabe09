// A small reader for SentencePiece's `ModelProto` (sentencepiece_model.proto, proto2), the format
// of `tokenizer.model`. The wasm build of sentencepiece we use (@sctg/sentencepiece-js) exposes no
// way to list the vocabulary and it silently accepts garbage, so we parse the protobuf ourselves:
// to validate the file (clear error naming it) and to get pieces, scores, piece types, special ids
// and the normalizer flags.
//
// Only the fields we need are decoded; unknown fields are skipped by wire type, as protobuf does.

/** sentencepiece.ModelProto.SentencePiece.Type */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

/** sentencepiece.TrainerSpec.ModelType */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface SpmPiece {
  piece: string;
  score: number;
  type: PieceTypeValue;
}

export interface SpmTrainerSpec {
  modelType: number;
  vocabSize: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkSurface: string;
  treatWhitespaceAsSuffix: boolean;
  splitDigits: boolean;
}

export interface SpmNormalizerSpec {
  name: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  hasPrecompiledCharsmap: boolean;
}

export interface SpmModel {
  pieces: SpmPiece[];
  trainerSpec: SpmTrainerSpec;
  normalizerSpec: SpmNormalizerSpec;
  /** Whether it has a denormalizer (denormalizer_spec with a non-empty precompiled_charsmap). */
  hasDenormalizer: boolean;
  /** Whether the file had a trainer_spec / normalizer_spec message (every real model has both). */
  hasTrainerSpec: boolean;
  hasNormalizerSpec: boolean;
}

/** Thrown for bytes that are not a well-formed ModelProto; `offset` is the byte where it broke. */
export class ProtoError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'ProtoError';
  }
}

// ignoreBOM: keep a leading U+FEFF (the Llama-2 vocabulary has a piece that is just U+FEFF).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Low and high 32 bits of a varint (up to 10 bytes). */
  varint64(): [lo: number, hi: number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint', this.pos);
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtoError('varint longer than 10 bytes', this.pos);
  }

  /** An unsigned varint as a number (exact below 2^53: lengths, tags, bools). */
  varint(): number {
    const [lo, hi] = this.varint64();
    return lo + hi * 0x100000000;
  }

  /** proto int32: the low 32 bits, signed (negative values are sign-extended to 10 bytes). */
  int32(): number {
    return this.varint64()[0] | 0;
  }

  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) throw new ProtoError(`length-delimited field of ${len} bytes runs past the end`, start);
    this.pos = start + len;
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.bytes();
    try {
      return utf8.decode(this.buf.subarray(s, e));
    } catch {
      throw new ProtoError('string field is not valid UTF-8', s);
    }
  }

  float(): number {
    if (this.end - this.pos < 4) throw new ProtoError('truncated fixed32', this.pos);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        if (this.end - this.pos < 8) throw new ProtoError('truncated fixed64', this.pos);
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        if (this.end - this.pos < 4) throw new ProtoError('truncated fixed32', this.pos);
        this.pos += 4;
        return;
      default:
        // Groups (3/4) are not used by sentencepiece; 6/7 do not exist.
        throw new ProtoError(`unsupported wire type ${wire}`, this.pos);
    }
  }

  tag(): [field: number, wire: number] {
    const at = this.pos;
    const t = this.varint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) throw new ProtoError('field number 0', at);
    return [field, wire];
  }
}

function expectWire(r: Reader, wire: number, want: number, what: string): void {
  if (wire !== want) throw new ProtoError(`${what}: wire type ${wire}, expected ${want}`, r.pos);
}

function parsePiece(buf: Uint8Array, start: number, end: number): SpmPiece {
  const r = new Reader(buf, start, end);
  let piece: string | undefined;
  let score = 0;
  let type: number = PieceType.NORMAL;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1) {
      expectWire(r, w, 2, 'SentencePiece.piece');
      piece = r.string();
    } else if (f === 2) {
      expectWire(r, w, 5, 'SentencePiece.score');
      score = r.float();
    } else if (f === 3) {
      expectWire(r, w, 0, 'SentencePiece.type');
      type = r.int32();
    } else r.skip(w);
  }
  if (piece === undefined) throw new ProtoError('SentencePiece without a piece string', start);
  if (type < 1 || type > 6) throw new ProtoError(`SentencePiece ${JSON.stringify(piece)} has unknown type ${type}`, start);
  return { piece, score, type: type as PieceTypeValue };
}

function parseTrainerSpec(buf: Uint8Array, start: number, end: number): SpmTrainerSpec {
  const spec: SpmTrainerSpec = {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkSurface: ' \u2047 ',
    treatWhitespaceAsSuffix: false,
    splitDigits: false,
  };
  const r = new Reader(buf, start, end);
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 3: expectWire(r, w, 0, 'model_type'); spec.modelType = r.int32(); break;
      case 4: expectWire(r, w, 0, 'vocab_size'); spec.vocabSize = r.int32(); break;
      case 24: expectWire(r, w, 0, 'treat_whitespace_as_suffix'); spec.treatWhitespaceAsSuffix = r.varint() !== 0; break;
      case 25: expectWire(r, w, 0, 'split_digits'); spec.splitDigits = r.varint() !== 0; break;
      case 35: expectWire(r, w, 0, 'byte_fallback'); spec.byteFallback = r.varint() !== 0; break;
      case 40: expectWire(r, w, 0, 'unk_id'); spec.unkId = r.int32(); break;
      case 41: expectWire(r, w, 0, 'bos_id'); spec.bosId = r.int32(); break;
      case 42: expectWire(r, w, 0, 'eos_id'); spec.eosId = r.int32(); break;
      case 43: expectWire(r, w, 0, 'pad_id'); spec.padId = r.int32(); break;
      case 44: expectWire(r, w, 2, 'unk_surface'); spec.unkSurface = r.string(); break;
      default: r.skip(w);
    }
  }
  return spec;
}

function parseNormalizerSpec(buf: Uint8Array, start: number, end: number): SpmNormalizerSpec {
  const spec: SpmNormalizerSpec = {
    name: '',
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
    hasPrecompiledCharsmap: false,
  };
  const r = new Reader(buf, start, end);
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: expectWire(r, w, 2, 'normalizer name'); spec.name = r.string(); break;
      case 2: {
        expectWire(r, w, 2, 'precompiled_charsmap');
        const [s, e] = r.bytes();
        spec.hasPrecompiledCharsmap = e > s;
        break;
      }
      case 3: expectWire(r, w, 0, 'add_dummy_prefix'); spec.addDummyPrefix = r.varint() !== 0; break;
      case 4: expectWire(r, w, 0, 'remove_extra_whitespaces'); spec.removeExtraWhitespaces = r.varint() !== 0; break;
      case 5: expectWire(r, w, 0, 'escape_whitespaces'); spec.escapeWhitespaces = r.varint() !== 0; break;
      default: r.skip(w);
    }
  }
  return spec;
}

/** Parse a SentencePiece `tokenizer.model`. Throws ProtoError on malformed bytes. */
export function parseSpmModel(buf: Uint8Array): SpmModel {
  const r = new Reader(buf, 0, buf.length);
  const pieces: SpmPiece[] = [];
  let trainer: SpmTrainerSpec | undefined;
  let normalizer: SpmNormalizerSpec | undefined;
  let hasDenormalizer = false;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1) {
      expectWire(r, w, 2, 'ModelProto.pieces');
      const [s, e] = r.bytes();
      pieces.push(parsePiece(buf, s, e));
    } else if (f === 2) {
      expectWire(r, w, 2, 'ModelProto.trainer_spec');
      const [s, e] = r.bytes();
      trainer = parseTrainerSpec(buf, s, e);
    } else if (f === 3) {
      expectWire(r, w, 2, 'ModelProto.normalizer_spec');
      const [s, e] = r.bytes();
      normalizer = parseNormalizerSpec(buf, s, e);
    } else if (f === 5) {
      expectWire(r, w, 2, 'ModelProto.denormalizer_spec');
      const [s, e] = r.bytes();
      hasDenormalizer = parseNormalizerSpec(buf, s, e).hasPrecompiledCharsmap;
    } else r.skip(w);
  }
  return {
    pieces,
    trainerSpec: trainer ?? parseTrainerSpec(buf, 0, 0),
    normalizerSpec: normalizer ?? parseNormalizerSpec(buf, 0, 0),
    hasDenormalizer,
    hasTrainerSpec: trainer !== undefined,
    hasNormalizerSpec: normalizer !== undefined,
  };
}
