/**
 * kernels/kl.wgsl (KL(softmax p ‖ softmax q) per row over the vocabulary, forward and backward
 * wrt p, q or both) against the float64 CPU references in packages/webgpu/src/kernels/kl.ts, at
 * the GPUBuffer level, on both kernel families.
 *
 * Logits random in ±[0.5, 3), outputs NaN-poisoned; shapes as softmax.test.ts. Tolerances: KL
 * 2e-5 + 1e-4·|ref| (one-pass formula A/Sp − lse_p + lse_q); dp, dq 1e-6 + 1e-4·max|ref| + 1e-4·|ref|.
 */
import { after, before, describe, it } from 'node:test';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import * as kernels from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, maxAbs, release, Rng, rowProperty, upload, withFamily, type RowShape } from './helpers.ts';

async function klCase(s: RowShape, pl: RowPlan, which: 'p' | 'q' | 'both'): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const p = rng.array(rows * N, 0.5, 3), q = rng.array(rows * N, 0.5, 3), g = rng.array(rows);
  const P = upload(p), Q = upload(q), K = upload(rows), S = upload(rows * 2), Gb = upload(g);
  const dP = which !== 'q' ? upload(rows * N) : null;
  const dQ = which !== 'p' ? upload(rows * N) : null;
  try {
    kernels.klForward(P, Q, K, S, rows, N, undefined, pl);
    const kref = kernels.klReference(p, q, rows, N);
    assertClose('kl', await download(K, rows), kref, { atol: 2e-5, rtol: 1e-4 });
    kernels.klBackward(P, Q, S, K, Gb, dP, dQ, rows, N, undefined, pl);
    const b = kernels.klBackwardReference(p, q, g, rows, N);
    if (dP) assertClose('dp', await download(dP, rows * N), b.dp, { atol: 1e-6 + 1e-4 * maxAbs(b.dp), rtol: 1e-4 });
    if (dQ) assertClose('dq', await download(dQ, rows * N), b.dq, { atol: 1e-6 + 1e-4 * maxAbs(b.dq), rtol: 1e-4 });
  } finally {
    release(P, Q, K, S, Gb, ...(dP ? [dP] : []), ...(dQ ? [dQ] : []));
  }
}

describe('KL kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`klDivLogits fwd/bwd (dp, dq, both) (${family})`, rowProperty(family, (s, pl) => klCase(s, pl, (['p', 'q', 'both'] as const)[s.seed % 3]!)));
    it(`vocab 32000, 2 rows (${family})`, () => withFamily(family, async () => {
      const s = { rows: 2, N: 32000, g: 0, seed: 5 };
      await klCase(s, planRows(s.rows, s.N), 'both');
    }));
  }
});
