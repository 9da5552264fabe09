/**
 * Safetensors I/O on raw records (no dependency on the Tensor class).
 *
 * Format: [u64 LE header length N][N bytes JSON header][data section].
 * The header maps tensor names to {dtype, shape, data_offsets: [start, end]}
 * (offsets relative to the data section) plus an optional `__metadata__`
 * object of string → string.
 *
 * Reading is lazy: opening a file reads only the header, and `read(name)`
 * fetches only that tensor's byte range with positioned reads. Every size
 * derived from untrusted input is checked against the real file size before
 * anything is allocated, so malformed files produce a SafetensorsError instead
 * of a crash, a hang or a huge allocation.
 */
import { fs } from '#host';
import { dirname, join, randomBytes } from '#host';
import { type FileSource, pathIn, readJson } from './files.ts';

export type StDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8' | 'F64';
export type RawData = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;

/**
 * A decoded tensor. `dtype` is the dtype stored in the file; `data` is the
 * decoded array (F16/BF16 decode to Float32Array, see `read`).
 */
export interface RawTensor {
  dtype: StDtype;
  shape: number[];
  data: RawData;
}

/** Input to the writer. Uint16Array is taken as raw F16/BF16 bits (dtype required). */
export interface WritableTensor {
  shape: number[];
  data: RawData | Uint16Array;
  dtype?: StDtype;
}

export interface TensorInfo {
  dtype: StDtype;
  shape: number[];
  /** Absolute [start, end) byte range of the tensor's data within `file`. */
  byteRange: [number, number];
  /** File holding the tensor (the path given to open, or the shard path). */
  file: string;
}

export interface ReadOptions {
  /**
   * 'f32': convert any dtype to Float32Array (I64 via Number, may lose precision).
   * 'i32': convert integer dtypes to Int32Array; I64 values outside the int32
   *        range throw. Not allowed for float dtypes.
   */
  as?: 'f32' | 'i32';
}

/** Common lazy-reader interface for single files, in-memory buffers and sharded checkpoints. */
export interface SafetensorsReader {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** Tensor names, sorted. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  read(name: string, opts?: ReadOptions): RawTensor;
  /** The tensor's raw little-endian bytes, undecoded (fresh, aligned copy). */
  readBytes(name: string): Uint8Array;
  /**
   * Decodes a float tensor (F32, F16, BF16) straight into `dst` (its element count must match):
   * F32 bytes land in dst's memory directly, half floats are decoded in 1 MiB chunks, so loading
   * a checkpoint needs no second copy of each tensor.
   */
  readInto(name: string, dst: Float32Array): void;
  readAll(opts?: ReadOptions): Record<string, RawTensor>;
  close(): void;
}

/** Every error raised for bad input or bad arguments is one of these. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Same limit as the reference implementation: headers above this are rejected before allocation. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_SIZE: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1, F64: 8 };

function isDtype(x: unknown): x is StDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, x);
}

// Typed arrays use host byte order while the format is little-endian; every
// platform Node ships for is little-endian, so we check once instead of
// byte-swapping everywhere.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function assertLittleEndian(): void {
  if (!HOST_LE) throw new SafetensorsError('safetensors: big-endian hosts are not supported');
}

function fail(where: string, msg: string): never {
  throw new SafetensorsError(`safetensors: ${where}: ${msg}`);
}

// ---------------------------------------------------------------------------
// Half-precision conversion
// ---------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f32 → bf16 bits, round-to-nearest-even; NaN stays a (quiet) NaN. */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) & 0x8000) | 0x7fc0;
  // Adding 0x7fff plus the lowest kept bit rounds ties to even; a carry out of
  // the mantissa correctly bumps the exponent (up to infinity).
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0];
}

/** f32 → IEEE half bits, round-to-nearest-even, with subnormals, overflow to inf and NaN. */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Half subnormal (or zero): shift the 24-bit significand down to 10 bits.
    if (e < -10) return sign; // below half the smallest subnormal → ±0
    const sig = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = sig & ((1 << shift) - 1);
    let m = sig >>> shift;
    if (rem > half || (rem === half && (m & 1))) m++; // may carry into the smallest normal: still correct bits
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // carry may reach 0x7c00 = inf, as it should
  return sign | h;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// 65536-entry table (256 KB), built on first F16 decode: a lookup is much
// faster than the branchy decode for multi-million-element weights.
let f16Table: Float32Array | null = null;
function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  return f16Table;
}

function decodeBf16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

function decodeF16(bits: Uint16Array): Float32Array {
  const table = f16Lookup();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

function encodeHalf(data: Float32Array, dtype: 'F16' | 'BF16'): Uint16Array {
  const enc = dtype === 'BF16' ? f32ToBf16Bits : f32ToF16Bits;
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = enc(data[i]);
  return out;
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

interface PlannedTensor {
  name: string;
  dtype: StDtype;
  shape: number[];
  nbytes: number;
  /** Little-endian bytes; computed on demand so the file writer can stream tensor by tensor. */
  bytes(): Uint8Array;
}

function defaultDtype(data: WritableTensor['data']): StDtype | undefined {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint8Array) return 'U8';
  if (data instanceof BigInt64Array) return 'I64';
  return undefined; // Uint16Array: ambiguous between F16 and BF16
}

function byteView(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function checkShape(where: string, shape: unknown): number {
  if (!Array.isArray(shape)) fail(where, `shape must be an array, got ${describe(shape)}`);
  let numel = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(where, `shape must contain non-negative integers, got ${describe(shape)}`);
    }
    numel *= d;
  }
  if (!Number.isSafeInteger(numel)) fail(where, `shape ${describe(shape)} has too many elements`);
  return numel;
}

function planTensors(
  label: string,
  tensors: Record<string, WritableTensor>,
  metadata: Record<string, string> | undefined,
): { header: Uint8Array; planned: PlannedTensor[]; dataBytes: number } {
  assertLittleEndian();
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== 'string') fail(label, `__metadata__["${k}"] must be a string, got ${describe(v)}`);
    Object.defineProperty(meta, k, { value: v, enumerable: true, writable: true, configurable: true });
  }

  const names = Object.keys(tensors).sort();
  const planned: PlannedTensor[] = [];
  for (const name of names) {
    const where = `${label}: tensor "${name}"`;
    if (name === '__metadata__') fail(where, 'the name __metadata__ is reserved');
    const t = tensors[name];
    if (t === null || typeof t !== 'object') fail(where, 'expected {shape, data, dtype?}');
    const numel = checkShape(where, t.shape);
    const data = t.data;
    const dtype = t.dtype ?? defaultDtype(data);
    if (dtype === undefined) fail(where, 'Uint16Array data needs an explicit dtype F16 or BF16');
    if (!isDtype(dtype)) fail(where, `unknown dtype ${describe(dtype)}`);
    if (!ArrayBuffer.isView(data)) fail(where, 'data must be a typed array');
    if (data.length !== numel) {
      fail(where, `shape [${t.shape.join(', ')}] has ${numel} elements but data has ${data.length}`);
    }

    let bytes: () => Uint8Array;
    const natural = defaultDtype(data);
    if (natural === dtype) {
      bytes = () => byteView(data);
    } else if ((dtype === 'BF16' || dtype === 'F16') && data instanceof Float32Array) {
      bytes = () => byteView(encodeHalf(data, dtype)); // lossy f32 → half, round-to-nearest-even
    } else if ((dtype === 'BF16' || dtype === 'F16') && data instanceof Uint16Array) {
      bytes = () => byteView(data); // already half bits
    } else {
      fail(where, `cannot write ${data.constructor.name} as dtype ${dtype}`);
    }
    planned.push({ name, dtype, shape: [...t.shape], nbytes: numel * DTYPE_SIZE[dtype], bytes });
  }

  // `__metadata__` first, then tensors in name order with contiguous offsets.
  const json: Record<string, unknown> = {};
  json.__metadata__ = meta;
  let offset = 0;
  for (const p of planned) {
    const entry = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.nbytes] };
    // defineProperty so a tensor named "__proto__" becomes a key, not a prototype.
    Object.defineProperty(json, p.name, { value: entry, enumerable: true, writable: true, configurable: true });
    offset += p.nbytes;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  // Pad with spaces so the data section starts 8-byte aligned.
  const padded = Math.ceil(text.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, planned, dataBytes: offset };
}

/** Serialize to an in-memory safetensors file. */
export function serializeSafetensors(
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const { header, planned, dataBytes } = planTensors('<memory>', tensors, metadata);
  const out = new Uint8Array(header.length + dataBytes);
  out.set(header, 0);
  let pos = header.length;
  for (const p of planned) {
    out.set(p.bytes(), pos);
    pos += p.nbytes;
  }
  return out;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Write a safetensors file atomically: data goes to a sibling temp file which
 * is fsynced and renamed over `path`, so readers never see a partial file.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): void {
  const { header, planned } = planTensors(path, tensors, metadata);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx');
    writeAll(fd, header);
    for (const p of planned) writeAll(fd, p.bytes()); // one tensor at a time: no full-file buffer
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* may not exist */ }
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

/** Random-access byte source: a file descriptor or an in-memory buffer. */
interface ByteSource {
  readonly size: number;
  /** Exactly `len` bytes at `pos`, as a fresh (hence aligned) buffer. */
  read(pos: number, len: number): Uint8Array;
  /** Exactly `dst.length` bytes at `pos`, written into `dst` (no allocation). */
  readInto(pos: number, dst: Uint8Array): void;
  close(): void;
}

function fileSource(path: string): ByteSource {
  let fd: number | null;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    fail(path, `cannot open: ${(err as Error).message}`);
  }
  let size: number;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) fail(path, 'not a regular file');
    size = st.size;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return {
    size,
    read(pos, len) {
      const buf = new Uint8Array(len);
      this.readInto(pos, buf);
      return buf;
    },
    readInto(pos, buf) {
      if (fd === null) fail(path, 'reader is closed');
      const len = buf.length;
      let done = 0;
      while (done < len) {
        const n = fs.readSync(fd, buf, done, len - done, pos + done);
        // The file shrank after we checked its size: stop instead of spinning.
        if (n === 0) fail(path, `unexpected end of file reading bytes [${pos}, ${pos + len})`);
        done += n;
      }
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (pos, len) => bytes.slice(pos, pos + len), // copy: aligned, and never aliases the caller's buffer
    readInto: (pos, dst) => dst.set(bytes.subarray(pos, pos + dst.length)),
    close() {},
  };
}

function describe(x: unknown): string {
  let s: string;
  try {
    s = typeof x === 'bigint' ? `${x}n` : JSON.stringify(x) ?? String(x);
  } catch {
    s = String(x);
  }
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

interface Entry {
  dtype: StDtype;
  shape: number[];
  numel: number;
  start: number; // absolute byte positions in the source
  end: number;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Read and validate the header; only the header bytes are read. */
function parseHeader(label: string, src: ByteSource): { metadata: Record<string, string>; entries: Map<string, Entry> } {
  if (src.size < 8) fail(label, `file is ${src.size} bytes, shorter than the 8-byte header length field`);
  const lenBytes = src.read(0, 8);
  const view = new DataView(lenBytes.buffer);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo; // exact for anything that can pass the checks below
  if (headerLen > MAX_HEADER_BYTES) {
    fail(label, `header length ${hi ? view.getBigUint64(0, true) : headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (8 + headerLen > src.size) {
    fail(label, `header length ${headerLen} runs past the end of the ${src.size}-byte file`);
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, headerLen)));
  } catch (err) {
    fail(label, `header is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(json)) fail(label, `header must be a JSON object, got ${describe(json)}`);

  const dataStart = 8 + headerLen;
  const dataLen = src.size - dataStart;
  const metadata: [string, string][] = [];
  const entries = new Map<string, Entry>();
  const ranges: { name: string; start: number; end: number }[] = [];

  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) fail(label, `__metadata__ must be an object of strings, got ${describe(raw)}`);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') fail(label, `__metadata__["${k}"] must be a string, got ${describe(v)}`);
        metadata.push([k, v]);
      }
      continue;
    }
    const where = `${label}: tensor "${name}"`;
    if (!isPlainObject(raw)) fail(where, `header entry must be an object, got ${describe(raw)}`);
    const { dtype, shape, data_offsets: offs } = raw;
    if (!isDtype(dtype)) fail(where, `unknown dtype ${describe(dtype)} (expected one of ${Object.keys(DTYPE_SIZE).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      fail(where, `shape must be an array of non-negative integers, got ${describe(shape)}`);
    }
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(where, `data_offsets must be two non-negative integers, got ${describe(offs)}`);
    }
    const [start, end] = offs as [number, number];
    const absRange = `bytes [${dataStart + start}, ${dataStart + end})`;
    if (start > end) fail(where, `data_offsets [${start}, ${end}] are misordered (${absRange})`);
    if (end > dataLen) {
      fail(where, `data_offsets [${start}, ${end}] run past the ${dataLen}-byte data section (${absRange}, file is ${src.size} bytes)`);
    }
    // Element count, bailing out early so huge dims cannot overflow: any
    // count beyond the data section already disagrees with the offsets.
    let numel = shape.includes(0) ? 0 : 1;
    for (const d of shape as number[]) {
      if (numel === 0 || numel > dataLen) break;
      numel *= d;
    }
    const expected = numel * DTYPE_SIZE[dtype];
    if (numel > dataLen || expected !== end - start) {
      fail(
        where,
        `shape [${shape.join(', ')}] × ${dtype} needs ${numel > dataLen ? 'more than ' + dataLen : expected} bytes ` +
          `but data_offsets [${start}, ${end}] span ${end - start} (${absRange})`,
      );
    }
    entries.set(name, { dtype, shape: [...(shape as number[])], numel, start: dataStart + start, end: dataStart + end });
    ranges.push({ name, start, end });
  }

  // Tensors must tile the data section exactly: no gaps, no overlap, no trailing bytes.
  ranges.sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = 0;
  let prev = '';
  for (const r of ranges) {
    const absRange = `bytes [${dataStart + r.start}, ${dataStart + r.end})`;
    if (r.start < cursor) {
      fail(`${label}: tensor "${r.name}"`, `data_offsets [${r.start}, ${r.end}] overlap tensor "${prev}" ending at ${cursor} (${absRange})`);
    }
    if (r.start > cursor) {
      fail(`${label}: tensor "${r.name}"`, `data_offsets [${r.start}, ${r.end}] leave a gap after offset ${cursor} (${absRange})`);
    }
    cursor = r.end;
    prev = r.name;
  }
  if (cursor !== dataLen) {
    fail(label, `tensors cover ${cursor} bytes but the data section has ${dataLen} (bytes [${dataStart + cursor}, ${src.size}) unaccounted for)`);
  }
  return { metadata: Object.fromEntries(metadata), entries };
}

function decode(where: string, e: Entry, bytes: Uint8Array, opts: ReadOptions | undefined): RawData {
  assertLittleEndian();
  const buf = bytes.buffer; // fresh buffer from ByteSource.read: offset 0, aligned
  let data: RawData;
  switch (e.dtype) {
    case 'F32': data = new Float32Array(buf, 0, e.numel); break;
    case 'F64': data = new Float64Array(buf, 0, e.numel); break;
    case 'I32': data = new Int32Array(buf, 0, e.numel); break;
    case 'I64': data = new BigInt64Array(buf, 0, e.numel); break;
    case 'U8': data = bytes; break;
    case 'BF16': data = decodeBf16(new Uint16Array(buf, 0, e.numel)); break;
    case 'F16': data = decodeF16(new Uint16Array(buf, 0, e.numel)); break;
  }
  const as = opts?.as;
  if (as === undefined) return data;
  if (as === 'f32') {
    if (data instanceof Float32Array) return data;
    if (data instanceof BigInt64Array) return Float32Array.from(data, (v) => Number(v));
    return Float32Array.from(data);
  }
  if (as === 'i32') {
    if (data instanceof Int32Array) return data;
    if (data instanceof Uint8Array) return Int32Array.from(data);
    if (data instanceof BigInt64Array) {
      const out = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (v < -2147483648n || v > 2147483647n) {
          fail(where, `I64 value ${v} at index ${i} does not fit in int32 (bytes [${e.start}, ${e.end}))`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    fail(where, `cannot read ${e.dtype} as i32`);
  }
  fail(where, `unknown read option as=${describe(as)}`);
}

function makeReader(label: string, src: ByteSource): SafetensorsReader {
  let header: ReturnType<typeof parseHeader>;
  try {
    header = parseHeader(label, src);
  } catch (err) {
    src.close();
    throw err;
  }
  const { metadata, entries } = header;
  const names = [...entries.keys()].sort();
  const entry = (name: string): Entry => {
    const e = entries.get(name);
    if (!e) fail(label, `no tensor named "${name}"`);
    return e;
  };
  const reader: SafetensorsReader = {
    path: label,
    metadata,
    names: () => [...names],
    has: (name) => entries.has(name),
    info(name) {
      const e = entry(name);
      return { dtype: e.dtype, shape: [...e.shape], byteRange: [e.start, e.end], file: label };
    },
    readBytes(name) {
      const e = entry(name);
      return src.read(e.start, e.end - e.start);
    },
    read(name, opts) {
      const e = entry(name);
      const bytes = src.read(e.start, e.end - e.start);
      return { dtype: e.dtype, shape: [...e.shape], data: decode(`${label}: tensor "${name}"`, e, bytes, opts) };
    },
    readInto(name, dst) {
      const e = entry(name);
      const what = `${label}: tensor "${name}"`;
      const n = e.shape.reduce((a, d) => a * d, 1);
      if (dst.length !== n) throw new SafetensorsError(`${what}: readInto needs ${n} elements, destination has ${dst.length}`);
      if (e.dtype === 'F32') {
        src.readInto(e.start, new Uint8Array(dst.buffer, dst.byteOffset, n * 4));
        return;
      }
      if (e.dtype !== 'F16' && e.dtype !== 'BF16') throw new SafetensorsError(`${what}: readInto decodes float tensors only, got ${e.dtype}`);
      const decodeHalf = f16BitsToF32;
      const dstBits = e.dtype === 'BF16' ? new Uint32Array(dst.buffer, dst.byteOffset, n) : null;
      const chunk = 1 << 16; // elements per read (128 KiB of half floats)
      const bits = new Uint16Array(Math.min(chunk, n));
      for (let i = 0; i < n; i += chunk) {
        const m = Math.min(chunk, n - i);
        const view = new Uint8Array(bits.buffer, 0, m * 2);
        src.readInto(e.start + i * 2, view);
        if (dstBits) for (let k = 0; k < m; k++) dstBits[i + k] = bits[k]! << 16; // bf16 is the top half of an f32
        else for (let k = 0; k < m; k++) dst[i + k] = decodeHalf(bits[k]!);
      }
    },
    readAll(opts) {
      return Object.fromEntries(names.map((n) => [n, reader.read(n, opts)]));
    },
    close: () => src.close(),
  };
  return reader;
}

/** Open a file lazily: reads and validates only the header. Call `close()` when done. */
export function openSafetensors(path: string): SafetensorsReader {
  return makeReader(path, fileSource(path));
}

/** Reader over an in-memory file. Returned arrays are copies, never views of `bytes`. */
export function parseSafetensors(bytes: Uint8Array, label = '<memory>'): SafetensorsReader {
  // A plain view: a Node Buffer's slice() would alias its (possibly pooled) memory instead of copying.
  return makeReader(label, memorySource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
}

/** Read some (default: all) tensors of a file, or of a checkpoint directory / index. */
export function readSafetensors(path: string, names?: string[], opts?: ReadOptions): Record<string, RawTensor> {
  const isDir = fs.existsSync(path) && fs.statSync(path).isDirectory();
  const reader = isDir || path.endsWith('.json') ? openCheckpoint(path) : openSafetensors(path);
  try {
    return Object.fromEntries((names ?? reader.names()).map((n) => [n, reader.read(n, opts)]));
  } finally {
    reader.close();
  }
}

// ---------------------------------------------------------------------------
// Sharded checkpoints
// ---------------------------------------------------------------------------

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/**
 * Open a sharded checkpoint from its directory or its index JSON path. Shard
 * existence is checked up front; each shard is opened on first use.
 */
export function openSafetensorsIndex(dirOrIndexPath: string): SafetensorsReader {
  let indexPath = dirOrIndexPath;
  if (fs.existsSync(indexPath) && fs.statSync(indexPath).isDirectory()) indexPath = join(indexPath, INDEX_FILE);
  const dir = dirname(indexPath);

  let size: number;
  try {
    size = fs.statSync(indexPath).size;
  } catch (err) {
    fail(indexPath, `cannot read index: ${(err as Error).message}`);
  }
  if (size > MAX_HEADER_BYTES) fail(indexPath, `index is ${size} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (err) {
    fail(indexPath, `index is not valid JSON: ${(err as Error).message}`);
  }
  const index = parseIndex(indexPath, json);
  const missing = index.files.filter((f) => !fs.existsSync(join(dir, f)));
  if (missing.length) fail(indexPath, `missing shard file(s): ${missing.map((f) => join(dir, f)).join(', ')}`);
  return shardedReader(indexPath, index, (file) => openSafetensors(join(dir, file)));
}

interface ShardIndex {
  metadata: Record<string, string>;
  /** Tensor name → shard file name. */
  shardOf: Map<string, string>;
  /** Shard file names, each once. */
  files: string[];
}

/** Validates an HF `model.safetensors.index.json` object. */
function parseIndex(indexPath: string, json: unknown): ShardIndex {
  if (!isPlainObject(json)) fail(indexPath, 'index must be a JSON object');
  const weightMap = json.weight_map;
  if (!isPlainObject(weightMap)) fail(indexPath, 'index has no "weight_map" object');

  // HF index metadata holds non-strings (e.g. total_size); stringify them for a uniform interface.
  const rawMeta = json.metadata ?? {};
  if (!isPlainObject(rawMeta)) fail(indexPath, '"metadata" must be an object');
  const metadata = Object.fromEntries(
    Object.entries(rawMeta).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );

  const shardOf = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || file === '' || file === '.' || file === '..' || file.includes('/')) {
      fail(indexPath, `tensor "${name}": weight_map entry must be a shard file name in the same directory, got ${describe(file)}`);
    }
    shardOf.set(name, file);
  }
  return { metadata, shardOf, files: [...new Set(shardOf.values())] };
}

/** One reader over the shards of an index; `open(file)` opens a shard on first use. */
function shardedReader(indexPath: string, index: ShardIndex, open: (file: string) => SafetensorsReader): SafetensorsReader {
  const { metadata, shardOf } = index;
  const shards = new Map<string, SafetensorsReader>();
  const names = [...shardOf.keys()].sort();
  const locate = (name: string): [SafetensorsReader, string] => {
    const file = shardOf.get(name);
    if (file === undefined) fail(indexPath, `no tensor named "${name}" in weight_map`);
    let shard = shards.get(file);
    if (!shard) {
      shard = open(file);
      shards.set(file, shard);
    }
    if (!shard.has(name)) fail(shard.path, `tensor "${name}": listed in ${indexPath} but not present in this shard`);
    return [shard, name];
  };

  const reader: SafetensorsReader = {
    path: indexPath,
    metadata,
    names: () => [...names],
    has: (name) => shardOf.has(name),
    info: (name) => {
      const [s, n] = locate(name);
      return s.info(n);
    },
    read: (name, opts) => {
      const [s, n] = locate(name);
      return s.read(n, opts);
    },
    readBytes: (name) => {
      const [s, n] = locate(name);
      return s.readBytes(n);
    },
    readInto: (name, dst) => {
      const [s, n] = locate(name);
      s.readInto(n, dst);
    },
    readAll: (opts) => Object.fromEntries(names.map((n) => [n, reader.read(n, opts)])),
    close() {
      for (const s of shards.values()) s.close();
      shards.clear();
    },
  };
  return reader;
}

/**
 * A checkpoint from any FileSource (a folder URL, dropped files, a folder on disk): its
 * `model.safetensors`, or its index and every shard, read into memory.
 */
export async function fetchCheckpoint(files: FileSource): Promise<SafetensorsReader> {
  const single = await files.read(SINGLE_FILE);
  if (single) return parseSafetensors(single, pathIn(files, SINGLE_FILE));
  const indexPath = pathIn(files, INDEX_FILE);
  const json = await readJson(files, INDEX_FILE);
  if (json === null) fail(files.name, `no ${SINGLE_FILE} or ${INDEX_FILE}`);
  const index = parseIndex(indexPath, json);
  const shards = new Map<string, Uint8Array>();
  for (const file of index.files) {
    const bytes = await files.read(file);
    if (!bytes) fail(indexPath, `missing shard file ${pathIn(files, file)}`);
    shards.set(file, bytes);
  }
  return shardedReader(indexPath, index, (file) => parseSafetensors(shards.get(file)!, pathIn(files, file)));
}

/**
 * Open a checkpoint: a directory holding `model.safetensors` or
 * `model.safetensors.index.json`, or a direct path to either kind of file.
 */
export function openCheckpoint(dir: string): SafetensorsReader {
  if (!fs.existsSync(dir)) fail(dir, 'no such file or directory');
  if (!fs.statSync(dir).isDirectory()) return dir.endsWith('.json') ? openSafetensorsIndex(dir) : openSafetensors(dir);
  const single = join(dir, SINGLE_FILE);
  if (fs.existsSync(single)) return openSafetensors(single);
  const index = join(dir, INDEX_FILE);
  if (fs.existsSync(index)) return openSafetensorsIndex(index);
  fail(dir, `no ${SINGLE_FILE} or ${INDEX_FILE} in this directory`);
}
