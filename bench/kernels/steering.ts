/** steering (forward) in the kernel harness: h + mask·Σₖ coeffs·vₖ, kernels/steering.wgsl. */
import { steeringForward, steeringReference, type SteeringShape } from '@kts/webgpu/kernels';
import { ints, worst, type KernelEntry } from './harness.ts';
import { familyVersion } from './rows.ts';
import { batch, Buffers, familyVersions, inFamily, sync, webgpuBackend } from './webgpu.ts';

const shape = (B: number, T: number, D: number, K: number): SteeringShape => ({ B, T, D, K, perSequence: false });

const entry: KernelEntry<SteeringShape> = {
  ...webgpuBackend,
  name: 'steering',
  about: 'residual-stream steering out = h + mask[b,t]·Σₖ coeffs[b,k]·v[k] in one pass ([B,T,D], K vectors)',
  checkShapes: [shape(3, 33, 13, 2), shape(2, 70, 64, 3), shape(2, 5, 4096, 1)],
  timeShapes: [shape(8, 64, 4096, 1), shape(8, 512, 4096, 4), shape(1, 1, 4096, 1)],
  parseShape(text) {
    const [B, T, D, K] = ints(text, /x/) as [number, number, number, number];
    return shape(B, T, D, K);
  },
  formatShape: (s) => `${s.B}x${s.T}x${s.D}x${s.K}`,
  versions: familyVersions('kernels/steering.wgsl (+ rows.wgsl)', async (s, family, rng) => {
    const bufs = new Buffers();
    const { B, T, D, K } = s;
    const h = rng.array(B * T * D), v = rng.array(K * D), c = rng.array(B * K);
    const m = Float32Array.from({ length: B * T }, () => (rng.next() < 0.7 ? 1 : 0));
    const H = bufs.add(h), V = bufs.add(v), C = bufs.add(c), M = bufs.add(m), OUT = bufs.add(B * T * D);
    return {
      run: () => inFamily(family, () => steeringForward(H, V, C, M, OUT, s, batch())),
      sync,
      bytes: 8 * B * T * D,
      check: async () => worst('steering', await bufs.read(OUT, B * T * D), steeringReference(h, v, c, m, s), { atol: 1e-5, rtol: 1e-5 }),
      dispose: () => bufs.dispose(),
    };
  }),
  current: familyVersion,
};
export default entry;
