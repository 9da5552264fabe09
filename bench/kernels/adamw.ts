/** adamw in the kernel harness: one in-place AdamW step over n floats, kernels/adamw.wgsl. */
import { adamwReference, adamwUpdate } from '@kts/webgpu/kernels';
import { worst, type KernelEntry } from './harness.ts';
import { familyVersion } from './rows.ts';
import { batch, Buffers, familyVersions, inFamily, sync, webgpuBackend } from './webgpu.ts';

const HP = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };

const entry: KernelEntry<number> = {
  ...webgpuBackend,
  name: 'adamw',
  about: 'one in-place AdamW step (torch semantics) on param, m, v',
  checkShapes: [1001, 4096],
  timeShapes: [1 << 20, 1 << 24],
  parseShape: (text) => Number(text),
  formatShape: (n) => String(n),
  versions: familyVersions('kernels/adamw.wgsl', async (n, family, rng) => {
    const bufs = new Buffers();
    const p = rng.array(n), g = rng.array(n), m = rng.array(n, 0.1, 0.2), v = rng.array(n, 0.1, 0.2);
    const P = bufs.add(p), G = bufs.add(g), M = bufs.add(m), V = bufs.add(v);
    return {
      // Timed repeats keep updating the same state (the kernel is elementwise: same cost).
      run: () => inFamily(family, () => adamwUpdate(P, G, M, V, n, HP, batch())),
      sync,
      bytes: 28 * n,
      check: async () => worst('param', await bufs.read(P, n), adamwReference(p, g, m, v, HP).param, { atol: 1e-6, rtol: 1e-5 }),
      dispose: () => bufs.dispose(),
    };
  }),
  current: familyVersion,
};
export default entry;
