/**
 * kl (forward) in the kernel harness: KL(softmax p ‖ softmax q) per row, kernels/kl.wgsl, and
 * kl-cpu (the TypeScript composite, then kernels/kl.wat).
 */
import { klDivLogits, tensor } from '@kts/tensor';
import { klForward, klReference } from '@kts/webgpu/kernels';
import { worst, type Rng } from './harness.ts';
import { cpuRowKernel, rowKernel, type RowProblem, type RowShape } from './rows.ts';
import { batch } from './webgpu.ts';

const ABOUT = 'KL(softmax p ‖ softmax q) per row over the vocabulary';

function problem(s: RowShape, rng: Rng): RowProblem & { p: Float32Array; q: Float32Array } {
  const p = rng.array(s.rows * s.N, 0.5, 3), q = rng.array(s.rows * s.N, 0.5, 3);
  return { p, q, bytes: 8 * s.rows * s.N, check: (kl) => worst('kl', kl, klReference(p, q, s.rows, s.N), { atol: 2e-5, rtol: 1e-4 }) };
}

export default rowKernel('kl', `${ABOUT}, one pass over both logit sets`, 'kl.wgsl', (s, plan, rng, bufs) => {
  const x = problem(s, rng);
  const P = bufs.add(x.p), Q = bufs.add(x.q), K = bufs.add(s.rows), S = bufs.add(2 * s.rows);
  return { run: () => klForward(P, Q, K, S, s.rows, s.N, batch(), plan), bytes: x.bytes, check: async () => x.check(await bufs.read(K, s.rows)) };
});

export const cpu = cpuRowKernel(
  'kl', ABOUT,
  'klDivLogitsComposite: two logSoftmax composites, exp, sub, mul, sum',
  'a row at a time: max and Σexp of both rows, then Σ P(logP − logQ), sums in double',
  (s, rng) => {
    const x = problem(s, rng);
    const p = tensor(x.p, [s.rows, s.N]), q = tensor(x.q, [s.rows, s.N]);
    return { problem: x, run: () => klDivLogits(p, q) };
  },
);
