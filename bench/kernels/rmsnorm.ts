/** rmsnorm (forward) in the kernel harness: kernels/rmsnorm.wgsl with each family's row plan. */
import { rmsNormForward, rmsNormReference } from '@kts/webgpu/kernels';
import { worst } from './harness.ts';
import { rowKernel } from './rows.ts';
import { batch } from './webgpu.ts';

export default rowKernel('rmsnorm', 'HF RMSNorm over the last axis of [rows, N], saving 1/rms per row', 'rmsnorm.wgsl', (s, plan, rng, bufs) => {
  const x = rng.array(s.rows * s.N), w = rng.array(s.N);
  const X = bufs.add(x), W = bufs.add(w), Y = bufs.add(s.rows * s.N), R = bufs.add(s.rows);
  return {
    run: () => rmsNormForward(X, W, Y, R, s.rows, s.N, 1e-5, batch(), plan),
    bytes: 8 * s.rows * s.N,
    check: async () => worst('rmsNorm', await bufs.read(Y, s.rows * s.N), rmsNormReference(x, w, s.rows, s.N, 1e-5).y, { atol: 1e-6, rtol: 1e-5 }),
  };
});
