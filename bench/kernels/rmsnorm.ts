/**
 * rmsnorm (forward) in the kernel harness: kernels/rmsnorm.wgsl with each family's row plan, and
 * rmsnorm-cpu (the TypeScript composite, then kernels/rmsnorm.wat).
 */
import { rmsNorm, tensor } from '@kts/tensor';
import { rmsNormForward, rmsNormReference } from '@kts/webgpu/kernels';
import { worst, type Rng } from './harness.ts';
import { cpuRowKernel, rowKernel, type RowProblem, type RowShape } from './rows.ts';
import { batch } from './webgpu.ts';

const ABOUT = 'HF RMSNorm over the last axis of [rows, N]';
const EPS = 1e-5;

function problem(s: RowShape, rng: Rng): RowProblem & { x: Float32Array; w: Float32Array } {
  const x = rng.array(s.rows * s.N), w = rng.array(s.N);
  return { x, w, bytes: 8 * s.rows * s.N, check: (y) => worst('rmsNorm', y, rmsNormReference(x, w, s.rows, s.N, EPS).y, { atol: 1e-6, rtol: 1e-5 }) };
}

export default rowKernel('rmsnorm', `${ABOUT}, saving 1/rms per row`, 'rmsnorm.wgsl', (s, plan, rng, bufs) => {
  const p = problem(s, rng);
  const X = bufs.add(p.x), W = bufs.add(p.w), Y = bufs.add(s.rows * s.N), R = bufs.add(s.rows);
  return { run: () => rmsNormForward(X, W, Y, R, s.rows, s.N, EPS, batch(), plan), bytes: p.bytes, check: async () => p.check(await bufs.read(Y, s.rows * s.N)) };
});

export const cpu = cpuRowKernel(
  'rmsnorm', ABOUT,
  'rmsNormComposite: square, mean, add, rsqrt, two muls, one op each',
  'a row at a time: Σx² (in double), then y = w·x·r, saving r for the backward pass',
  (s, rng) => {
    const p = problem(s, rng);
    const x = tensor(p.x, [s.rows, s.N]), w = tensor(p.w, [s.N]);
    return { problem: p, run: () => rmsNorm(x, w, EPS) };
  },
);
