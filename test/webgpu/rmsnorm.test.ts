/**
 * kernels/rmsnorm.wgsl (HF RMSNorm forward, backward dx and dw) against the float64 CPU references
 * in packages/webgpu/src/kernels/rmsnorm.ts, at the GPUBuffer level, on both kernel families.
 *
 * Inputs random in ±[0.5, 1.5) (never zero), outputs NaN-poisoned; shapes as softmax.test.ts.
 * Tolerances: y 1e-6 + 1e-5·|ref|; dx 1e-6 + 1e-4·(|r·g·w| + |x·r³·c/N|) (the two terms cancel for
 * small N); dw (a sum over rows) 1e-5·max|ref| + 1e-4·|ref|.
 */
import { after, before, describe, it } from 'node:test';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import * as kernels from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, maxAbs, release, Rng, rowProperty, upload, withFamily, type RowShape } from './helpers.ts';

async function rmsCase(s: RowShape, pl: RowPlan): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const x = rng.array(rows * N), w = rng.array(N), g = rng.array(rows * N);
  const eps = 1e-5;
  const X = upload(x), W = upload(w), Y = upload(rows * N), R = upload(rows), Gb = upload(g), DX = upload(rows * N), DW = upload(N);
  try {
    kernels.rmsNormForward(X, W, Y, R, rows, N, eps, undefined, pl);
    const ref = kernels.rmsNormReference(x, w, rows, N, eps);
    assertClose('y', await download(Y, rows * N), ref.y, { atol: 1e-6, rtol: 1e-5 });
    assertClose('rinv', await download(R, rows), ref.rinv, { atol: 1e-6, rtol: 1e-5 });
    kernels.rmsNormBackward(X, W, Gb, R, DX, DW, rows, N, undefined, pl);
    const b = kernels.rmsNormBackwardReference(x, w, g, rows, N, eps);
    assertClose('dx', await download(DX, rows * N), b.dx, { atol: 1e-6, rtol: 1e-4, scales: b.dxScale });
    assertClose('dw', await download(DW, N), b.dw, { atol: 1e-5 * maxAbs(b.dw), rtol: 1e-4 });
  } finally {
    release(X, W, Y, R, Gb, DX, DW);
  }
}

describe('rmsNorm kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`rmsNorm fwd/bwd (dx, dw) (${family})`, rowProperty(family, rmsCase));
    it(`a 7B hidden size: 130 rows of 4096 (${family})`, () => withFamily(family, async () => {
      const s = { rows: 130, N: 4096, g: 0, seed: 11 };
      await rmsCase(s, planRows(s.rows, s.N));
    }));
  }
});
