/** kl (forward) in the kernel harness: KL(softmax p ‖ softmax q) per row, kernels/kl.wgsl. */
import { kernelFamily } from '@kts/webgpu';
import { klForward, klReference } from '@kts/webgpu/kernels';
import { worst, type KernelEntry } from './harness.ts';
import { familyVersion, rowPlanFor, rowShapes, type RowShape } from './rows.ts';
import { batch, Buffers, familyVersions, sync, webgpuBackend } from './webgpu.ts';

const entry: KernelEntry<RowShape> = {
  ...webgpuBackend,
  ...rowShapes,
  name: 'kl',
  about: 'KL(softmax p ‖ softmax q) per row over the vocabulary, one pass over both logit sets',
  versions: familyVersions('kernels/kl.wgsl (+ rows.wgsl)', async (s, family, rng) => {
    const bufs = new Buffers();
    const p = rng.array(s.rows * s.N, 0.5, 3), q = rng.array(s.rows * s.N, 0.5, 3);
    const P = bufs.add(p), Q = bufs.add(q), K = bufs.add(s.rows), S = bufs.add(2 * s.rows);
    const plan = rowPlanFor(s, family);
    return {
      run: () => klForward(P, Q, K, S, s.rows, s.N, batch(), plan),
      sync,
      bytes: 8 * s.rows * s.N,
      check: async () => worst('kl', await bufs.read(K, s.rows), klReference(p, q, s.rows, s.N), { atol: 2e-5, rtol: 1e-4 }),
      dispose: () => bufs.dispose(),
    };
  }),
  current: () => familyVersion(kernelFamily()),
};
export default entry;
