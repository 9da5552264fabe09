/** cross-entropy (forward) in the kernel harness: per-row CE against int32 targets, kernels/cross-entropy.wgsl. */
import { kernelFamily } from '@kts/webgpu';
import { crossEntropyForward, crossEntropyReference } from '@kts/webgpu/kernels';
import { worst, type KernelEntry } from './harness.ts';
import { familyVersion, rowPlanFor, rowShapes, type RowShape } from './rows.ts';
import { batch, Buffers, familyVersions, sync, webgpuBackend } from './webgpu.ts';

const IGNORE = -100;

const entry: KernelEntry<RowShape> = {
  ...webgpuBackend,
  ...rowShapes,
  name: 'cross-entropy',
  about: 'cross-entropy of logits [rows, N] against int32 targets (ignore index −100)',
  versions: familyVersions('kernels/cross-entropy.wgsl (+ rows.wgsl)', async (s, family, rng) => {
    const bufs = new Buffers();
    const x = rng.array(s.rows * s.N, 0.5, 3);
    const t = Int32Array.from({ length: s.rows }, (_, r) => (r % 7 === 3 ? IGNORE : rng.int(s.N)));
    const X = bufs.add(x), T = bufs.add(t), L = bufs.add(s.rows), LS = bufs.add(s.rows);
    const plan = rowPlanFor(s, family);
    return {
      run: () => crossEntropyForward(X, T, L, LS, s.rows, s.N, IGNORE, batch(), plan),
      sync,
      bytes: 4 * s.rows * s.N,
      check: async () => worst('loss', await bufs.read(L, s.rows), crossEntropyReference(x, t, s.rows, s.N, IGNORE), { atol: 1e-5, rtol: 1e-5 }),
      dispose: () => bufs.dispose(),
    };
  }),
  current: () => familyVersion(kernelFamily()),
};
export default entry;
