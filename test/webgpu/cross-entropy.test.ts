/**
 * kernels/cross-entropy.wgsl (per-row cross-entropy of logits against int32 targets with an ignore
 * index, forward and backward) against the float64 CPU references in
 * packages/webgpu/src/kernels/cross-entropy.ts, at the GPUBuffer level, on both kernel families.
 *
 * Logits random in ±[0.5, 3), outputs NaN-poisoned; shapes as softmax.test.ts; targets mix
 * ignored (loss 0), out-of-range (loss NaN) and valid classes. Tolerances: loss 1e-5 + 1e-5·|ref|;
 * dlogits 1e-6 + 1e-4·|ref|.
 */
import { after, before, describe, it } from 'node:test';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import * as kernels from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, maxAbs, release, Rng, rowProperty, upload, withFamily, type RowShape } from './helpers.ts';

async function ceCase(s: RowShape, pl: RowPlan): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const ignore = -100;
  const x = rng.array(rows * N, 0.5, 3), g = rng.array(rows);
  const t = new Int32Array(rows);
  for (let r = 0; r < rows; r++) t[r] = r % 5 === 1 ? ignore : r % 11 === 7 ? N : rng.int(N); // ignored, out of range, valid
  const X = upload(x), T = upload(t), L = upload(rows), LS = upload(rows), Gb = upload(g), DX = upload(rows * N);
  try {
    kernels.crossEntropyForward(X, T, L, LS, rows, N, ignore, undefined, pl);
    assertClose('loss', await download(L, rows), kernels.crossEntropyReference(x, t, rows, N, ignore), { atol: 1e-5, rtol: 1e-5 });
    kernels.crossEntropyBackward(X, T, LS, Gb, DX, rows, N, ignore, undefined, pl);
    const dref = kernels.crossEntropyBackwardReference(x, t, g, rows, N, ignore);
    assertClose('dlogits', await download(DX, rows * N), dref, { atol: 1e-6, rtol: 1e-4 });
  } finally {
    release(X, T, L, LS, Gb, DX);
  }
}

describe('cross-entropy kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`crossEntropyLogits fwd/bwd with ignore index (${family})`, rowProperty(family, ceCase));
    it(`vocab 32000, 3 rows (${family})`, () => withFamily(family, async () => {
      const s = { rows: 3, N: 32000, g: 0, seed: 9 };
      await ceCase(s, planRows(s.rows, s.N));
    }));
  }
});
