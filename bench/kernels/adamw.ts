/**
 * adamw in the kernel harness: one in-place AdamW step over n floats, kernels/adamw.wgsl, and
 * adamw-cpu (the update composed from ops, then kernels/adamw.wat).
 */
import { tensor } from '@kts/tensor';
import { fusedOps } from '../../packages/tensor/src/cpu/fused.ts';
import { adamwReference, adamwUpdate } from '@kts/webgpu/kernels';
import { worst, type KernelEntry, type Rng } from './harness.ts';
import { cpuEntry } from './cpu.ts';
import { familyVersion } from './rows.ts';
import { batch, Buffers, familyVersions, inFamily, sync, webgpuBackend } from './webgpu.ts';

const HP = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };

/** The state and gradient, the traffic and the check of the new param, on any backend. */
function problem(n: number, rng: Rng) {
  const p = rng.array(n), g = rng.array(n), m = rng.array(n, 0.1, 0.2), v = rng.array(n, 0.1, 0.2);
  return { p, g, m, v, bytes: 28 * n, check: (param: ArrayLike<number>) => worst('param', param, adamwReference(p, g, m, v, HP).param, { atol: 1e-6, rtol: 1e-5 }) };
}

const shapes: Pick<KernelEntry<number>, 'checkShapes' | 'timeShapes' | 'parseShape' | 'formatShape'> = {
  checkShapes: [1001, 4096, 100_003],
  timeShapes: [1 << 20, 1 << 24],
  parseShape: (text) => Number(text),
  formatShape: (n) => String(n),
};
const ABOUT = 'one in-place AdamW step (torch semantics) on param, m, v';

const entry: KernelEntry<number> = {
  ...webgpuBackend,
  ...shapes,
  name: 'adamw',
  about: ABOUT,
  versions: familyVersions('kernels/adamw.wgsl', async (n, family, rng) => {
    const bufs = new Buffers();
    const x = problem(n, rng);
    const P = bufs.add(x.p), G = bufs.add(x.g), M = bufs.add(x.m), V = bufs.add(x.v);
    return {
      // Timed repeats keep updating the same state (the kernel is elementwise: same cost).
      run: () => inFamily(family, () => adamwUpdate(P, G, M, V, n, HP, batch())),
      sync,
      bytes: x.bytes,
      check: async () => x.check(await bufs.read(P, n)),
      dispose: () => bufs.dispose(),
    };
  }),
  current: familyVersion,
};
export default entry;

export const cpu: KernelEntry<number> = cpuEntry(
  { name: 'adamw-cpu', about: ABOUT, ...shapes },
  { file: 'packages/tensor/src/cpu/fused.ts', about: 'the update composed from ops (a dozen elementwise passes, as optim.AdamW without the kernel), written back with assign' },
  { file: 'kernels/adamw.wat', about: 'one pass, four floats a step, in place on the heap' },
  (n, rng) => {
    const x = problem(n, rng);
    const P = tensor(x.p), G = tensor(x.g), M = tensor(x.m), V = tensor(x.v);
    return { run: () => fusedOps.adamw!(P, G, M, V, HP), bytes: x.bytes, check: () => x.check(P.toArray()) };
  },
);
