/**
 * cross-entropy (forward) in the kernel harness: per-row CE against int32 targets,
 * kernels/cross-entropy.wgsl, and cross-entropy-cpu (the TypeScript composite, then
 * kernels/cross-entropy.wat).
 */
import { crossEntropy, tensor } from '@kts/tensor';
import { crossEntropyForward, crossEntropyReference } from '@kts/webgpu/kernels';
import { worst, type Rng } from './harness.ts';
import { cpuRowKernel, rowKernel, type RowProblem, type RowShape } from './rows.ts';
import { batch } from './webgpu.ts';

const IGNORE = -100;
const ABOUT = 'cross-entropy of logits [rows, N] against int32 targets (ignore index −100)';

function problem(s: RowShape, rng: Rng): RowProblem & { x: Float32Array; t: Int32Array } {
  const x = rng.array(s.rows * s.N, 0.5, 3);
  const t = Int32Array.from({ length: s.rows }, (_, r) => (r % 7 === 3 ? IGNORE : rng.int(s.N)));
  return { x, t, bytes: 4 * s.rows * s.N, check: (loss) => worst('loss', loss, crossEntropyReference(x, t, s.rows, s.N, IGNORE), { atol: 1e-5, rtol: 1e-5 }) };
}

export default rowKernel('cross-entropy', ABOUT, 'cross-entropy.wgsl', (s, plan, rng, bufs) => {
  const p = problem(s, rng);
  const X = bufs.add(p.x), T = bufs.add(p.t), L = bufs.add(s.rows), LS = bufs.add(s.rows);
  return { run: () => crossEntropyForward(X, T, L, LS, s.rows, s.N, IGNORE, batch(), plan), bytes: p.bytes, check: async () => p.check(await bufs.read(L, s.rows)) };
});

export const cpu = cpuRowKernel(
  'cross-entropy', ABOUT,
  'crossEntropyComposite: logSoftmax composite, gather, masks',
  'a row at a time: max, log Σexp (in double), the target logit',
  (s, rng) => {
    const p = problem(s, rng);
    const x = tensor(p.x, [s.rows, s.N]), t = tensor(p.t, [s.rows], { dtype: 'int32' });
    return { problem: p, run: () => crossEntropy(x, t, { ignoreIndex: IGNORE, reduction: 'none' }) };
  },
);
