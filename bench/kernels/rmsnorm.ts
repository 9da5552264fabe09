/** rmsnorm (forward) in the kernel harness: kernels/rmsnorm.wgsl with each family's row plan. */
import { kernelFamily } from '@kts/webgpu';
import { rmsNormForward, rmsNormReference } from '@kts/webgpu/kernels';
import { worst, type KernelEntry } from './harness.ts';
import { familyVersion, rowPlanFor, rowShapes, type RowShape } from './rows.ts';
import { batch, Buffers, familyVersions, sync, webgpuBackend } from './webgpu.ts';

const entry: KernelEntry<RowShape> = {
  ...webgpuBackend,
  ...rowShapes,
  name: 'rmsnorm',
  about: 'HF RMSNorm over the last axis of [rows, N], saving 1/rms per row',
  versions: familyVersions('kernels/rmsnorm.wgsl (+ rows.wgsl)', async (s, family, rng) => {
    const bufs = new Buffers();
    const x = rng.array(s.rows * s.N), w = rng.array(s.N);
    const X = bufs.add(x), W = bufs.add(w), Y = bufs.add(s.rows * s.N), R = bufs.add(s.rows);
    const plan = rowPlanFor(s, family);
    return {
      run: () => rmsNormForward(X, W, Y, R, s.rows, s.N, 1e-5, batch(), plan),
      sync,
      bytes: 8 * s.rows * s.N,
      check: async () => worst('rmsNorm', await bufs.read(Y, s.rows * s.N), rmsNormReference(x, w, s.rows, s.N, 1e-5).y, { atol: 1e-6, rtol: 1e-5 }),
      dispose: () => bufs.dispose(),
    };
  }),
  current: () => familyVersion(kernelFamily()),
};
export default entry;
