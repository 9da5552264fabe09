// Tests for the CPU matmul kernel (packages/tensor/src/cpu/matmul.ts).
//
// Every case is checked against a naive triple loop in float64 that reads the same strided
// storage. Tolerance per output element (i, j):
//   |C[i,j] - ref[i,j]| <= tol * ||A[i,:]||_2 * ||B[:,j]||_2 + 1e-300
// with tol = 1e-12 for Float64Array operands and output, 1e-5 for Float32Array output
// (f32 storage of the result plus rounding of partial sums across 256-deep K slices).
// Inputs are uniform in [-1, 1) with exact zeros replaced, so no case is all-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matmulStrided, matmulStridedBatched, type FloatArray } from '../../packages/tensor/src/cpu/matmul.ts';

type DType = 'f32' | 'f64';
type Layout = 'row' | 'col' | 'rowFlip';

interface Operand {
  data: FloatArray;
  off: number;
  rs: number; // row stride
  cs: number; // column stride
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function alloc(dtype: DType, n: number): FloatArray {
  return dtype === 'f32' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * Builds an R×C matrix stored with the given layout inside a larger buffer:
 *   row:     element (r, c) at off + r*rs + c*cs with cs = step (a sliced view when step > 1)
 *   col:     a transposed view: (r, c) at off + c*(R*step + pad) + r*step
 *   rowFlip: rows in reverse order (negative row stride)
 * The whole buffer (including gaps) is filled with random nonzero values.
 */
function makeOperand(R: number, C: number, dtype: DType, layout: Layout, step: number, pad: number, off: number, rnd: () => number): Operand {
  let rs: number, cs: number, o = off, size: number;
  if (layout === 'col') {
    rs = step;
    cs = R * step + pad;
    size = off + (C - 1) * cs + (R - 1) * rs + 1;
  } else {
    cs = step;
    rs = C * step + pad;
    size = off + (R - 1) * rs + (C - 1) * cs + 1;
    if (layout === 'rowFlip') {
      o = off + (R - 1) * rs;
      rs = -rs;
    }
  }
  const data = alloc(dtype, size + 3);
  for (let i = 0; i < data.length; i++) {
    const v = rnd() * 2 - 1;
    data[i] = v === 0 ? 0.5 : v;
  }
  return { data, off: o, rs, cs };
}

const at = (x: Operand, r: number, c: number): number => x.data[x.off + r * x.rs + c * x.cs];

/** C is written with row stride ldc (N + cPad): the cPad elements after each row must be left alone. */
function check(M: number, N: number, K: number, A: Operand, B: Operand, cType: DType, cOff: number, label: string, cPad = 0): void {
  const ldc = N + cPad;
  const c = alloc(cType, cOff + (M - 1) * ldc + N + 5);
  const SENTINEL = 12345.5;
  c.fill(SENTINEL);
  matmulStrided(A.data, A.off, A.rs, A.cs, B.data, B.off, B.rs, B.cs, c, cOff, M, N, K, ldc);
  // Accumulation is always in double, so the output dtype alone decides the precision.
  const tol = cType === 'f64' ? 1e-12 : 1e-5;
  const aNorm = new Float64Array(M);
  const bNorm = new Float64Array(N);
  for (let i = 0; i < M; i++) { let s = 0; for (let k = 0; k < K; k++) s += at(A, i, k) ** 2; aNorm[i] = Math.sqrt(s); }
  for (let j = 0; j < N; j++) { let s = 0; for (let k = 0; k < K; k++) s += at(B, k, j) ** 2; bNorm[j] = Math.sqrt(s); }
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let ref = 0;
      for (let k = 0; k < K; k++) ref += at(A, i, k) * at(B, k, j);
      const got = c[cOff + i * ldc + j];
      const err = Math.abs(got - ref);
      const bound = tol * aNorm[i] * bNorm[j] + 1e-300;
      if (!(err <= bound)) {
        assert.fail(`${label}: C[${i},${j}] = ${got}, expected ${ref} (err ${err.toExponential(3)} > ${bound.toExponential(3)})`);
      }
    }
  }
  for (let i = 0; i < cOff; i++) assert.equal(c[i], SENTINEL, `${label}: wrote before cOff`);
  for (let i = cOff + (M - 1) * ldc + N; i < c.length; i++) assert.equal(c[i], SENTINEL, `${label}: wrote past the end`);
  for (let i = 0; i + 1 < M; i++) {
    for (let j = N; j < ldc; j++) assert.equal(c[cOff + i * ldc + j], SENTINEL, `${label}: wrote between rows ${i} and ${i + 1}`);
  }
}

interface Case {
  M: number; N: number; K: number;
  aType: DType; bType: DType; cType: DType;
  aLayout: Layout; bLayout: Layout;
  aStep: number; bStep: number; aPad: number; bPad: number;
  aOff: number; bOff: number; cOff: number;
  /** C's row stride is N + cPad (a column window of a wider output, as a threaded column split writes). */
  cPad: number;
  seed: number;
}

function runCase(x: Case): void {
  const rnd = mulberry32(x.seed);
  const A = makeOperand(x.M, x.K, x.aType, x.aLayout, x.aStep, x.aPad, x.aOff, rnd);
  const B = makeOperand(x.K, x.N, x.bType, x.bLayout, x.bStep, x.bPad, x.bOff, rnd);
  check(x.M, x.N, x.K, A, B, x.cType, x.cOff, JSON.stringify(x), x.cPad);
}

const PRIMES_AND_EDGES = [1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 17, 31, 32, 33, 37, 63, 64, 65, 67, 70];
const dim = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(...PRIMES_AND_EDGES));
const dtype = fc.constantFrom<DType>('f32', 'f64');
const layout = fc.constantFrom<Layout>('row', 'col', 'rowFlip');

const caseArb = (d: fc.Arbitrary<number>): fc.Arbitrary<Case> => fc.record({
  M: d, N: d, K: d,
  aType: dtype, bType: dtype, cType: dtype,
  aLayout: layout, bLayout: layout,
  aStep: fc.integer({ min: 1, max: 3 }), bStep: fc.integer({ min: 1, max: 3 }),
  aPad: fc.integer({ min: 0, max: 5 }), bPad: fc.integer({ min: 0, max: 5 }),
  aOff: fc.integer({ min: 0, max: 9 }), bOff: fc.integer({ min: 0, max: 9 }), cOff: fc.integer({ min: 0, max: 9 }),
  cPad: fc.constantFrom(0, 0, 1, 5),
  seed: fc.integer(),
});

test('matmulStrided matches naive f64 loop: random shapes 1..70, strides, transposes, offsets, f32/f64', () => {
  fc.assert(fc.property(caseArb(dim), (x) => { runCase(x); }), { numRuns: 400, seed: 0x5eed });
});

test('matmulStrided: all-f64 operands agree to 1e-12', () => {
  fc.assert(fc.property(caseArb(dim), (x) => {
    runCase({ ...x, aType: 'f64', bType: 'f64', cType: 'f64' });
  }), { numRuns: 150, seed: 42 });
});

test('matmulStrided: larger shapes (blocked path, K > 256 slices, M > 64 blocks, N > 4092 blocks)', () => {
  const shapes: [number, number, number][] = [
    [130, 257, 66], [66, 130, 257], [257, 66, 130], [97, 101, 300], [65, 67, 513],
    [129, 5, 260], [5, 4100, 3], [3, 4099, 11], [200, 1, 300], [1, 200, 300], [128, 128, 128],
  ];
  let seed = 1;
  for (const [M, N, K] of shapes) {
    for (const [aLayout, bLayout] of [['row', 'row'], ['col', 'row'], ['row', 'col'], ['col', 'col'], ['rowFlip', 'col']] as [Layout, Layout][]) {
      for (const t of ['f32', 'f64'] as DType[]) {
        runCase({
          M, N, K, aType: t, bType: t, cType: t, aLayout, bLayout,
          aStep: seed % 2 + 1, bStep: (seed >> 1) % 2 + 1, aPad: seed % 3, bPad: 1, aOff: seed % 5, bOff: 3, cOff: seed % 4, cPad: seed % 3,
          seed: seed++,
        });
      }
    }
  }
});

test('matmulStrided: vector shapes (M = 1, N = 1, both) with all layouts', () => {
  fc.assert(fc.property(caseArb(fc.integer({ min: 1, max: 600 })), fc.constantFrom('M', 'N', 'MN'), (x, which) => {
    runCase({ ...x, M: which === 'N' ? x.M : 1, N: which === 'M' ? x.N : 1 });
  }), { numRuns: 150, seed: 7 });
});

test('matmulStrided: K = 0 writes zeros; M = 0 / N = 0 write nothing', () => {
  const c = new Float32Array(8).fill(7);
  matmulStrided(new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 3, 1, c, 1, 2, 3, 0);
  assert.deepEqual(Array.from(c), [7, 0, 0, 0, 0, 0, 0, 7]);
  const d = new Float64Array(4).fill(3);
  matmulStrided(new Float64Array(4), 0, 2, 1, new Float64Array(4), 0, 2, 1, d, 0, 0, 2, 2);
  matmulStrided(new Float64Array(4), 0, 2, 1, new Float64Array(4), 0, 2, 1, d, 0, 2, 0, 2);
  assert.deepEqual(Array.from(d), [3, 3, 3, 3]);
  assert.throws(() => matmulStrided(new Float64Array(4), 0, 2, 1, new Float64Array(4), 0, 2, 1, d, 1, 2, 2, 2), RangeError);  // with a row stride (ldc = 4 > N = 3) only the rows are zeroed, and the last row must fit
  const e = new Float32Array(9).fill(7);
  matmulStrided(new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 3, 1, e, 1, 2, 3, 0, 4);
  assert.deepEqual(Array.from(e), [7, 0, 0, 0, 7, 0, 0, 0, 7]);
  assert.throws(() => matmulStrided(new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 3, 1, e, 3, 2, 3, 0, 4), RangeError);
  assert.throws(() => matmulStrided(new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 3, 1, e, 0, 2, 3, 0, 2), /row stride 2 is below N=3/);
});

test('matmulStrided: integer-valued inputs give exact results (f32 and f64, blocked path)', () => {
  for (const T of [Float32Array, Float64Array]) {
    const M = 37, N = 41, K = 300;
    const a = new T(M * K), b = new T(K * N), c = new T(M * N);
    for (let i = 0; i < a.length; i++) a[i] = ((i * 7) % 11) - 5 || 1;
    for (let i = 0; i < b.length; i++) b[i] = ((i * 5) % 9) - 4 || 2;
    // B given transposed: storage is N×K, viewed as K×N.
    matmulStrided(a, 0, K, 1, b, 0, 1, K, c, 0, M, N, K);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k] * b[j * K + k];
        assert.equal(c[i * N + j], s);
      }
    }
  }
});

test('matmulStridedBatched: per-batch offsets and broadcast (batch stride 0)', () => {
  const batch = 3, M = 9, N = 70, K = 53;
  const rnd = mulberry32(99);
  const a = new Float64Array(batch * M * K).map(() => rnd() - 0.5);
  const b = new Float64Array(K * N).map(() => rnd() - 0.5);
  const c = new Float64Array(batch * M * N);
  matmulStridedBatched(batch, a, 0, M * K, K, 1, b, 0, 0, N, 1, c, 0, M, N, K);
  const one = new Float64Array(M * N);
  for (let t = 0; t < batch; t++) {
    matmulStrided(a, t * M * K, K, 1, b, 0, N, 1, one, 0, M, N, K);
    assert.deepEqual(Array.from(c.subarray(t * M * N, (t + 1) * M * N)), Array.from(one));
  }
});

test('matmulStrided: repeated calls of varying sizes reuse scratch correctly', () => {
  let seed = 500;
  for (const [M, N, K] of [[100, 90, 80], [20, 30, 70], [150, 40, 260], [33, 33, 33], [100, 90, 80]] as [number, number, number][]) {
    runCase({
      M, N, K, aType: 'f64', bType: 'f32', cType: 'f64', aLayout: 'col', bLayout: 'row',
      aStep: 1, bStep: 2, aPad: 0, bPad: 0, aOff: 0, bOff: 1, cOff: 2, cPad: 0, seed: seed++,
    });
  }
});

test('matmulStrided: tiny shapes (direct-loop path) in every layout and dtype', () => {
  let seed = 900;
  const dims = [2, 3, 4, 5, 6];
  for (const M of dims) for (const N of dims) for (const K of dims) {
    for (const [aLayout, bLayout] of [['row', 'row'], ['col', 'col'], ['rowFlip', 'row']] as [Layout, Layout][]) {
      for (const t of ['f32', 'f64'] as DType[]) {
        runCase({
          M, N, K, aType: t, bType: t, cType: t, aLayout, bLayout,
          aStep: seed % 3 + 1, bStep: 1, aPad: 1, bPad: seed % 2, aOff: 2, bOff: seed % 3, cOff: 1, cPad: seed % 2 * 3, seed: seed++,
        });
      }
    }
  }
});

test('matmulStrided: Inf/NaN propagate like the naive loop (0 * Inf = NaN is not skipped)', () => {
  for (const [M, N, K] of [[1, 20, 9], [20, 1, 9], [3, 3, 3], [40, 30, 20]] as [number, number, number][]) {
    const a = new Float64Array(M * K).map((_, i) => (i % 3 === 0 ? 0 : 1 + (i % 5)));
    const b = new Float64Array(K * N).map((_, i) => 0.5 + (i % 7));
    b[0] = Infinity; // B[0, 0]
    b[N + 1 < K * N ? N + 1 : 0] = NaN; // B[1, 1]
    a[a.length - 1] = -Infinity; // A[M-1, K-1]
    const c = new Float64Array(M * N);
    matmulStrided(a, 0, K, 1, b, 0, N, 1, c, 0, M, N, K);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let ref = 0;
        for (let k = 0; k < K; k++) ref += a[i * K + k] * b[k * N + j];
        const got = c[i * N + j];
        if (Number.isFinite(ref)) assert.ok(Math.abs(got - ref) <= 1e-12 * Math.abs(ref) + 1e-12, `${M}x${N}x${K} [${i},${j}]`);
        else assert.ok(Object.is(got, ref) || (Number.isNaN(got) && Number.isNaN(ref)), `${M}x${N}x${K} [${i},${j}]: ${got} vs ${ref}`);
      }
    }
  }
});
