// The CPU backend's matmul through a.matmul(b) on both kernel sets (the TypeScript loops,
// KTS_CPU_KERNELS=js, and the WebAssembly SIMD kernels) on 1, 2 and 3 threads, for few-row
// products (M = 1..9 and 17): those are cut across threads by columns or by short row ranges, which
// is where a split can go wrong. Before the fix, the TypeScript path cut M = 2..7 into column
// ranges but wrote each part's rows contiguously (row stride = the part's width, not N), so most
// of C was wrong. Sizes are not multiples of any tile (K = 263 crosses the TypeScript path's
// 256-deep slice), both operands are taken plain and transposed, and batched products (batch
// below and above the thread count, B broadcast) are included. Every case is large enough to go to
// the workers, which the test checks. Tolerance per element: 2·K·2⁻²⁴·Σ_k |a_ik·b_kj| (a wrong
// element is off by O(|c|)); 2 and 3 threads must also give the same bits as 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuKernels, cpuThreadStats, Generator, noGrad, randn, setCpuKernels, setCpuThreads, stopCpuThreads, type Tensor } from '@kts/tensor';
import { loadedRuntime } from '../../packages/tensor/src/cpu/wasm/runtime.ts';
import { skipWithoutWasm } from '../helpers/wasm.ts';

const K = 263;
const N = 509;

interface Case { name: string; a: Tensor; b: Tensor; ref: Float64Array; bound: Float64Array }

/** The float64 product of a's and b's logical contents (b broadcast over the batch when it has one), and the bound. */
function reference(a: Tensor, b: Tensor): { ref: Float64Array; bound: Float64Array } {
  const M = a.shape[a.ndim - 2]!;
  const batch = a.size / (M * K);
  const A = a.toArray(), B = b.toArray();
  const bBatch = B.length === K * N ? 0 : K * N;
  const ref = new Float64Array(batch * M * N);
  const bound = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0, abs = 0;
      for (let k = 0; k < K; k++) {
        const p = A[(t * M + i) * K + k]! * B[t * bBatch + k * N + j]!;
        s += p;
        abs += Math.abs(p);
      }
      ref[(t * M + i) * N + j] = s;
      bound[(t * M + i) * N + j] = 2 * K * 2 ** -24 * abs;
    }
  }
  return { ref, bound };
}

function cases(): Case[] {
  const g = new Generator(2024);
  // an R×C operand, or the transpose of a C×R one (so its strides are swapped)
  const op = (batch: number[], R: number, C: number, transposed: boolean): Tensor =>
    (transposed ? randn([...batch, C, R], { generator: g }).transpose(-1, -2) : randn([...batch, R, C], { generator: g }));
  const out: Case[] = [];
  const add = (name: string, a: Tensor, b: Tensor): void => { out.push({ name, a, b, ...reference(a, b) }); };
  for (const M of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17]) {
    for (const ta of [false, true]) for (const tb of [false, true]) {
      add(`${M}x${K}x${N}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}`, op([], M, K, ta), op([], K, N, tb));
    }
  }
  add(`batched 2x3x${K}x${N}`, op([2], 3, K, false), op([2], K, N, true));
  add(`batched 3x5x${K}x${N}ᵀ`, op([3], 5, K, true), op([3], K, N, false));
  add(`batch-broadcast B 2x6x${K}x${N}`, op([2], 6, K, false), op([], K, N, false).expand([2, K, N]));
  return out;
}

function runAll(kernels: 'js' | 'wasm'): void {
  const before = cpuKernels().kernels;
  const all = cases();
  try {
    setCpuKernels(kernels);
    assert.equal(cpuKernels().kernels, kernels);
    const one = new Map<string, Float32Array>();
    for (const threads of [1, 2, 3]) {
      setCpuThreads(threads);
      for (const c of all) {
        const name = `${kernels}, ${threads} thread${threads > 1 ? 's' : ''}, ${c.name}`;
        const calls = cpuThreadStats().parallelCalls;
        const out = noGrad(() => c.a.matmul(c.b)).toArray() as Float32Array;
        if (threads > 1) assert.ok(cpuThreadStats().parallelCalls > calls, `${name}: went to the workers`);
        let bad = 0, worst = '';
        for (let i = 0; i < c.ref.length; i++) {
          if (Math.abs(out[i]! - c.ref[i]!) <= c.bound[i]!) continue;
          if (bad++ === 0) worst = `element ${i}: ${out[i]} vs ${c.ref[i]} (bound ${c.bound[i]!.toExponential(2)})`;
        }
        assert.equal(bad, 0, `${name}: ${bad} of ${c.ref.length} elements off the float64 product, first ${worst}`);
        if (threads === 1) one.set(c.name, out);
        else assert.deepEqual(out, one.get(c.name), `${name}: not the same bits as on 1 thread`);
      }
    }
  } finally {
    setCpuThreads(1);
    stopCpuThreads();
    setCpuKernels(before);
  }
}

test('CPU matmul, TypeScript loops (KTS_CPU_KERNELS=js), 1-3 threads: few-row, transposed and batched products match float64', () => {
  runAll('js');
});

test('CPU matmul, WebAssembly kernels, 1-3 threads: few-row, transposed and batched products match float64', { skip: skipWithoutWasm(loadedRuntime() !== null) }, () => {
  runAll('wasm');
});
