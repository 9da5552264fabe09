/** softmax (forward) in the kernel harness: kernels/softmax.wgsl with each family's row plan. */
import { softmaxForward, softmaxReference } from '@kts/webgpu/kernels';
import { worst } from './harness.ts';
import { rowKernel } from './rows.ts';
import { batch } from './webgpu.ts';

export default rowKernel('softmax', 'softmax over the last axis of [rows, N] (one online max/sum pass, one output pass)', 'softmax.wgsl', (s, plan, rng, bufs) => {
  const x = rng.array(s.rows * s.N, 0.5, 3);
  const X = bufs.add(x), Y = bufs.add(s.rows * s.N);
  return {
    run: () => softmaxForward(X, Y, s.rows, s.N, batch(), plan),
    bytes: 8 * s.rows * s.N,
    check: async () => worst('softmax', await bufs.read(Y, s.rows * s.N), softmaxReference(x, s.rows, s.N), { atol: 1e-6, rtol: 1e-5 }),
  };
});
