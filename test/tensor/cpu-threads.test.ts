// Multi-threaded CPU matmul (packages/tensor/src/cpu/threads.ts): each output element is computed
// by one thread with the same arithmetic, so 2 and 3 threads must give bit-identical results to
// 1 thread, and the product must match a float64 reference. The cases are above PARALLEL_MIN and
// the test checks that the work really went to the workers (parallelCalls grows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuThreadStats, CpuStorage, Generator, noGrad, randn, setCpuThreads, stopCpuThreads, type Tensor } from '@kts/tensor';
import { PARALLEL_MIN, SHARED_MIN } from '../../packages/tensor/src/cpu/threads.ts';
import { HEAP_MIN } from '../../packages/tensor/src/cpu/alloc.ts';
import { cpuKernels } from '../../packages/tensor/src/cpu/wasm/runtime.ts';

function reference(a: Float32Array, b: Float32Array, batch: number, M: number, K: number, N: number, bTransposed: boolean): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const bv = bTransposed ? b[t * N * K + j * K + k]! : b[t * K * N + k * N + j]!;
          s += a[t * M * K + i * K + k]! * bv;
        }
        out[t * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

// Shapes: a vector–matrix product split by columns (decode's lm_head, odd N), a row split with an
// M that is not a multiple of 4 per thread, a batch split, a transposed-B (x·Wᵀ) product, and an
// output big enough to be allocated shared (the others go through the workers' scratch).
const CASES = [
  { name: 'M=1 vector x Wt (column split)', batch: 1, M: 1, K: 289, N: 4001, bT: true },
  { name: 'M=67 row split', batch: 1, M: 67, K: 131, N: 127, bT: false },
  { name: 'batched 5 x 31x53x97', batch: 5, M: 31, K: 53, N: 197, bT: false },
  { name: 'M=45 x Wt', batch: 1, M: 45, K: 160, N: 301, bT: true },
  { name: 'shared output 300x9x301', batch: 1, M: 300, K: 9, N: 301, bT: false },
];

function run(threads: number, a: Tensor, b: Tensor, bT: boolean): Float32Array {
  setCpuThreads(threads);
  return noGrad(() => a.matmul(bT ? b.transpose(-1, -2) : b)).toArray() as Float32Array;
}

test('threaded CPU matmul is bit-identical to one thread and matches a float64 reference', () => {
  try {
    for (const c of CASES) {
      assert.ok(c.batch * c.M * c.N * c.K >= PARALLEL_MIN, `${c.name} is big enough to be split`);
      const g = new Generator(c.M * 7 + c.N);
      const a = randn(c.batch === 1 ? [c.M, c.K] : [c.batch, c.M, c.K], { generator: g });
      const bShape = c.bT ? [c.N, c.K] : [c.K, c.N];
      const b = randn(c.batch === 1 ? bShape : [c.batch, ...bShape], { generator: g });
      const one = run(1, a, b, c.bT);
      const before = cpuThreadStats().parallelCalls;
      const two = run(2, a, b, c.bT);
      const three = run(3, a, b, c.bT);
      assert.equal(cpuThreadStats().parallelCalls, before + 2, `${c.name}: both threaded runs used the workers`);
      assert.deepEqual(two, one, `${c.name}: 2 threads differ from 1`);
      assert.deepEqual(three, one, `${c.name}: 3 threads differ from 1`);
      const ref = reference(a.toArray() as Float32Array, b.toArray() as Float32Array, c.batch, c.M, c.K, c.N, c.bT);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - one[i]!) / (1 + Math.abs(ref[i]!)));
      assert.ok(worst < 1e-5, `${c.name}: relative error ${worst}`);
    }
  } finally {
    setCpuThreads(1);
    stopCpuThreads();
  }
});

test('large float tensors are allocated shared so workers can read them; small ones are not', () => {
  // float32: on the WebAssembly kernels' shared heap from HEAP_MIN elements (when they are on)
  const kernels = cpuKernels().kernels === 'wasm';
  const min = kernels ? HEAP_MIN : SHARED_MIN;
  const big = (randn([min]).storage as CpuStorage).data;
  const small = (randn([min - 1]).storage as CpuStorage).data;
  assert.ok(big.buffer instanceof SharedArrayBuffer);
  assert.ok(!(small.buffer instanceof SharedArrayBuffer));
  // float64 (never on the heap): shared from SHARED_MIN
  assert.ok((randn([SHARED_MIN], { dtype: 'float64' }).storage as CpuStorage).data.buffer instanceof SharedArrayBuffer);
  assert.ok(!((randn([SHARED_MIN - 1], { dtype: 'float64' }).storage as CpuStorage).data.buffer instanceof SharedArrayBuffer));
});

test('setCpuThreads rejects nonsense', () => {
  assert.throws(() => setCpuThreads(0), /positive integer/);
  assert.throws(() => setCpuThreads(1.5), /positive integer/);
});
