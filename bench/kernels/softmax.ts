/** softmax (forward) in the kernel harness: kernels/softmax.wgsl with each family's row plan. */
import { kernelFamily } from '@kts/webgpu';
import { softmaxForward, softmaxReference } from '@kts/webgpu/kernels';
import { worst, type KernelEntry } from './harness.ts';
import { familyVersion, rowPlanFor, rowShapes, type RowShape } from './rows.ts';
import { batch, Buffers, familyVersions, sync, webgpuBackend } from './webgpu.ts';

const entry: KernelEntry<RowShape> = {
  ...webgpuBackend,
  ...rowShapes,
  name: 'softmax',
  about: 'softmax over the last axis of [rows, N] (one online max/sum pass, one output pass)',
  versions: familyVersions('kernels/softmax.wgsl (+ rows.wgsl)', async (s, family, rng) => {
    const bufs = new Buffers();
    const x = rng.array(s.rows * s.N, 0.5, 3);
    const X = bufs.add(x), Y = bufs.add(s.rows * s.N);
    const plan = rowPlanFor(s, family);
    return {
      run: () => softmaxForward(X, Y, s.rows, s.N, batch(), plan),
      sync,
      bytes: 8 * s.rows * s.N,
      check: async () => worst('softmax', await bufs.read(Y, s.rows * s.N), softmaxReference(x, s.rows, s.N), { atol: 1e-6, rtol: 1e-5 }),
      dispose: () => bufs.dispose(),
    };
  }),
  current: () => familyVersion(kernelFamily()),
};
export default entry;
