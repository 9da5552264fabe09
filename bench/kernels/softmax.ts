/**
 * softmax (forward) in the kernel harness: kernels/softmax.wgsl with each family's row plan, and
 * softmax-cpu (the TypeScript composite, then kernels/softmax.wat).
 */
import { softmax, tensor } from '@kts/tensor';
import { softmaxForward, softmaxReference } from '@kts/webgpu/kernels';
import { worst, type Rng } from './harness.ts';
import { cpuRowKernel, rowKernel, type RowProblem, type RowShape } from './rows.ts';
import { batch } from './webgpu.ts';

const ABOUT = 'softmax over the last axis of [rows, N]';

function problem(s: RowShape, rng: Rng): RowProblem & { x: Float32Array } {
  const x = rng.array(s.rows * s.N, 0.5, 3);
  return { x, bytes: 8 * s.rows * s.N, check: (y) => worst('softmax', y, softmaxReference(x, s.rows, s.N), { atol: 1e-6, rtol: 1e-5 }) };
}

export default rowKernel('softmax', `${ABOUT} (one online max/sum pass, one output pass)`, 'softmax.wgsl', (s, plan, rng, bufs) => {
  const p = problem(s, rng);
  const X = bufs.add(p.x), Y = bufs.add(s.rows * s.N);
  return { run: () => softmaxForward(X, Y, s.rows, s.N, batch(), plan), bytes: p.bytes, check: async () => p.check(await bufs.read(Y, s.rows * s.N)) };
});

export const cpu = cpuRowKernel(
  'softmax', ABOUT,
  'softmaxComposite: max, sub, exp, sum, div, one op (and one pass) each',
  'a row a thread at a time: a max pass, an exp-and-sum pass (double sums), a scaling pass',
  (s, rng) => {
    const p = problem(s, rng);
    const x = tensor(p.x, [s.rows, s.N]);
    return { problem: p, run: () => softmax(x) };
  },
);
