/**
 * reduce-cpu in the kernel harness: the CPU backend's float32 reductions of [rows, N], 1 the
 * TypeScript reduce (packages/tensor/src/cpu/backend.ts), 2 kernels/reduce.wat (launcher
 * packages/tensor/src/cpu/wasm/reduce.ts). Shapes "op:rowsxN": sum and max over the last axis
 * (sum_rows, max_rows), sum0 over the first (sum_cols: a bias gradient). Both sum in double and
 * round once: checked against float64 to 1e-6·Σ|x| (max exactly, to 1e-7 relative).
 */
import { tensor, type Tensor } from '@kts/tensor';
import { worst, type KernelEntry } from './harness.ts';
import { cpuEntry, opShapes, type CpuSetup, type OpShape } from './cpu.ts';

const OPS = ['sum', 'max', 'sum0'] as const;
type Shape = OpShape<(typeof OPS)[number]>;

/** Per output: the float64 sum or max and Σ|x| over what it reduces. */
function reference(x: Float32Array, s: Shape): { ref: Float64Array; scale: Float64Array } {
  const byRows = s.op !== 'sum0';
  const n = byRows ? s.rows : s.N;
  const ref = new Float64Array(n).fill(s.op === 'max' ? -Infinity : 0), scale = new Float64Array(n);
  for (let r = 0; r < s.rows; r++) {
    for (let j = 0; j < s.N; j++) {
      const v = x[r * s.N + j]!, o = byRows ? r : j;
      ref[o] = s.op === 'max' ? Math.max(ref[o]!, v) : ref[o]! + v;
      scale[o] = s.op === 'max' ? Math.abs(ref[o]!) : scale[o]! + Math.abs(v);
    }
  }
  return { ref, scale };
}

const entry: KernelEntry<Shape> = cpuEntry(
  {
    name: 'reduce-cpu',
    about: 'sum or max of float32 [rows, N] over the last axis, or sum over the first',
    ...opShapes(OPS, ['sum:37x1001', 'max:3x4099', 'sum0:130x1001', 'sum:130x1003', 'max:2x32003', 'sum0:7x13'], ['sum:1024x4096', 'max:1024x4096', 'sum0:1024x4096']),
  },
  { file: 'packages/tensor/src/cpu/backend.ts', about: 'reduced axes moved last (sum0: a transposing copy), one scalar loop per output, double sums' },
  { file: 'kernels/reduce.wat', about: 'sum_rows / max_rows (f32x4 loads, double sums) or sum_cols, rows or columns over the threads' },
  (s, rng): CpuSetup<Tensor> => {
    const x = rng.array(s.rows * s.N);
    const X = tensor(x, [s.rows, s.N]);
    const { ref, scale } = reference(x, s);
    return {
      run: () => (s.op === 'sum' ? X.sum(-1) : s.op === 'max' ? X.max(-1) : X.sum(0)),
      bytes: 4 * s.rows * s.N,
      check: (out) => worst(s.op, out.toArray(), ref, { atol: 0, rtol: s.op === 'max' ? 1e-7 : 1e-6, scales: scale }),
    };
  },
);
export default entry;
