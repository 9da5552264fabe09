/**
 * elementwise-cpu in the kernel harness: the CPU backend's unary and binary ops on float32
 * [rows, N], 1 the TypeScript loops (packages/tensor/src/cpu/elementwise.ts), 2
 * kernels/elementwise.wat (launcher packages/tensor/src/cpu/wasm/elementwise.ts). Shapes
 * "op:rowsxN": exp and sigmoid (unary, Cephes-style polynomials in the kernel), add (two [rows, N]
 * operands), scale (a [rows, N] times a row [N] broadcast over the rows, as a norm weight).
 * Checked against float64: within 4 float32 ulps plus 1e-7.
 */
import { tensor, type Tensor } from '@kts/tensor';
import { worst, type KernelEntry } from './harness.ts';
import { cpuEntry, opShapes, type CpuSetup, type OpShape } from './cpu.ts';

const OPS = ['exp', 'sigmoid', 'add', 'scale'] as const;
type Shape = OpShape<(typeof OPS)[number]>;

const entry: KernelEntry<Shape> = cpuEntry(
  {
    name: 'elementwise-cpu',
    about: 'unary and binary float32 ops over [rows, N] (a broadcast row for scale)',
    ...opShapes(OPS, ['exp:37x1001', 'sigmoid:3x4099', 'add:130x1001', 'scale:67x1003', 'scale:1x70001'], ['exp:1024x4096', 'add:1024x4096', 'scale:1024x4096']),
  },
  { file: 'packages/tensor/src/cpu/elementwise.ts', about: 'a JS loop compiled per op (new Function), dims collapsed, one thread' },
  { file: 'kernels/elementwise.wat', about: 'one SIMD loop for every op (br_table per vector), dims collapsed, ranges over the threads' },
  (s, rng): CpuSetup<Tensor> => {
    const n = s.rows * s.N;
    const a = rng.array(n, 0.5, 3), b = rng.array(s.op === 'scale' ? s.N : n);
    const A = tensor(a, [s.rows, s.N]), B = s.op === 'scale' ? tensor(b, [s.N]) : tensor(b, [s.rows, s.N]);
    const f: Record<Shape['op'], [run: () => Tensor, ref: (i: number) => number]> = {
      exp: [() => A.exp(), (i) => Math.exp(a[i]!)],
      sigmoid: [() => A.sigmoid(), (i) => 1 / (1 + Math.exp(-a[i]!))],
      add: [() => A.add(B), (i) => a[i]! + b[i]!],
      scale: [() => A.mul(B), (i) => a[i]! * b[i % s.N]!],
    };
    const [run, ref] = f[s.op];
    return {
      run,
      bytes: 4 * (2 * n + (s.op === 'add' ? n : s.op === 'scale' ? s.N : 0)),
      check: (out) => worst(s.op, out.toArray(), Float64Array.from({ length: n }, (_, i) => ref(i)), { atol: 1e-7, rtol: 4 * 2 ** -23 }),
    };
  },
);
export default entry;
