/** cross-entropy (forward) in the kernel harness: per-row CE against int32 targets, kernels/cross-entropy.wgsl. */
import { crossEntropyForward, crossEntropyReference } from '@kts/webgpu/kernels';
import { worst } from './harness.ts';
import { rowKernel } from './rows.ts';
import { batch } from './webgpu.ts';

const IGNORE = -100;

export default rowKernel('cross-entropy', 'cross-entropy of logits [rows, N] against int32 targets (ignore index −100)', 'cross-entropy.wgsl', (s, plan, rng, bufs) => {
  const x = rng.array(s.rows * s.N, 0.5, 3);
  const t = Int32Array.from({ length: s.rows }, (_, r) => (r % 7 === 3 ? IGNORE : rng.int(s.N)));
  const X = bufs.add(x), T = bufs.add(t), L = bufs.add(s.rows), LS = bufs.add(s.rows);
  return {
    run: () => crossEntropyForward(X, T, L, LS, s.rows, s.N, IGNORE, batch(), plan),
    bytes: 4 * s.rows * s.N,
    check: async () => worst('loss', await bufs.read(L, s.rows), crossEntropyReference(x, t, s.rows, s.N, IGNORE), { atol: 1e-5, rtol: 1e-5 }),
  };
});
