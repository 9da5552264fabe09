// The WebAssembly GEMM/GEMV kernels (kernels/gemm.wat, kernels/gemv.wat, launcher
// packages/tensor/src/cpu/wasm/matmul.ts) against a float64 product of the same strided operands.
// Shapes are odd (not multiples of the 4×8 tile or of K slices); operands are transposed, windows
// of wider matrices, flipped (negative row stride, through the launcher) and batch-broadcast;
// M = 1 and N = 1 take the GEMV paths. Tolerance per element: 2·K·2⁻²⁴·Σ_k |a_ik·b_kj| (float32
// accumulation; a wrong element is off by O(|c|)). Non-finite inputs must give non-finite outputs
// exactly where the float64 product has them, and 1, 2 and 3 threads must give the same bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuKernels, cpuThreadStats, Generator, noGrad, randn, setCpuKernels, tensor, type Tensor } from '@kts/tensor';
import { assertSameBitsOnThreads } from './cpu-threads-helper.ts';
import { matmulWasm } from '../../packages/tensor/src/cpu/wasm/matmul.ts';
import { wasmRuntime } from '../../packages/tensor/src/cpu/wasm/runtime.ts';
import { skipWithoutWasm } from '../helpers/wasm.ts';

const skip = skipWithoutWasm();

/** C = A·B in float64 over batch entries (B broadcast when it has one), and the error bound. */
function reference(A: ArrayLike<number>, B: ArrayLike<number>, batch: number, M: number, K: number, N: number, bBatched: boolean): { c: Float64Array; bound: Float64Array } {
  const c = new Float64Array(batch * M * N);
  const bound = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const bo = bBatched ? t * K * N : 0;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0, abs = 0;
      for (let k = 0; k < K; k++) {
        const p = A[t * M * K + i * K + k]! * B[bo + k * N + j]!;
        s += p;
        abs += Math.abs(p);
      }
      c[t * M * N + i * N + j] = s;
      bound[t * M * N + i * N + j] = 2 * K * 2 ** -24 * abs;
    }
  }
  return { c, bound };
}

function compare(name: string, out: ArrayLike<number>, ref: { c: Float64Array; bound: Float64Array }): void {
  for (let i = 0; i < ref.c.length; i++) {
    const want = ref.c[i]!;
    if (Number.isFinite(want)) assert.ok(Math.abs(out[i]! - want) <= ref.bound[i]!, `${name}: element ${i}: ${out[i]} vs ${want} (bound ${ref.bound[i]})`);
    else assert.ok(Object.is(out[i], want) || (Number.isNaN(out[i]!) && Number.isNaN(want)), `${name}: element ${i} is ${out[i]}, expected ${want}`);
  }
}

/** a·b on the kernels (checked to have run there), compared with the float64 product. */
function check(name: string, a: Tensor, b: Tensor): Float32Array {
  const before = cpuThreadStats().kernelCalls;
  const out = noGrad(() => a.matmul(b)).toArray() as Float32Array;
  assert.ok(cpuThreadStats().kernelCalls > before, `${name}: ran on the WebAssembly kernels`);
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape[b.ndim - 1]!;
  compare(name, out, reference(a.toArray(), b.toArray(), a.size / (M * K), M, K, N, b.size !== K * N));
  return out;
}

test('wasm GEMM matches a float64 product on odd sizes, transposed, windowed and batched operands', { skip }, () => {
  setCpuKernels('wasm');
  const g = new Generator(11);
  const op = (R: number, C: number, transposed: boolean): Tensor => (transposed ? randn([C, R], { generator: g }).transpose(0, 1) : randn([R, C], { generator: g }));
  for (const [M, K, N] of [[7, 300, 13], [37, 513, 29], [65, 19, 67], [5, 3, 9], [2, 1, 2], [100, 777, 130], [9, 40, 8]] as const) {
    for (const ta of [false, true]) for (const tb of [false, true]) check(`${M}x${K}x${N}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}`, op(M, K, ta), op(K, N, tb));
  }
  check('A a window of a wider matrix', randn([33, 140], { generator: g }).narrow(1, 3, 70), randn([70, 21], { generator: g }));
  check('B every other column', randn([12, 30], { generator: g }), randn([30, 42], { generator: g }).reshape([30, 21, 2]).narrow(2, 1, 1).reshape([30, 21]));
  check('batched 3x17x45x23', randn([3, 17, 45], { generator: g }), randn([3, 45, 23], { generator: g }));
  check('batch-broadcast B', randn([4, 17, 45], { generator: g }), randn([45, 23], { generator: g }).expand([4, 45, 23]));
});

test('wasm GEMM reads negative strides (rows flipped) through its packing', { skip }, () => {
  const rt = wasmRuntime()!;
  const g = new Generator(14);
  const [M, K, N] = [13, 37, 19];
  const A = randn([M * K], { generator: g }).toArray() as Float32Array;
  const B = randn([K * N], { generator: g }).toArray() as Float32Array;
  const C = new Float32Array(M * N);
  // A's rows in reverse: element (i, k) at (M−1−i)·K + k; B's columns in reverse: (k, j) at k·N + N−1−j
  const ok = matmulWasm(rt, {
    a: { data: A, offset: (M - 1) * K, shape: [M, K], strides: [-K, 1] },
    b: { data: B, offset: N - 1, shape: [K, N], strides: [N, -1] },
    items: [[(M - 1) * K, N - 1, 0]], M, N, K,
  }, C);
  assert.ok(ok);
  const Af = Float64Array.from({ length: M * K }, (_, f) => A[(M - 1 - Math.floor(f / K)) * K + (f % K)]!);
  const Bf = Float64Array.from({ length: K * N }, (_, f) => B[Math.floor(f / N) * N + N - 1 - (f % N)]!);
  compare('flipped', C, reference(Af, Bf, 1, M, K, N, false));
});

test('wasm GEMV (M = 1 or N = 1) matches a float64 product for both weight layouts', { skip }, () => {
  setCpuKernels('wasm');
  const g = new Generator(12);
  for (const [K, N] of [[289, 4001], [3, 5], [64, 17], [1, 9], [130, 2]] as const) {
    check(`x[1,${K}]·W[${K},${N}]`, randn([1, K], { generator: g }), randn([K, N], { generator: g }));
    check(`x[1,${K}]·Wᵀ (W stored [${N},${K}])`, randn([1, K], { generator: g }), randn([N, K], { generator: g }).transpose(0, 1));
    check(`W[${N},${K}]·x[${K},1]`, randn([N, K], { generator: g }), randn([K, 1], { generator: g }));
    check(`Wᵀ·x`, randn([K, N], { generator: g }).transpose(0, 1), randn([K, 1], { generator: g }));
  }
});

test('wasm matmul propagates NaN and ±Infinity like the float64 product', { skip }, () => {
  setCpuKernels('wasm');
  const g = new Generator(13);
  for (const [M, K, N] of [[9, 21, 17], [1, 21, 17], [9, 21, 1]] as const) {
    const a = randn([M, K], { generator: g }).toArray() as Float32Array;
    const b = randn([K, N], { generator: g }).toArray() as Float32Array;
    a[Math.min(1, M - 1) * K + 2] = NaN;
    a[(M - 1) * K + 5] = Infinity;
    b[3 * N + (N - 1)] = -Infinity;
    check(`${M}x${K}x${N} with NaN/∞`, tensor(a, [M, K]), tensor(b, [K, N]));
  }
});

test('wasm matmul gives the same bits on 1, 2 and 3 threads (row, column, batch and GEMV splits)', { skip }, () => {
  setCpuKernels('wasm');
  const g = new Generator(15);
  const cases: [string, Tensor, Tensor][] = [
    ['rows split 301x129x57', randn([301, 129], { generator: g }), randn([129, 57], { generator: g })],
    ['columns split 45x160x301ᵀ', randn([45, 160], { generator: g }), randn([301, 160], { generator: g }).transpose(0, 1)],
    ['batch split 5x31x53x97', randn([5, 31, 53], { generator: g }), randn([5, 53, 97], { generator: g })],
    ['GEMV split 1x289x4001ᵀ', randn([1, 289], { generator: g }), randn([4001, 289], { generator: g }).transpose(0, 1)],
    ['GEMV split 1x300x4001', randn([1, 300], { generator: g }), randn([300, 4001], { generator: g })],
  ];
  assertSameBitsOnThreads(cases.map(([name, a, b]) => [name, () => [noGrad(() => a.matmul(b)).toArray()]]));
});

