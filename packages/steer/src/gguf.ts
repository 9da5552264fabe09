// GGUF control vectors, the format llama.cpp's `--control-vector` loads.
//
// Layout (GGUF v3, little-endian): magic "GGUF", version, tensor count, metadata count,
// metadata key/values, tensor infos (name, dims innermost-first, ggml type, offset), padding
// to `general.alignment` (32), then the tensor data, each tensor aligned.
//
// Layer numbering: llama.cpp adds tensor `direction.k` to the output of block k (0-based,
// "l_out"), the same place kts steers for layer k (HF `model.layers[k]`'s output). So kts layer
// k ↔ `direction.k`, one to one. llama.cpp rejects `direction.0`, so a vector for layer 0
// cannot be exported (we refuse with an error rather than shift it silently).
import { readFileSync, renameSync, writeFileSync } from '@kts/tensor/host';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const VERSION = 3;
const ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;

enum ValueType { UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12 }

export type GgufValue = string | number | boolean | bigint | GgufValue[];

export interface ControlVectorFile {
  modelHint: string;
  /** Number of layers of the model the vector was made for (controlvector.layer_count). */
  layerCount: number;
  /** kts layer index → direction (f32, hidden size). */
  directions: Map<number, Float32Array>;
  /** Extra metadata (e.g. kts.method); strings only. */
  metadata?: Record<string, string>;
}

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.push(b);
  }
  str(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.u64(bytes.length);
    this.push(bytes);
  }
  bytes(b: Uint8Array): void {
    this.push(b);
  }
  pad(align: number): void {
    const n = (align - (this.size % align)) % align;
    if (n) this.push(new Uint8Array(n));
  }
  get length(): number {
    return this.size;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Serialises a control vector as GGUF bytes. */
export function encodeControlVector(cv: ControlVectorFile): Uint8Array {
  const layers = [...cv.directions.keys()].sort((a, b) => a - b);
  if (layers.length === 0) throw new Error('gguf: a control vector needs at least one layer');
  const dim = cv.directions.get(layers[0]!)!.length;
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 1) throw new Error(`gguf: layer ${l} cannot be exported: llama.cpp numbers control-vector layers from 1 (layer 0's output is never steered there)`);
    if (cv.directions.get(l)!.length !== dim) throw new Error(`gguf: direction for layer ${l} has ${cv.directions.get(l)!.length} values, expected ${dim}`);
  }
  const meta: [string, ValueType, string | number][] = [
    ['general.architecture', ValueType.STRING, 'controlvector'],
    ['controlvector.model_hint', ValueType.STRING, cv.modelHint],
    ['controlvector.layer_count', ValueType.INT32, cv.layerCount],
    ...Object.entries(cv.metadata ?? {}).map(([k, v]) => [k, ValueType.STRING, v] as [string, ValueType, string]),
  ];
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(VERSION);
  w.u64(layers.length);
  w.u64(meta.length);
  for (const [key, type, value] of meta) {
    w.str(key);
    w.u32(type);
    if (type === ValueType.STRING) w.str(value as string);
    else w.u32((value as number) >>> 0);
  }
  const tensorBytes = dim * 4;
  const stride = Math.ceil(tensorBytes / ALIGNMENT) * ALIGNMENT;
  layers.forEach((l, i) => {
    w.str(`direction.${l}`);
    w.u32(1); // n_dims
    w.u64(dim);
    w.u32(GGML_TYPE_F32);
    w.u64(i * stride);
  });
  w.pad(ALIGNMENT);
  for (const l of layers) {
    const d = cv.directions.get(l)!;
    w.bytes(new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)));
    w.pad(ALIGNMENT);
  }
  return w.concat();
}

export function writeControlVector(path: string, cv: ControlVectorFile): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeControlVector(cv));
  renameSync(tmp, path);
}

class Reader {
  off = 0;
  private view: DataView;
  constructor(readonly bytes: Uint8Array, readonly label: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.off + n > this.bytes.length) throw new Error(`gguf: ${this.label}: truncated while reading ${what} at byte ${this.off}`);
  }
  u8(): number { this.need(1, 'u8'); return this.view.getUint8(this.off++); }
  u16(): number { this.need(2, 'u16'); const v = this.view.getUint16(this.off, true); this.off += 2; return v; }
  u32(): number { this.need(4, 'u32'); const v = this.view.getUint32(this.off, true); this.off += 4; return v; }
  i32(): number { this.need(4, 'i32'); const v = this.view.getInt32(this.off, true); this.off += 4; return v; }
  f32(): number { this.need(4, 'f32'); const v = this.view.getFloat32(this.off, true); this.off += 4; return v; }
  f64(): number { this.need(8, 'f64'); const v = this.view.getFloat64(this.off, true); this.off += 8; return v; }
  u64(): bigint { this.need(8, 'u64'); const v = this.view.getBigUint64(this.off, true); this.off += 8; return v; }
  i64(): bigint { this.need(8, 'i64'); const v = this.view.getBigInt64(this.off, true); this.off += 8; return v; }
  count(what: string): number {
    const v = this.u64();
    if (v > BigInt(this.bytes.length)) throw new Error(`gguf: ${this.label}: ${what} ${v} exceeds the file size`);
    return Number(v);
  }
  str(): string {
    const n = this.count('string length');
    this.need(n, 'string');
    const s = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.off, this.off + n));
    this.off += n;
    return s;
  }
  value(type: number): GgufValue {
    switch (type) {
      case ValueType.UINT8: return this.u8();
      case ValueType.INT8: return (this.u8() << 24) >> 24;
      case ValueType.UINT16: return this.u16();
      case ValueType.INT16: return (this.u16() << 16) >> 16;
      case ValueType.UINT32: return this.u32();
      case ValueType.INT32: return this.i32();
      case ValueType.FLOAT32: return this.f32();
      case ValueType.BOOL: return this.u8() !== 0;
      case ValueType.STRING: return this.str();
      case ValueType.UINT64: return this.u64();
      case ValueType.INT64: return this.i64();
      case ValueType.FLOAT64: return this.f64();
      case ValueType.ARRAY: {
        const t = this.u32();
        const n = this.count('array length');
        return Array.from({ length: n }, () => this.value(t));
      }
      default: throw new Error(`gguf: ${this.label}: unknown metadata value type ${type} at byte ${this.off}`);
    }
  }
}

/** Parses a control-vector GGUF (any GGUF with f32 `direction.k` tensors). */
export function decodeControlVector(input: Uint8Array, label = '<memory>'): ControlVectorFile & { raw: Record<string, GgufValue> } {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength); // a Buffer's slice() would not copy
  const r = new Reader(bytes, label);
  if (r.u32() !== MAGIC) throw new Error(`gguf: ${label}: not a GGUF file (bad magic)`);
  const version = r.u32();
  if (version < 2 || version > 3) throw new Error(`gguf: ${label}: unsupported GGUF version ${version}`);
  const nTensors = r.count('tensor count');
  const nMeta = r.count('metadata count');
  const raw: Record<string, GgufValue> = {};
  for (let i = 0; i < nMeta; i++) {
    const key = r.str();
    raw[key] = r.value(r.u32());
  }
  const align = typeof raw['general.alignment'] === 'number' ? raw['general.alignment'] : ALIGNMENT;
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str();
    const nd = r.u32();
    if (nd > 4) throw new Error(`gguf: ${label}: tensor '${name}' has ${nd} dims`);
    const dims = Array.from({ length: nd }, () => Number(r.u64()));
    infos.push({ name, dims, type: r.u32(), offset: Number(r.u64()) });
  }
  const dataStart = Math.ceil(r.off / align) * align;
  const directions = new Map<number, Float32Array>();
  for (const t of infos) {
    const m = /^direction\.(\d+)$/.exec(t.name);
    if (!m) continue;
    if (t.type !== GGML_TYPE_F32 || t.dims.length !== 1) throw new Error(`gguf: ${label}: tensor '${t.name}' must be 1-D f32`);
    const start = dataStart + t.offset;
    const end = start + t.dims[0]! * 4;
    if (end > bytes.length) throw new Error(`gguf: ${label}: tensor '${t.name}' bytes [${start}, ${end}) are past the end of the file (${bytes.length})`);
    directions.set(Number(m[1]), new Float32Array(bytes.slice(start, end).buffer));
  }
  if (raw['general.architecture'] !== 'controlvector') {
    throw new Error(`gguf: ${label}: general.architecture is '${String(raw['general.architecture'])}', expected 'controlvector'`);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' && !k.startsWith('general.') && !k.startsWith('controlvector.')) metadata[k] = v;
  return {
    modelHint: String(raw['controlvector.model_hint'] ?? ''),
    layerCount: Number(raw['controlvector.layer_count'] ?? 0),
    directions,
    metadata,
    raw,
  };
}

export function readControlVector(path: string): ControlVectorFile {
  return decodeControlVector(new Uint8Array(readFileSync(path)), path);
}
