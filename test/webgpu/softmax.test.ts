/**
 * kernels/softmax.wgsl (softmax and logSoftmax over the last axis, forward and backward) against
 * the float64 CPU references in packages/webgpu/src/kernels/softmax.ts, at the GPUBuffer level,
 * on both kernel families (the 'gpu' plans forced here too: 256-wide workgroups, subgroup
 * reductions where the device has them).
 *
 * Inputs are random in ±[0.5, 3) (never zero); output buffers are poisoned with NaN. Shapes: rows
 * 1…40, N ∈ {1, 2, 3, 7, 8, 13, 64, 100, 257, 1000} (vec4 and scalar paths, primes,
 * non-multiples of the lane counts), lanes per row auto or forced. An all −∞ row: softmax →
 * zeros, logSoftmax → NaN (as the composite). Tolerances (|gpu − ref| ≤ atol + rtol·|ref|):
 * softmax 1e-6 + 1e-5; logSoftmax 1e-5 + 1e-5; their backward 1e-5·max|ref| + 1e-4.
 */
import { after, before, describe, it } from 'node:test';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import * as kernels from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, maxAbs, release, Rng, rowProperty, upload, withFamily, type RowShape } from './helpers.ts';

async function softmaxCase(s: RowShape, pl: RowPlan, log: boolean): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const x = rng.array(rows * N, 0.5, 3);
  if (rows > 2) x.fill(-Infinity, N, 2 * N); // an all −∞ row
  const g = rng.array(rows * N);
  const ref = kernels.softmaxReference(x, rows, N, log);
  const yFinite = Float32Array.from(ref, (v) => (Number.isNaN(v) ? 0 : v));
  const X = upload(x), Y = upload(rows * N), Yr = upload(yFinite), Gb = upload(g), DX = upload(rows * N);
  try {
    (log ? kernels.logSoftmaxForward : kernels.softmaxForward)(X, Y, rows, N, undefined, pl);
    assertClose(log ? 'logSoftmax' : 'softmax', await download(Y, rows * N), ref, log ? { atol: 1e-5, rtol: 1e-5 } : { atol: 1e-6, rtol: 1e-5 });
    (log ? kernels.logSoftmaxBackward : kernels.softmaxBackward)(Yr, Gb, DX, rows, N, undefined, pl);
    const dref = kernels.softmaxBackwardReference(yFinite, g, rows, N, log);
    assertClose('dx', await download(DX, rows * N), dref, { atol: 1e-5 * maxAbs(dref), rtol: 1e-4 });
  } finally {
    release(X, Y, Yr, Gb, DX);
  }
}

describe('softmax kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`softmax fwd/bwd (${family})`, rowProperty(family, (s, pl) => softmaxCase(s, pl, false)));
    it(`logSoftmax fwd/bwd (${family})`, rowProperty(family, (s, pl) => softmaxCase(s, pl, true)));
    it(`long rows: vocab 32003 (scalar) and 32000 (vec4), few rows (${family})`, () => withFamily(family, async () => {
      for (const s of [{ rows: 3, N: 32003, g: 0, seed: 3 }, { rows: 2, N: 32000, g: 0, seed: 4 }]) await softmaxCase(s, planRows(s.rows, s.N), false);
    }));
  }
});
