import { test, describe, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {
  type StDtype,
  type WritableTensor,
  type SafetensorsReader,
  SafetensorsError,
  MAX_HEADER_BYTES,
  writeSafetensors,
  serializeSafetensors,
  openSafetensors,
  parseSafetensors,
  readSafetensors,
  openSafetensorsIndex,
  openCheckpoint,
  f32ToBf16Bits,
  bf16BitsToF32,
  f32ToF16Bits,
  f16BitsToF32,
} from '../../packages/tensor/src/safetensors.ts';

let dir: string;
let fileCounter = 0;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kts-safetensors-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
const tmpFile = (name = 'f') => path.join(dir, `${name}-${fileCounter++}.safetensors`);

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Build a raw file from an arbitrary header (object or literal text) and data bytes. */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerLen?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

function writeRaw(bytes: Uint8Array, name = 'raw'): string {
  const p = tmpFile(name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** Asserts fn throws a SafetensorsError whose message contains every fragment. */
function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SafetensorsError, `expected SafetensorsError, got ${String(err)}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

/** Open a raw file from disk and read every tensor (the error, if any, propagates). */
function openAndReadAll(p: string): void {
  const r = openSafetensors(p);
  try {
    for (const n of r.names()) r.read(n);
  } finally {
    r.close();
  }
}

// ---------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------

const DTYPES: StDtype[] = ['F32', 'F16', 'BF16', 'I32', 'I64', 'U8', 'F64'];

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 });

function dataArb(dtype: StDtype, n: number): fc.Arbitrary<WritableTensor['data']> {
  switch (dtype) {
    case 'F32': return fc.array(fc.float(), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));
    case 'F64': return fc.array(fc.double(), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));
    case 'I32': return fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n }).map((a) => Int32Array.from(a));
    case 'U8': return fc.uint8Array({ minLength: n, maxLength: n });
    case 'I64': return fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: n, maxLength: n }).map((a) => BigInt64Array.from(a));
    case 'F16':
    case 'BF16': return fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: n, maxLength: n }).map((a) => Uint16Array.from(a));
  }
}

const tensorArb: fc.Arbitrary<Required<WritableTensor>> = fc
  .tuple(fc.constantFrom(...DTYPES), shapeArb)
  .chain(([dtype, shape]) =>
    dataArb(dtype, shape.reduce((a, b) => a * b, 1)).map((data) => ({ dtype, shape, data })),
  );

// Unicode names incl. lone surrogates; "__metadata__" is reserved.
const nameArb = fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => s !== '__metadata__');

const tensorsArb = fc
  .uniqueArray(fc.tuple(nameArb, tensorArb), { selector: ([n]) => n, maxLength: 6 })
  .map((entries) => Object.fromEntries(entries) as Record<string, Required<WritableTensor>>);

const metadataArb = fc
  .uniqueArray(fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 20 })), {
    selector: ([k]) => k,
    maxLength: 4,
  })
  .map((e) => Object.fromEntries(e) as Record<string, string>);

/** Checks a reader returns exactly what was written. */
function checkRoundTrip(r: SafetensorsReader, tensors: Record<string, Required<WritableTensor>>, metadata: Record<string, string>) {
  assert.deepEqual(r.metadata, metadata);
  assert.deepEqual(r.names(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const info = r.info(name);
    assert.equal(info.dtype, t.dtype);
    assert.deepEqual(info.shape, t.shape);
    // Raw bytes are preserved bit-for-bit (NaN payloads included).
    assert.ok(bytesOf(r.readBytes(name)).equals(bytesOf(t.data)), `raw bytes of ${name}`);
    const got = r.read(name);
    assert.equal(got.dtype, t.dtype);
    assert.deepEqual(got.shape, t.shape);
    if (t.dtype === 'BF16' || t.dtype === 'F16') {
      assert.ok(got.data instanceof Float32Array);
      const bits = t.data as Uint16Array;
      // Compare f32 bits in place: reading a NaN into a JS number may canonicalize its payload.
      const outBits = new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length);
      for (let i = 0; i < bits.length; i++) {
        const v: number = (got.data as Float32Array)[i];
        if (t.dtype === 'BF16') {
          assert.equal(outBits[i] >>> 16, bits[i]);
        } else if ((bits[i] & 0x7c00) === 0x7c00 && (bits[i] & 0x3ff) !== 0) {
          assert.ok(Number.isNaN(v));
        } else {
          assert.equal(f32ToF16Bits(v), bits[i]);
        }
      }
    } else {
      assert.equal(got.data.constructor, t.data.constructor);
      assert.ok(bytesOf(got.data).equals(bytesOf(t.data)));
    }
  }
}

// ---------------------------------------------------------------------------
// round trips
// ---------------------------------------------------------------------------

describe('round trip', () => {
  test('random tensors and metadata via memory', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        checkRoundTrip(parseSafetensors(serializeSafetensors(tensors, metadata)), tensors, metadata);
      }),
      { numRuns: 200 },
    );
  });

  test('random tensors and metadata via file', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const p = tmpFile('rt');
        writeSafetensors(p, tensors, metadata);
        const r = openSafetensors(p);
        try {
          checkRoundTrip(r, tensors, metadata);
        } finally {
          r.close();
        }
        assert.deepEqual(Object.keys(readSafetensors(p)), Object.keys(tensors).sort());
        fs.unlinkSync(p);
      }),
      { numRuns: 100 },
    );
  });

  test('layout: u64 length, padded header, sorted contiguous offsets, absolute byteRange', () => {
    const bytes = serializeSafetensors(
      { b: { shape: [3], data: new Int32Array([1, 2, 3]) }, a: { shape: [], data: new Float64Array([7]) }, c: { shape: [0, 2], data: new Uint8Array(0) } },
      { format: 'pt' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.match(text, / *$/);
    const header = JSON.parse(text);
    assert.deepEqual(Object.keys(header), ['__metadata__', 'a', 'b', 'c']);
    assert.deepEqual(header.__metadata__, { format: 'pt' });
    assert.deepEqual(header.a, { dtype: 'F64', shape: [], data_offsets: [0, 8] });
    assert.deepEqual(header.b, { dtype: 'I32', shape: [3], data_offsets: [8, 20] });
    assert.deepEqual(header.c, { dtype: 'U8', shape: [0, 2], data_offsets: [20, 20] });
    assert.equal(bytes.length, 8 + n + 20);
    const r = parseSafetensors(bytes);
    assert.deepEqual(r.info('b').byteRange, [8 + n + 8, 8 + n + 20]);
    assert.deepEqual([...(r.read('a').data as Float64Array)], [7]);
  });

  test('unaligned tensors (odd offsets after U8) decode correctly', () => {
    const bytes = serializeSafetensors({
      a: { shape: [3], data: new Uint8Array([1, 2, 3]) },
      b: { shape: [2], data: new Float64Array([1.5, -2]) },
      c: { shape: [1], data: new BigInt64Array([-5n]) },
    });
    // Also parse from a Uint8Array that itself starts at an odd offset.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    for (const buf of [bytes, shifted.subarray(1)]) {
      const r = parseSafetensors(buf);
      assert.deepEqual([...(r.read('b').data as Float64Array)], [1.5, -2]);
      assert.deepEqual([...(r.read('c').data as BigInt64Array)], [-5n]);
    }
    const p = tmpFile('unaligned');
    fs.writeFileSync(p, bytes);
    assert.deepEqual([...(readSafetensors(p).b.data as Float64Array)], [1.5, -2]);
  });

  test('read options: as f32 / as i32 with range check', () => {
    const p = tmpFile('conv');
    writeSafetensors(p, {
      ids: { shape: [3], data: new BigInt64Array([1n, -2n, 2147483647n]) },
      big: { shape: [1], data: new BigInt64Array([2147483648n]) },
      u: { shape: [2], data: new Uint8Array([0, 255]) },
      d: { shape: [1], data: new Float64Array([0.1]) },
    });
    const r = openSafetensors(p);
    try {
      const ids = r.read('ids', { as: 'i32' });
      assert.ok(ids.data instanceof Int32Array);
      assert.deepEqual([...ids.data], [1, -2, 2147483647]);
      assert.deepEqual([...(r.read('u', { as: 'i32' }).data as Int32Array)], [0, 255]);
      throwsWith(() => r.read('big', { as: 'i32' }), p, '"big"', '2147483648', 'bytes [');
      throwsWith(() => r.read('d', { as: 'i32' }), p, '"d"');
      const f = r.read('d', { as: 'f32' }).data;
      assert.ok(f instanceof Float32Array);
      assert.equal(f[0], Math.fround(0.1));
      assert.deepEqual([...(r.read('ids', { as: 'f32' }).data as Float32Array)], [1, -2, 2147483648]);
    } finally {
      r.close();
    }
    throwsWith(() => r.read('ids'), p, 'closed');
  });
});

// ---------------------------------------------------------------------------
// half precision
// ---------------------------------------------------------------------------

describe('half precision', () => {
  const F16: [number, number][] = [
    [0x3c00, 1], [0xc100, -2.5], [0x7bff, 65504], [0xfbff, -65504], [0x0000, 0],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)], [0x0400, 2 ** -14],
    [0x3555, 0.333251953125], [0x7c00, Infinity], [0xfc00, -Infinity],
  ];
  const BF16: [number, number][] = [
    [0x3f80, 1], [0xc020, -2.5], [0x477f, 65280], [0x7f7f, 3.3895313892515355e38], [0x0000, 0],
    [0x0001, 2 ** -133], [0x0080, 2 ** -126], [0x7f80, Infinity], [0xff80, -Infinity], [0x3eab, 0.333984375],
  ];

  test('f16/bf16 decode of hand-computed values, through a file', () => {
    const p = tmpFile('half');
    writeSafetensors(p, {
      h: { dtype: 'F16', shape: [F16.length + 3], data: Uint16Array.from([...F16.map(([b]) => b), 0x7e00, 0x7c01, 0x8000]) },
      b: { dtype: 'BF16', shape: [BF16.length + 2], data: Uint16Array.from([...BF16.map(([b]) => b), 0x7fc0, 0x8000]) },
    });
    const all = readSafetensors(p);
    const h = all.h.data as Float32Array;
    const b = all.b.data as Float32Array;
    assert.ok(h instanceof Float32Array && b instanceof Float32Array);
    F16.forEach(([, v], i) => assert.equal(h[i], v, `f16 index ${i}`));
    BF16.forEach(([, v], i) => assert.equal(b[i], v, `bf16 index ${i}`));
    assert.ok(Number.isNaN(h[F16.length]) && Number.isNaN(h[F16.length + 1]));
    assert.ok(Object.is(h[F16.length + 2], -0));
    assert.ok(Number.isNaN(b[BF16.length]));
    assert.ok(Object.is(b[BF16.length + 1], -0));
  });

  test('f16 decode/encode is the identity on every non-NaN bit pattern', () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) {
        assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0);
        assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(v))));
      } else {
        assert.equal(f32ToF16Bits(v), h);
      }
      const bv = bf16BitsToF32(h);
      if (!Number.isNaN(bv)) assert.equal(f32ToBf16Bits(bv), h);
    }
  });

  test('bf16 encode rounds to nearest even', () => {
    assert.equal(f32ToBf16Bits(1), 0x3f80);
    assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie → even (down)
    assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie → even (up)
    assert.equal(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81); // above tie → up
    assert.equal(f32ToBf16Bits(-2.5), 0xc020);
    assert.equal(f32ToBf16Bits(-0), 0x8000);
    assert.equal(f32ToBf16Bits(3.4028234663852886e38), 0x7f80); // f32 max rounds up to inf
    assert.equal(f32ToBf16Bits(Infinity), 0x7f80);
    assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
    // Against a reference: nearest of the two bf16 neighbours, ties to even.
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const u = new Uint32Array(Float32Array.of(x).buffer)[0];
        const lo = u >>> 16; // truncation toward zero
        const hi = lo + 1; // next bf16 away from zero
        // Past bf16 max the next value is inf, which IEEE rounding treats as ±2^128.
        const hiVal = (hi & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : bf16BitsToF32(hi);
        const dLo = Math.abs(x - bf16BitsToF32(lo));
        const dHi = Math.abs(hiVal - x);
        const want = dLo < dHi || (dLo === dHi && (lo & 1) === 0) ? lo : hi;
        assert.equal(f32ToBf16Bits(x), want);
      }),
      { numRuns: 2000 },
    );
  });

  test('f16 encode rounds to nearest even, incl. subnormals and overflow', () => {
    assert.equal(f32ToF16Bits(65504), 0x7bff);
    assert.equal(f32ToF16Bits(65519), 0x7bff);
    assert.equal(f32ToF16Bits(65520), 0x7c00); // tie between max and 2^16 → inf
    assert.equal(f32ToF16Bits(1e10), 0x7c00);
    assert.equal(f32ToF16Bits(-1e10), 0xfc00);
    assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie → even
    assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(f32ToF16Bits(2 ** -25), 0x0000); // tie between 0 and smallest subnormal → 0
    assert.equal(f32ToF16Bits(2 ** -25 * 1.0001), 0x0001);
    assert.equal(f32ToF16Bits(3 * 2 ** -25), 0x0002); // tie between 1 and 2 ulps → 2
    assert.equal(f32ToF16Bits(2 ** -14 - 2 ** -25), 0x0400); // rounds up into the smallest normal
    assert.equal(f32ToF16Bits(-(2 ** -30)), 0x8000);
    assert.equal(f32ToF16Bits(-2.5), 0xc100);
    assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))));
  });

  test('writer encodes Float32Array to BF16/F16', () => {
    const x = Float32Array.from([1, 1 + 2 ** -8, -2.5, 65520, 2 ** -25 * 1.5, NaN]);
    const r = parseSafetensors(
      serializeSafetensors({ b: { dtype: 'BF16', shape: [6], data: x }, h: { dtype: 'F16', shape: [2, 3], data: x } }),
    );
    assert.equal(r.info('b').byteRange[1] - r.info('b').byteRange[0], 12);
    const b = r.read('b').data as Float32Array;
    const h = r.read('h').data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) {
        assert.ok(Number.isNaN(b[i]) && Number.isNaN(h[i]));
        continue;
      }
      assert.equal(b[i], bf16BitsToF32(f32ToBf16Bits(x[i])));
      assert.equal(h[i], f16BitsToF32(f32ToF16Bits(x[i])));
    }
    assert.deepEqual([...b.slice(0, 3)], [1, 1, -2.5]); // bf16: 1 + 2^-8 is a tie → even
    assert.deepEqual([...h.slice(0, 5)], [1, 1 + 2 ** -8, -2.5, Infinity, 2 ** -24]); // f16 holds 1 + 2^-8 exactly
  });
});

// ---------------------------------------------------------------------------
// laziness and atomic writes
// ---------------------------------------------------------------------------

describe('lazy reading', () => {
  test('reading a tiny tensor from a 50 MB file reads only its bytes', () => {
    const p = tmpFile('big');
    const big = new Float32Array(12_500_000);
    big[12_499_999] = 42;
    writeSafetensors(p, { big: { shape: [12_500_000], data: big }, tiny: { shape: [3], data: new Int32Array([7, 8, 9]) } });
    assert.ok(fs.statSync(p).size > 50_000_000);

    let bytesRead = 0;
    let calls = 0;
    const original = fs.readSync as (...a: unknown[]) => number;
    const spy = mock.method(fs, 'readSync', function (this: unknown, ...args: unknown[]) {
      const n = original.apply(this, args);
      bytesRead += n;
      calls++;
      return n;
    });
    try {
      const t0 = performance.now();
      const r = openSafetensors(p);
      const tiny = r.read('tiny');
      const ms = performance.now() - t0;
      const headerBytes = r.info('big').byteRange[0];
      r.close();
      assert.deepEqual([...(tiny.data as Int32Array)], [7, 8, 9]);
      assert.ok(bytesRead <= headerBytes + 12, `read ${bytesRead} bytes in ${calls} calls`);
      assert.ok(ms < 200, `took ${ms} ms`);
    } finally {
      spy.mock.restore();
    }
    const r = openSafetensors(p);
    const b = r.read('big').data as Float32Array;
    r.close();
    assert.equal(b.length, 12_500_000);
    assert.equal(b[12_499_999], 42);
    fs.unlinkSync(p);
  });
});

describe('atomic writes', () => {
  const tmpLeftovers = () => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

  test('replaces the target and leaves no temp files', () => {
    const p = tmpFile('atomic');
    writeSafetensors(p, { a: { shape: [1], data: new Float32Array([1]) } });
    writeSafetensors(p, { a: { shape: [1], data: new Float32Array([2]) } });
    assert.deepEqual([...(readSafetensors(p).a.data as Float32Array)], [2]);
    assert.deepEqual(tmpLeftovers(), []);
  });

  test('a failure mid-write keeps the old file and removes the temp file', () => {
    const p = tmpFile('atomic');
    writeSafetensors(p, { a: { shape: [1], data: new Float32Array([1]) } });
    const before = fs.readFileSync(p);
    let n = 0;
    const original = fs.writeSync as (...a: unknown[]) => number;
    const spy = mock.method(fs, 'writeSync', function (this: unknown, ...args: unknown[]) {
      if (++n === 2) throw new Error('disk full');
      return original.apply(this, args);
    });
    try {
      assert.throws(() => writeSafetensors(p, { a: { shape: [1], data: new Float32Array([5]) } }), /disk full/);
    } finally {
      spy.mock.restore();
    }
    assert.ok(fs.readFileSync(p).equals(before));
    assert.deepEqual(tmpLeftovers(), []);
  });

  test('writer argument errors', () => {
    const p = tmpFile('werr');
    throwsWith(() => writeSafetensors(p, { w: { shape: [2, 2], data: new Float32Array(3) } }), p, '"w"', '4 elements');
    throwsWith(() => writeSafetensors(p, { w: { shape: [2], data: new Uint16Array(2) } }), p, '"w"', 'F16 or BF16');
    throwsWith(() => writeSafetensors(p, { w: { shape: [1], data: new Int32Array(1), dtype: 'F32' } }), p, '"w"');
    throwsWith(() => writeSafetensors(p, { w: { shape: [-1], data: new Float32Array(1) } }), p, '"w"', 'shape');
    throwsWith(() => writeSafetensors(p, { __metadata__: { shape: [1], data: new Float32Array(1) } }), '__metadata__');
    throwsWith(() => writeSafetensors(p, {}, { k: 3 as unknown as string }), p, '"k"');
    assert.ok(!fs.existsSync(p));
    assert.deepEqual(tmpLeftovers(), []);
  });
});

// ---------------------------------------------------------------------------
// sharded checkpoints
// ---------------------------------------------------------------------------

describe('sharded checkpoints', () => {
  function makeSharded(): string {
    const d = fs.mkdtempSync(path.join(dir, 'ckpt-'));
    writeSafetensors(path.join(d, 'model-00001-of-00002.safetensors'), {
      'embed.weight': { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      'layers.0.w': { shape: [2], data: new Float32Array([5, 6]), dtype: 'BF16' },
    });
    writeSafetensors(path.join(d, 'model-00002-of-00002.safetensors'), {
      'lm_head.weight': { shape: [3], data: new Int32Array([7, 8, 9]) },
    });
    fs.writeFileSync(
      path.join(d, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 32, format: 'pt' },
        weight_map: {
          'lm_head.weight': 'model-00002-of-00002.safetensors',
          'embed.weight': 'model-00001-of-00002.safetensors',
          'layers.0.w': 'model-00001-of-00002.safetensors',
        },
      }),
    );
    return d;
  }

  test('reads across two shards through the index', () => {
    const d = makeSharded();
    for (const r of [openSafetensorsIndex(d), openSafetensorsIndex(path.join(d, 'model.safetensors.index.json')), openCheckpoint(d)]) {
      try {
        assert.deepEqual(r.names(), ['embed.weight', 'layers.0.w', 'lm_head.weight']);
        assert.deepEqual(r.metadata, { total_size: '32', format: 'pt' });
        assert.ok(r.has('embed.weight') && !r.has('nope'));
        const info = r.info('lm_head.weight');
        assert.equal(info.file, path.join(d, 'model-00002-of-00002.safetensors'));
        assert.equal(info.dtype, 'I32');
        assert.equal(info.byteRange[1] - info.byteRange[0], 12);
        assert.deepEqual([...(r.read('embed.weight').data as Float32Array)], [1, 2, 3, 4]);
        assert.deepEqual([...(r.read('layers.0.w').data as Float32Array)], [5, 6]);
        assert.deepEqual([...(r.read('lm_head.weight').data as Int32Array)], [7, 8, 9]);
        assert.deepEqual(Object.keys(r.readAll()), r.names());
        throwsWith(() => r.read('nope'), 'model.safetensors.index.json', '"nope"');
      } finally {
        r.close();
      }
    }
    assert.deepEqual(Object.keys(readSafetensors(d, ['lm_head.weight'])), ['lm_head.weight']);
  });

  test('openCheckpoint prefers model.safetensors', () => {
    const d = makeSharded();
    writeSafetensors(path.join(d, 'model.safetensors'), { only: { shape: [], data: new Float32Array([3]) } });
    const r = openCheckpoint(d);
    assert.deepEqual(r.names(), ['only']);
    r.close();
    throwsWith(() => openCheckpoint(path.join(d, 'missing-dir')), 'missing-dir');
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    throwsWith(() => openCheckpoint(empty), empty, 'model.safetensors');
  });

  test('missing shards, bad maps and shards lacking a listed tensor', () => {
    const d = makeSharded();
    const idx = path.join(d, 'model.safetensors.index.json');
    fs.unlinkSync(path.join(d, 'model-00002-of-00002.safetensors'));
    throwsWith(() => openSafetensorsIndex(d), idx, 'model-00002-of-00002.safetensors', 'missing');

    const d2 = makeSharded();
    const idx2 = path.join(d2, 'model.safetensors.index.json');
    const j = JSON.parse(fs.readFileSync(idx2, 'utf8'));
    j.weight_map['ghost'] = 'model-00002-of-00002.safetensors';
    fs.writeFileSync(idx2, JSON.stringify(j));
    const r = openSafetensorsIndex(d2);
    throwsWith(() => r.read('ghost'), 'model-00002-of-00002.safetensors', '"ghost"', 'not present');
    r.close();

    for (const bad of ['../x.safetensors', '/abs.safetensors', 3]) {
      fs.writeFileSync(idx2, JSON.stringify({ weight_map: { w: bad } }));
      throwsWith(() => openSafetensorsIndex(d2), idx2, '"w"');
    }
    fs.writeFileSync(idx2, '{"weight_map": [');
    throwsWith(() => openSafetensorsIndex(d2), idx2, 'JSON');
    fs.writeFileSync(idx2, '{"metadata": {}}');
    throwsWith(() => openSafetensorsIndex(d2), idx2, 'weight_map');
    throwsWith(() => openSafetensorsIndex(path.join(d2, 'none.json')), 'none.json');
  });
});

// ---------------------------------------------------------------------------
// malformed files
// ---------------------------------------------------------------------------

describe('malformed files', () => {
  const f32 = (name: string, shape: number[], offs: unknown, extra: object = {}) => ({
    [name]: { dtype: 'F32', shape, data_offsets: offs, ...extra },
  });

  // [label, file bytes, fragments the message must contain besides the path]
  const cases: [string, Uint8Array, string[]][] = [
    ['empty file', new Uint8Array(0), ['8-byte']],
    ['5-byte file', new Uint8Array(5), ['8-byte']],
    ['header longer than file', rawFile({}, 0, 1000n), ['1000', 'past the end']],
    ['header over 100 MB', rawFile({}, 0, BigInt(MAX_HEADER_BYTES + 1)), ['limit']],
    ['header length 2^64-1', rawFile({}, 0, 2n ** 64n - 1n), ['18446744073709551615', 'limit']],
    ['invalid JSON', rawFile('{"a": '), ['JSON']],
    ['invalid UTF-8', (() => { const b = rawFile('{"__metadata__":{"k":"xy"}}'); b[b.length - 4] = 0xff; return b; })(), ['UTF-8']],
    ['header is an array', rawFile([1, 2]), ['object']],
    ['header is null', rawFile('null'), ['object']],
    ['entry not an object', rawFile({ w: 3 }), ['"w"', 'object']],
    ['unknown dtype', rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, 4), ['"w"', 'Q4']],
    ['shape not an array', rawFile(f32('w', '4' as unknown as number[], [0, 4]), 4), ['"w"', 'shape']],
    ['negative dim', rawFile(f32('w', [-1], [0, 4]), 4), ['"w"', 'shape']],
    ['fractional dim', rawFile(f32('w', [1.5], [0, 4]), 4), ['"w"', 'shape']],
    ['string dim', rawFile(f32('w', ['1' as unknown as number], [0, 4]), 4), ['"w"', 'shape']],
    ['offsets missing', rawFile(f32('w', [1], undefined), 4), ['"w"', 'data_offsets']],
    ['one offset', rawFile(f32('w', [1], [4]), 4), ['"w"', 'data_offsets']],
    ['three offsets', rawFile(f32('w', [1], [0, 4, 8]), 4), ['"w"', 'data_offsets']],
    ['fractional offset', rawFile(f32('w', [1], [0, 4.5]), 4), ['"w"', 'data_offsets']],
    ['negative offset', rawFile(f32('w', [1], [-4, 0]), 4), ['"w"', 'data_offsets']],
    ['huge offset', rawFile(f32('w', [1], [0, 1e300]), 4), ['"w"', 'data_offsets']],
    ['offsets past data', rawFile(f32('w', [2], [0, 8]), 4), ['"w"', 'past', 'bytes [']],
    ['misordered offsets', rawFile(f32('w', [1], [4, 0]), 4), ['"w"', 'misordered', 'bytes [']],
    ['size mismatch', rawFile(f32('w', [3], [0, 8]), 8), ['"w"', '12 bytes', 'bytes [']],
    ['huge shape', rawFile(f32('w', [2 ** 40, 2 ** 40, 2 ** 40], [0, 8]), 8), ['"w"', 'bytes [']],
    [
      'overlap',
      rawFile({ ...f32('a', [2], [0, 8]), ...f32('b', [2], [4, 12]) }, 12),
      ['"b"', 'overlap', '"a"', 'bytes ['],
    ],
    ['gap', rawFile({ ...f32('a', [1], [0, 4]), ...f32('b', [1], [8, 12]) }, 12), ['"b"', 'gap', 'bytes [']],
    ['gap at start', rawFile(f32('a', [1], [4, 8]), 8), ['"a"', 'gap']],
    ['trailing bytes', rawFile(f32('a', [1], [0, 4]), 8), ['cover 4', 'bytes [']],
    ['data without tensors', rawFile({}, 4), ['cover 0']],
    ['metadata not an object', rawFile({ __metadata__: ['x'] }), ['__metadata__']],
    ['metadata value not a string', rawFile({ __metadata__: { epoch: 3 } }), ['__metadata__', '"epoch"']],
  ];

  for (const [label, bytes, fragments] of cases) {
    test(label, () => {
      const p = writeRaw(bytes, label.replace(/\W+/g, '_'));
      throwsWith(() => openAndReadAll(p), p, ...fragments);
      throwsWith(() => parseSafetensors(bytes, 'mem.safetensors'), 'mem.safetensors', ...fragments);
    });
  }

  test('unknown tensor name and missing file', () => {
    const p = tmpFile('names');
    writeSafetensors(p, { a: { shape: [1], data: new Float32Array(1) } });
    const r = openSafetensors(p);
    throwsWith(() => r.read('zzz'), p, '"zzz"');
    throwsWith(() => r.info('zzz'), p, '"zzz"');
    r.close();
    throwsWith(() => openSafetensors(path.join(dir, 'does-not-exist.safetensors')), 'does-not-exist.safetensors');
    throwsWith(() => openSafetensors(dir), dir, 'regular file');
  });

  test('valid edge cases are accepted', () => {
    // Zero-size tensors anywhere on the tiling, no metadata key, extra entry keys.
    const bytes = rawFile({ z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, ...f32('a', [1], [0, 4], { extra: 1 }), e: { dtype: 'I64', shape: [0, 3], data_offsets: [0, 0] } }, 4);
    const r = parseSafetensors(bytes);
    assert.deepEqual(r.names(), ['a', 'e', 'z']);
    assert.deepEqual(r.metadata, {});
    assert.equal(r.read('z').data.length, 0);
    // A tensor called __proto__ is an ordinary name.
    const r2 = parseSafetensors(serializeSafetensors({ ['__proto__']: { shape: [1], data: new Uint8Array([9]) } } as Record<string, WritableTensor>));
    const all = r2.readAll();
    assert.equal(Object.getPrototypeOf(all), Object.prototype);
    assert.deepEqual(Object.keys(all), ['__proto__']);
  });
});

// ---------------------------------------------------------------------------
// fuzzing
// ---------------------------------------------------------------------------

describe('fuzz', () => {
  type Mutation =
    | { kind: 'none' }
    | { kind: 'flip'; edits: [number, number][] }
    | { kind: 'flipData'; edits: [number, number][] }
    | { kind: 'truncate'; at: number }
    | { kind: 'headerLen'; len: bigint }
    | { kind: 'headerLenNear'; delta: number }
    | { kind: 'headerChar'; pos: number; ch: number };

  const editsArb = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constant('flip' as const), edits: editsArb }),
    // Data-section edits keep the file valid: exercises decoding of arbitrary bit patterns.
    fc.record({ kind: fc.constant('flipData' as const), edits: editsArb }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('headerLen' as const), len: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
    fc.record({ kind: fc.constant('headerLenNear' as const), delta: fc.integer({ min: -40, max: 40 }) }),
    // JSON-significant characters dropped into the header text.
    fc.record({ kind: fc.constant('headerChar' as const), pos: fc.nat(), ch: fc.constantFrom(...'{}[]",:0123456789-e .'.split('').map((c) => c.charCodeAt(0))) }),
  );

  function mutate(orig: Uint8Array, m: Mutation): Uint8Array {
    const b = orig.slice();
    const dv = new DataView(b.buffer);
    const headerLen = Number(dv.getBigUint64(0, true));
    const dataStart = 8 + headerLen;
    switch (m.kind) {
      case 'none':
        return b;
      case 'flipData':
        if (b.length > dataStart) for (const [pos, v] of m.edits) b[dataStart + (pos % (b.length - dataStart))] = v;
        return b;
      case 'flip':
        for (const [pos, v] of m.edits) b[pos % b.length] = v;
        return b;
      case 'truncate':
        return b.slice(0, m.at % (b.length + 1));
      case 'headerLen':
        dv.setBigUint64(0, m.len, true);
        return b;
      case 'headerLenNear':
        dv.setBigUint64(0, BigInt(Math.max(0, headerLen + m.delta)), true);
        return b;
      case 'headerChar':
        b[8 + (m.pos % Math.max(1, headerLen))] = m.ch;
        return b;
    }
  }

  /** Either succeeds or throws a SafetensorsError; anything else (RangeError, TypeError, non-Error) fails. */
  function readEverything(open: () => SafetensorsReader): 'ok' | 'error' {
    try {
      const r = open();
      try {
        for (const n of r.names()) {
          r.info(n);
          r.read(n);
          r.read(n, { as: 'f32' });
        }
      } finally {
        r.close();
      }
      return 'ok';
    } catch (err) {
      if (!(err instanceof SafetensorsError)) throw new Error(`unexpected throw: ${String(err)}`, { cause: err });
      return 'error';
    }
  }

  test('mutated valid files either parse or throw SafetensorsError, quickly', () => {
    const outcomes = { ok: 0, error: 0 };
    const p = tmpFile('fuzz');
    fc.assert(
      fc.property(tensorsArb, metadataArb, mutationArb, (tensors, metadata, m) => {
        const bytes = mutate(serializeSafetensors(tensors, metadata), m);
        const t0 = performance.now();
        const mem = readEverything(() => parseSafetensors(bytes));
        fs.writeFileSync(p, bytes);
        const file = readEverything(() => openSafetensors(p));
        const ms = performance.now() - t0;
        assert.equal(mem, file, 'memory and file readers agree');
        assert.ok(ms < 1000, `run took ${ms} ms`);
        outcomes[mem]++;
      }),
      { numRuns: 400 },
    );
    // Both branches must actually be exercised for the fuzz to mean anything.
    assert.ok(outcomes.ok > 20 && outcomes.error > 20, JSON.stringify(outcomes));
  });
});
