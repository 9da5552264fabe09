/**
 * Every matmul kernel version against a float64 CPU reference: matmul.wgsl and matmul-packed.wgsl
 * (the CPU-renderer versions, through matmul() on the 'llvmpipe' family), matmul-tiled.wgsl (both
 * tile configurations and a short K slab, forced) and matmul-gemv.wgsl (M ≤ 8), on the same cases.
 * f16 B (weights): where the adapter has shader-f16, the GPU versions against the reference
 * computed from the f16-rounded B (same tolerance as f32: accumulation is f32), and against the
 * unrounded f32 B within 2^-11·Σ|a·b| (f16's relative rounding); without the feature, the clear
 * refusal.
 *
 * Inputs are random in ±[0.5, 1.5) (never zero), output buffers are poisoned with NaN before
 * every run so an unwritten element fails, and so are N + 64 elements after C, which must stay NaN. Tolerance per element:
 *   |gpu - ref| ≤ 1e-5 · Σ_k |a_ik|·|b_kj|  (+1e-30)
 * i.e. relative to the sum of absolute products (f32 accumulation error grows ~ K·eps·that sum
 * in the worst case; observed errors are ≪ 1e-6 of it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adapterInfo, destroyDevice, getDevice, getPool, hasFeature, setKernelFamily, writeBuffer, type BufferPool, getBatch, type Batch } from '@kts/webgpu';
import {
  GEMV_MAX_ROWS, matmul, matmulGemv, matmulTiled, planMatmul, TILED_LARGE, TILED_SMALL, usePackedMatmul,
  type MatmulShape, type TiledMatmulConfig,
} from '@kts/webgpu/kernels';
import { uploadF16 } from './helpers.ts';

const REL_TOL = 1e-5;

let seed = 12345;
function rand(): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
}
function randArray(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = 0.5 + rand();
    a[i] = rand() < 0.5 ? -m : m;
  }
  return a;
}

interface Case {
  name: string;
  M: number;
  N: number;
  K: number;
  transB?: boolean;
  /** [outer, inner] batch dims of C; A/B broadcast flags per dim. */
  batch?: [number, number];
  aBroadcast?: [boolean, boolean];
  bBroadcast?: [boolean, boolean];
  /** Extra element offsets (exercise non-zero / misaligned offsets). */
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  expectEntry?: 'main_vec4' | 'main_vec4_row' | 'main_scalar';
  /** matmul-packed.wgsl serves it on llvmpipe (uniform-window A, K chunks accumulated in C). */
  expectPacked?: boolean;
}

let pool: BufferPool;
let batch: Batch;

/** How a case runs: matmul() on the CPU-renderer family, or one GPU version forced. */
type Runner =
  | { kind: 'llvmpipe' }
  | { kind: 'tiled'; config: TiledMatmulConfig; f16?: boolean }
  | { kind: 'gemv'; f16?: boolean };

async function runCase(c: Case, runner: Runner = { kind: 'llvmpipe' }): Promise<void> {
  const [b0, b1] = c.batch ?? [1, 1];
  const { M, N, K } = c;
  const aB = c.aBroadcast ?? [false, false];
  const bB = c.bBroadcast ?? [false, false];
  const aD0 = aB[0] ? 1 : b0, aD1 = aB[1] ? 1 : b1;
  const bD0 = bB[0] ? 1 : b0, bD1 = bB[1] ? 1 : b1;
  const aOff = c.aOffset ?? 0, bOff = c.bOffset ?? 0, cOff = c.cOffset ?? 0;
  const a = randArray(aOff + aD0 * aD1 * M * K);
  const b = randArray(bOff + bD0 * bD1 * K * N);
  const aS: [number, number] = [aB[0] ? 0 : aD1 * M * K, aB[1] ? 0 : M * K];
  const bS: [number, number] = [bB[0] ? 0 : bD1 * K * N, bB[1] ? 0 : K * N];
  const cS: [number, number] = [b1 * M * N, M * N];
  const shape: MatmulShape = {
    M, N, K, transB: c.transB, batch: [b0, b1],
    aOffset: aOff, bOffset: bOff, cOffset: cOff, aStrides: aS, bStrides: bS, cStrides: cS,
  };
  const f16 = runner.kind !== 'llvmpipe' && !!runner.f16;
  if (runner.kind === 'llvmpipe' && c.expectEntry) assert.equal(planMatmul(shape).entryPoint, c.expectEntry);
  if (runner.kind === 'llvmpipe' && c.expectPacked !== undefined) {
    // The packed path exists for llvmpipe only; elsewhere the same cases check main_vec4.
    assert.equal(usePackedMatmul(shape, planMatmul(shape), pool.device), c.expectPacked && adapterInfo().isLlvmpipe, `${c.name}: packed path`);
  }
  const cElems = cOff + b0 * b1 * M * N;
  const A = pool.acquire(a.byteLength);
  const b16 = f16 ? uploadF16(b) : null;
  const B = b16 ? b16.buffer : pool.acquire(b.byteLength);
  const bRef = b16 ? b16.rounded : b;
  const tail = N + 64; // poisoned elements after C: must stay NaN too
  const C = pool.acquire((cElems + tail) * 4);
  try {
    writeBuffer(A, a);
    if (!b16) writeBuffer(B, b);
    writeBuffer(C, new Float32Array(C.size / 4).fill(NaN));
    if (runner.kind === 'llvmpipe') {
      const prev = setKernelFamily('llvmpipe');
      try {
        matmul(A, B, C, shape, batch);
      } finally {
        setKernelFamily(prev);
      }
    } else if (runner.kind === 'tiled') {
      matmulTiled(A, B, C, { ...shape, bF16: f16 }, batch, runner.config);
    } else {
      matmulGemv(A, B, C, { ...shape, bF16: f16 }, batch);
    }
    const out = new Float32Array(await batch.read(C, (cElems + tail) * 4));
    let worst = 0;
    for (let i0 = 0; i0 < b0; i0++) {
      for (let i1 = 0; i1 < b1; i1++) {
        const ao = aOff + i0 * aS[0] + i1 * aS[1];
        const bo = bOff + i0 * bS[0] + i1 * bS[1];
        const co = cOff + i0 * cS[0] + i1 * cS[1];
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0, sAbs = 0, s32 = 0;
            for (let k = 0; k < K; k++) {
              const av = a[ao + i * K + k]!;
              const bi = c.transB ? bo + j * K + k : bo + k * N + j;
              s += av * bRef[bi]!;
              s32 += av * b[bi]!;
              sAbs += Math.abs(av * bRef[bi]!);
            }
            const g = out[co + i * N + j]!;
            const err = Math.abs(g - s) / (sAbs + 1e-30);
            if (!(err <= REL_TOL)) {
              assert.fail(`${c.name}: C[${i0},${i1}][${i},${j}] = ${g}, expected ${s} (rel err ${err})`);
            }
            // f16 B against the unrounded f32 B: each weight moved by at most 2^-11 of itself.
            if (f16 && !(Math.abs(g - s32) <= (2 ** -11 + REL_TOL) * sAbs)) {
              assert.fail(`${c.name}: f16 C[${i},${j}] = ${g} vs ${s32} with f32 weights: beyond f16 rounding`);
            }
            worst = Math.max(worst, err);
          }
        }
      }
    }
    // Elements before cOffset must stay untouched (NaN poison).
    for (let i = 0; i < cOff; i++) assert.ok(Number.isNaN(out[i]!), `${c.name}: wrote before cOffset`);
    for (let i = cElems; i < cElems + tail; i++) assert.ok(Number.isNaN(out[i]!), `${c.name}: wrote past the end of C`);
  } finally {
    pool.release(A);
    pool.release(B);
    pool.release(C);
  }
}

const SHORT_SLAB: TiledMatmulConfig = { ...TILED_SMALL, bk: 8 };

describe('matmul kernels vs float64 CPU reference', () => {
  before(async () => {
    await getDevice();
    pool = await getPool();
    batch = await getBatch();
  });
  after(() => destroyDevice());

  const cases: Case[] = [
    { name: '1x1x1', M: 1, N: 1, K: 1, expectEntry: 'main_scalar' },
    { name: '1x4x4 vec4', M: 1, N: 4, K: 4, expectEntry: 'main_vec4_row' },
    { name: 'primes 7x13x29', M: 7, N: 29, K: 13, expectEntry: 'main_scalar' },
    { name: 'non-tile 130x257x66 (M×K×N)', M: 130, N: 66, K: 257, expectEntry: 'main_scalar' },
    { name: 'non-tile vec4 130x256x68', M: 130, N: 68, K: 256, expectEntry: 'main_vec4' },
    { name: 'long K 3x1000x5', M: 3, N: 5, K: 1000 },
    { name: 'long K vec4 3x1000x8', M: 3, N: 8, K: 1000, expectEntry: 'main_vec4' },
    { name: 'square 128', M: 128, N: 128, K: 128, expectEntry: 'main_vec4' },
    { name: 'wide N 17x36x300', M: 17, N: 300, K: 36, expectEntry: 'main_vec4' },
    { name: 'transB 7x13x29', M: 7, N: 29, K: 13, transB: true, expectEntry: 'main_scalar' },
    { name: 'transB vec4 65x64x260', M: 65, N: 260, K: 64, transB: true, expectEntry: 'main_vec4' },
    { name: 'transB 130x257x66', M: 130, N: 66, K: 257, transB: true },
    { name: 'transB 1xKxN matvec 1x96x44', M: 1, N: 44, K: 96, transB: true, expectEntry: 'main_vec4_row' },
    { name: 'row 1x36x300 (N not a tile multiple)', M: 1, N: 300, K: 36, expectEntry: 'main_vec4_row' },
    { name: 'row transB 1x1028x516, offsets', M: 1, N: 516, K: 1028, transB: true, aOffset: 8, bOffset: 4, cOffset: 12, expectEntry: 'main_vec4_row' },
    { name: 'row batched [2,3] broadcast A 1x64x40', M: 1, N: 40, K: 64, batch: [2, 3], aBroadcast: [false, true], expectEntry: 'main_vec4_row' },
    { name: 'row batched transB [3,1] broadcast B 1x32x24', M: 1, N: 24, K: 32, batch: [3, 1], transB: true, bBroadcast: [true, false], expectEntry: 'main_vec4_row' },
    { name: 'batched [2,3] contiguous 5x8x12', M: 5, N: 12, K: 8, batch: [2, 3] },
    { name: 'batched broadcast B outer dim [2,3] 9x12x20', M: 9, N: 20, K: 12, batch: [2, 3], bBroadcast: [true, false] },
    { name: 'batched broadcast A both dims [2,3] 7x5x11', M: 7, N: 11, K: 5, batch: [2, 3], aBroadcast: [true, true] },
    { name: 'batched broadcast transB [4,2] 19x16x24', M: 19, N: 24, K: 16, batch: [4, 2], transB: true, bBroadcast: [false, true] },
    { name: 'offsets (aligned) 9x16x8', M: 9, N: 8, K: 16, aOffset: 4, bOffset: 8, cOffset: 12, expectEntry: 'main_vec4' },
    { name: 'offsets (unaligned) 9x16x8', M: 9, N: 8, K: 16, aOffset: 3, bOffset: 1, cOffset: 5, expectEntry: 'main_scalar' },
    // matmul-packed.wgsl: M not a multiple of 16, K split in chunks of 1024 (the last narrower),
    // N not a multiple of the 256-column workgroup tile.
    { name: 'packed 19x1100x516 (2 row blocks, 2 K chunks)', M: 19, N: 516, K: 1100, expectPacked: true },
    { name: 'packed transB 33x2052x520 (3 K chunks, last 4 wide)', M: 33, N: 520, K: 2052, transB: true, expectPacked: true },
    { name: 'packed batched [2,3] broadcast B, offsets 17x1024x512', M: 17, N: 512, K: 1024, batch: [2, 3], bBroadcast: [true, false], aOffset: 4, bOffset: 8, cOffset: 12, expectPacked: true },
    { name: 'packed, A read in place (aligned, one K chunk) 40x512x1028', M: 40, N: 1028, K: 512, aOffset: 64, expectPacked: true },
    { name: 'not packed: 15 rows', M: 15, N: 520, K: 1100, expectPacked: false },
    { name: 'not packed: too little work per dispatch', M: 64, N: 64, K: 1024, expectPacked: false },
  ];
  for (const c of cases) it(c.name, () => runCase(c));
  // The GPU versions on the same cases (no packed path there; names keep the CPU-renderer expectations out).
  for (const [name, config] of [['64x64 tiles', TILED_SMALL], ['128x128 tiles', TILED_LARGE], ['64x64 tiles, K slab 8', SHORT_SLAB]] as const) {
    it(`matmul-tiled.wgsl, ${name}: every case`, async () => {
      for (const c of cases) await runCase(c, { kind: 'tiled', config });
    });
  }
  it(`matmul-gemv.wgsl: every case with M ≤ ${GEMV_MAX_ROWS}, and M = 2…8 on a wide N`, async () => {
    for (const c of cases.filter((x) => x.M <= GEMV_MAX_ROWS)) await runCase(c, { kind: 'gemv' });
    for (const M of [2, 5, 8]) {
      await runCase({ name: `gemv M ${M} NT`, M, N: 531, K: 77, transB: true }, { kind: 'gemv' });
      await runCase({ name: `gemv M ${M} NN`, M, N: 531, K: 77 }, { kind: 'gemv' });
    }
  });
  it('f16 B: matmul-tiled and matmul-gemv against f16-rounded and f32 weights (or the refusal without shader-f16)', async () => {
    const f16Cases: Case[] = [
      { name: 'f16 tiled NT 130x257x66', M: 130, N: 66, K: 257, transB: true },
      { name: 'f16 tiled NN 37x45x131, offsets', M: 37, N: 131, K: 45, aOffset: 3, bOffset: 5, cOffset: 7 },
      { name: 'f16 tiled NT batched broadcast B [2,3] 9x12x20', M: 9, N: 20, K: 12, batch: [2, 3], transB: true, bBroadcast: [true, false] },
      { name: 'f16 gemv NT 1x1028x516', M: 1, N: 516, K: 1028, transB: true },
      { name: 'f16 gemv NN 3x100x77', M: 3, N: 77, K: 100 },
    ];
    if (!hasFeature('shader-f16')) {
      const c = f16Cases[0]!;
      await assert.rejects(runCase(c, { kind: 'tiled', config: TILED_SMALL, f16: true }), /float16 storage needs the WebGPU feature 'shader-f16'/);
      await assert.rejects(runCase(f16Cases[3]!, { kind: 'gemv', f16: true }), /shader-f16/);
      return;
    }
    for (const c of f16Cases) await runCase(c, c.M <= GEMV_MAX_ROWS && c.name.includes('gemv') ? { kind: 'gemv', f16: true } : { kind: 'tiled', config: TILED_SMALL, f16: true });
  });

  it('rejects invalid shapes with clear errors', () => {
    assert.throws(() => planMatmul({ M: 0, N: 1, K: 1 }), /M must be a positive integer/);
    assert.throws(() => planMatmul({ M: 1, N: 1, K: 1, batch: [300, 300] }), /exceeds 65535/);
  });
});
