/**
 * kernels/steering.wgsl (h + mask·Σₖ coeffs·vₖ forward; dvectors, dcoeffs backward) against the
 * float64 CPU references in packages/webgpu/src/kernels/steering.ts, at the GPUBuffer level, on
 * both kernel families. Inputs random in ±[0.5, 1.5) (never zero), masks mix 0/1, outputs
 * NaN-poisoned. Tolerances (|gpu − ref| ≤ atol + rtol·|ref|): out 1e-5 + 1e-5; dvectors, dcoeffs
 * (sums over B·T) 1e-5·max(1, max|ref|) + 1e-4. Shapes: B, T, D, K including 1, primes, D not a
 * multiple of 4 (scalar path), shared [K,D] and per-sequence [B,K,D] vectors.
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { steeringBackward, steeringBackwardReference, steeringForward, steeringReference, type SteeringShape } from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, maxAbs, release, Rng, upload, withFamily } from './helpers.ts';

async function steeringCase(s: SteeringShape, seed: number): Promise<void> {
  const { B, T, D, K } = s;
  const rng = new Rng(seed);
  const h = rng.array(B * T * D), vec = rng.array((s.perSequence ? B : 1) * K * D), coef = rng.array(B * K);
  const mask = new Float32Array(B * T).map(() => (rng.next() < 0.7 ? 1 : 0));
  const g = rng.array(B * T * D);
  const bufs = [upload(h), upload(vec), upload(coef), upload(mask), upload(B * T * D), upload(g), upload(vec.length), upload(B * K)];
  const [H, VEC, C, M, OUT, G, DV, DC] = bufs as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
  try {
    steeringForward(H, VEC, C, M, OUT, s);
    assertClose('out', await download(OUT, B * T * D), steeringReference(h, vec, coef, mask, s), { atol: 1e-5, rtol: 1e-5 });
    steeringBackward(G, VEC, C, M, DV, DC, s);
    const r = steeringBackwardReference(g, vec, coef, mask, s);
    assertClose('dvectors', await download(DV, vec.length), r.dvectors, { atol: 1e-5 * Math.max(1, maxAbs(r.dvectors)), rtol: 1e-4 });
    assertClose('dcoeffs', await download(DC, B * K), r.dcoeffs, { atol: 1e-5 * Math.max(1, maxAbs(r.dcoeffs)), rtol: 1e-4 });
  } finally {
    release(...bufs);
  }
}

describe('steering kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`addSteering fwd/bwd: fixed shapes (${family})`, () => withFamily(family, async () => {
      await steeringCase({ B: 1, T: 1, D: 1, K: 1, perSequence: false }, 1);
      await steeringCase({ B: 2, T: 70, D: 64, K: 3, perSequence: false }, 2);
      await steeringCase({ B: 3, T: 33, D: 13, K: 2, perSequence: true }, 3);
      await steeringCase({ B: 2, T: 5, D: 4096, K: 1, perSequence: true }, 4);
    }));

    it(`addSteering property: random B, T, D, K, shared or per-sequence vectors (${family})`, () => withFamily(family, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            B: fc.integer({ min: 1, max: 3 }),
            T: fc.integer({ min: 1, max: 40 }),
            D: fc.constantFrom(1, 3, 4, 7, 16, 52, 129),
            K: fc.integer({ min: 1, max: 4 }),
            perSequence: fc.boolean(),
            seed: fc.integer({ min: 1, max: 1 << 30 }),
          }),
          (r) => steeringCase(r, r.seed),
        ),
        { numRuns: 15 },
      );
    }));
  }
});
