/** kl (forward) in the kernel harness: KL(softmax p ‖ softmax q) per row, kernels/kl.wgsl. */
import { klForward, klReference } from '@kts/webgpu/kernels';
import { worst } from './harness.ts';
import { rowKernel } from './rows.ts';
import { batch } from './webgpu.ts';

export default rowKernel('kl', 'KL(softmax p ‖ softmax q) per row over the vocabulary, one pass over both logit sets', 'kl.wgsl', (s, plan, rng, bufs) => {
  const p = rng.array(s.rows * s.N, 0.5, 3), q = rng.array(s.rows * s.N, 0.5, 3);
  const P = bufs.add(p), Q = bufs.add(q), K = bufs.add(s.rows), S = bufs.add(2 * s.rows);
  return {
    run: () => klForward(P, Q, K, S, s.rows, s.N, batch(), plan),
    bytes: 8 * s.rows * s.N,
    check: async () => worst('kl', await bufs.read(K, s.rows), klReference(p, q, s.rows, s.N), { atol: 2e-5, rtol: 1e-4 }),
  };
});
