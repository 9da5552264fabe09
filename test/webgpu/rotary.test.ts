/**
 * kernels/rotary.wgsl (HF rotate_half RoPE forward and backward) against the float64 CPU
 * reference in packages/webgpu/src/kernels/rotary.ts, at the GPUBuffer level, on both kernel
 * families, with [T,D] and [B,1,T,D] tables (broadcast strides). Tolerance 1e-6 + 1e-5·|ref|.
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { rotaryBackward, rotaryForward, rotaryReference, type RotaryShape } from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, release, Rng, upload, withFamily } from './helpers.ts';

async function rotaryCase(dims: [number, number, number, number], table: 'TD' | 'B1TD', seed: number): Promise<void> {
  const [A0, A1, A2, D] = dims;
  const rng = new Rng(seed);
  const x = rng.array(A0 * A1 * A2 * D);
  // Tables indexed by (t = i2, d): [T, D] (strides [0,0,D,1]) or [A0, 1, T, D].
  const tab = table === 'TD' ? rng.array(A2 * D) : rng.array(A0 * A2 * D);
  const tab2 = table === 'TD' ? rng.array(A2 * D) : rng.array(A0 * A2 * D);
  const strides = (table === 'TD' ? [0, 0, D, 1] : [A2 * D, 0, D, 1]) as [number, number, number, number];
  const s: RotaryShape = { dims, cos: { offset: 0, strides }, sin: { offset: 0, strides } };
  const X = upload(x), COS = upload(tab), SIN = upload(tab2), OUT = upload(x.length), DX = upload(x.length);
  try {
    rotaryForward(X, COS, SIN, OUT, s);
    assertClose('rotary', await download(OUT, x.length), rotaryReference(x, tab, tab2, s), { atol: 1e-6, rtol: 1e-5 });
    rotaryBackward(X, COS, SIN, DX, s);
    assertClose('rotary bwd', await download(DX, x.length), rotaryReference(x, tab, tab2, s, true), { atol: 1e-6, rtol: 1e-5 });
  } finally {
    release(X, COS, SIN, OUT, DX);
  }
}

describe('rotary kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`rotaryEmbedding fwd/bwd with [T,D] and [B,1,T,D] tables (${family})`, () => withFamily(family, async () => {
      await rotaryCase([1, 1, 1, 2], 'TD', 1);
      await rotaryCase([2, 3, 7, 16], 'TD', 2);
      await rotaryCase([2, 5, 11, 64], 'B1TD', 3);
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            a0: fc.integer({ min: 1, max: 3 }), a1: fc.integer({ min: 1, max: 4 }), a2: fc.integer({ min: 1, max: 13 }),
            half: fc.integer({ min: 1, max: 40 }), table: fc.constantFrom<'TD' | 'B1TD'>('TD', 'B1TD'), seed: fc.integer({ min: 1, max: 1 << 30 }),
          }),
          (r) => rotaryCase([r.a0, r.a1, r.a2, 2 * r.half], r.table, r.seed),
        ),
        { numRuns: 12 },
      );
    }));
  }
});
