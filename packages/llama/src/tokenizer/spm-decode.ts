// sentencepiece's DecodeIds, in TypeScript, for a parsed ModelProto.
//
// Why: the emscripten glue of @sctg/sentencepiece-js converts the decoded UTF-8 to a JS string
// with a default TextDecoder for strings over 16 bytes (per NUL-separated segment), and a default
// TextDecoder drops a leading byte-order mark. So the wasm loses a U+FEFF that starts the output
// (or follows a NUL) while Python keeps it. SentencePieceTokenizer.decode uses this function for id
// lists that can produce U+FEFF, and the wasm for the rest. It follows
// SentencePieceProcessor::Decode (sentencepiece_processor.cc): control pieces vanish, <unk> becomes
// unk_surface, the first piece that starts with U+2581 loses it (add_dummy_prefix), U+2581 becomes
// a space, and runs of byte pieces are turned into UTF-8 with each structurally invalid byte
// replaced by U+FFFD. Checked against Python's sentencepiece in test/llama/tokenizer.test.ts.
// Not covered: a denormalizer_spec (models with one keep using the wasm).
import { PieceType, type SpmModel } from './spm-proto.ts';

const SPACE_SYMBOL = '\u2581';
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const REPLACEMENT = [0xef, 0xbf, 0xbd];

function isTrail(b: number | undefined): boolean {
  return b !== undefined && (b & 0xc0) === 0x80;
}

function isValidCodepoint(c: number): boolean {
  return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
}

/**
 * sentencepiece's DecodeUTF8 + IsValidDecodeUTF8 at `bytes[i]`: the length of a valid character
 * there, or 0 where the byte is invalid (the input U+FFFD itself counts as valid).
 */
function validUtf8Length(bytes: readonly number[], i: number): number {
  const b0 = bytes[i]!;
  const left = bytes.length - i;
  if (b0 < 0x80) return 1;
  if (left >= 2 && (b0 & 0xe0) === 0xc0) {
    const cp = ((b0 & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
    if (isTrail(bytes[i + 1]) && cp >= 0x80 && isValidCodepoint(cp)) return 2;
  } else if (left >= 3 && (b0 & 0xf0) === 0xe0) {
    const cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
    if (isTrail(bytes[i + 1]) && isTrail(bytes[i + 2]) && cp >= 0x800 && isValidCodepoint(cp)) return 3;
  } else if (left >= 4 && (b0 & 0xf8) === 0xf0) {
    const cp = ((b0 & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
    if (isTrail(bytes[i + 1]) && isTrail(bytes[i + 2]) && isTrail(bytes[i + 3]) && cp >= 0x10000 && isValidCodepoint(cp)) return 4;
  }
  return 0;
}

/** Byte value of a `<0xNN>` piece, or -1. */
export function pieceToByte(piece: string): number {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  return m ? parseInt(m[1]!, 16) : -1;
}

/** Decode ids (assumed in range) exactly as sentencepiece's DecodeIds does, to a JS string. */
export function spmDecode(model: SpmModel, ids: readonly number[]): string {
  const { pieces, normalizerSpec, trainerSpec } = model;
  const out: number[] = [];
  const stripDummy = normalizerSpec.addDummyPrefix || normalizerSpec.removeExtraWhitespaces;
  let isBosWs = true;
  let bosWsSeen = false;
  let pendingBytes: number[] = [];

  const flushBytes = () => {
    let i = 0;
    while (i < pendingBytes.length) {
      const n = validUtf8Length(pendingBytes, i);
      if (n === 0) {
        out.push(...REPLACEMENT);
        i += 1;
      } else {
        for (let j = 0; j < n; j++) out.push(pendingBytes[i + j]!);
        i += n;
      }
    }
    pendingBytes = [];
  };

  for (const id of ids) {
    const p = pieces[id]!;
    if (p.type === PieceType.BYTE) {
      const b = pieceToByte(p.piece);
      if (b < 0) throw new Error(`byte piece ${JSON.stringify(p.piece)} (id ${id}) is not of the form <0xNN>`);
      pendingBytes.push(b);
      continue;
    }
    flushBytes();
    if (bosWsSeen || out.length > 0) isBosWs = false;
    let surface: string;
    bosWsSeen = false;
    if (p.type === PieceType.CONTROL) surface = '';
    else if (p.type === PieceType.UNKNOWN) surface = trainerSpec.unkSurface;
    else {
      let piece = p.piece;
      if (isBosWs && stripDummy) {
        if (piece.startsWith(SPACE_SYMBOL)) {
          piece = piece.slice(SPACE_SYMBOL.length);
          bosWsSeen = !normalizerSpec.removeExtraWhitespaces;
        }
      }
      surface = piece.replaceAll(SPACE_SYMBOL, ' ');
    }
    for (const b of encoder.encode(surface)) out.push(b);
  }
  flushBytes();
  return decoder.decode(new Uint8Array(out));
}

/** Ids whose surface can contain the bytes EF BB BF (U+FEFF): pieces containing it, and <0xEF>. */
export function bomCapableIds(model: SpmModel): Set<number> {
  const s = new Set<number>();
  model.pieces.forEach((p, i) => {
    if (p.type === PieceType.BYTE ? pieceToByte(p.piece) === 0xef : p.piece.includes('\uFEFF')) s.add(i);
  });
  return s;
}
