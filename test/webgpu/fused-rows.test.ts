/**
 * Row kernels (fused-softmax, fused-rmsnorm, fused-kl, fused-cross-entropy) against their
 * float64 CPU references, at the GPUBuffer level, forward and backward.
 *
 * Inputs are random in ±[0.5, 1.5) (logits scaled ×3, never zero); output buffers are poisoned
 * with NaN. Shapes: rows 1…40, N ∈ {1, 2, 3, 7, 8, 13, 64, 100, 257, 1000} (vec4 and scalar
 * paths, primes, non-multiples of the lane count), lanes per row G ∈ {1, 2, 4, 16} (auto or
 * forced). Tolerances (|gpu − ref| ≤ atol + rtol·|ref|):
 *   softmax 1e-6 + 1e-5; logSoftmax 1e-5 + 1e-5; their backward 1e-5·max|ref| + 1e-4
 *   rmsNorm y 1e-6 + 1e-5; dx 1e-6 + 1e-4·(|r·g·w| + |x·r³·c/N|) (the two terms cancel for
 *   small N); dw (sum over rows) 1e-5·max|ref| + 1e-4
 *   KL 2e-5 + 1e-4 (one-pass formula A/Sp − lse_p + lse_q); dp, dq 1e-6 + 1e-4·max|ref|
 *   cross-entropy loss 1e-5 + 1e-5; dlogits 1e-6 + 1e-4
 * Special rows: all −∞ (softmax → zeros, logSoftmax → NaN like the composite), ignored and
 * out-of-range targets (loss 0 / NaN).
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { planRows, type RowPlan } from '@kts/webgpu/kernels';
import * as kernels from '@kts/webgpu/kernels';
import { assertClose, download, maxAbs, release, Rng, upload } from './fused-helpers.ts';

const Ns = [1, 2, 3, 7, 8, 13, 64, 100, 257, 1000];
const shapeArb = fc.record({
  rows: fc.integer({ min: 1, max: 40 }),
  N: fc.constantFrom(...Ns),
  g: fc.constantFrom(0, 1, 2, 4, 16),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});
type Shape = { rows: number; N: number; g: number; seed: number };

let planOverride: ((s: Shape) => RowPlan) | null = null;
function plan(s: Shape): RowPlan {
  if (planOverride) return planOverride(s);
  return planRows(s.rows, s.N, s.g ? { g: Math.min(s.g, 16) } : {});
}

async function softmaxCase(s: Shape, log: boolean): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const x = rng.array(rows * N, 0.5, 3);
  if (rows > 2) x.fill(-Infinity, N, 2 * N); // an all −∞ row
  const g = rng.array(rows * N);
  const ref = kernels.softmaxReference(x, rows, N, log);
  const yFinite = Float32Array.from(ref, (v) => (Number.isNaN(v) ? 0 : v));
  const X = upload(x), Y = upload(rows * N), Yr = upload(yFinite), Gb = upload(g), DX = upload(rows * N);
  try {
    const pl = plan(s);
    (log ? kernels.logSoftmaxForward : kernels.softmaxForward)(X, Y, rows, N, undefined, pl);
    assertClose(log ? 'logSoftmax' : 'softmax', await download(Y, rows * N), ref, log ? { atol: 1e-5, rtol: 1e-5 } : { atol: 1e-6, rtol: 1e-5 });
    (log ? kernels.logSoftmaxBackward : kernels.softmaxBackward)(Yr, Gb, DX, rows, N, undefined, pl);
    const dref = kernels.softmaxBackwardReference(yFinite, g, rows, N, log);
    assertClose('dx', await download(DX, rows * N), dref, { atol: 1e-5 * maxAbs(dref), rtol: 1e-4 });
  } finally {
    release(X, Y, Yr, Gb, DX);
  }
}

async function rmsCase(s: Shape): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const x = rng.array(rows * N), w = rng.array(N), g = rng.array(rows * N);
  const eps = 1e-5;
  const X = upload(x), W = upload(w), Y = upload(rows * N), R = upload(rows), Gb = upload(g), DX = upload(rows * N), DW = upload(N);
  try {
    const pl = plan(s);
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

async function klCase(s: Shape, which: 'p' | 'q' | 'both'): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const p = rng.array(rows * N, 0.5, 3), q = rng.array(rows * N, 0.5, 3), g = rng.array(rows);
  const P = upload(p), Q = upload(q), K = upload(rows), S = upload(rows * 2), Gb = upload(g);
  const dP = which !== 'q' ? upload(rows * N) : null;
  const dQ = which !== 'p' ? upload(rows * N) : null;
  try {
    const pl = plan(s);
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

async function ceCase(s: Shape): Promise<void> {
  const { rows, N } = s;
  const rng = new Rng(s.seed);
  const ignore = -100;
  const x = rng.array(rows * N, 0.5, 3), g = rng.array(rows);
  const t = new Int32Array(rows);
  for (let r = 0; r < rows; r++) t[r] = r % 5 === 1 ? ignore : r % 11 === 7 ? N : rng.int(N); // ignored, out of range, valid
  const X = upload(x), T = upload(t), L = upload(rows), LS = upload(rows), Gb = upload(g), DX = upload(rows * N);
  try {
    const pl = plan(s);
    kernels.crossEntropyForward(X, T, L, LS, rows, N, ignore, undefined, pl);
    assertClose('loss', await download(L, rows), kernels.crossEntropyReference(x, t, rows, N, ignore), { atol: 1e-5, rtol: 1e-5 });
    kernels.crossEntropyBackward(X, T, LS, Gb, DX, rows, N, ignore, undefined, pl);
    const dref = kernels.crossEntropyBackwardReference(x, t, g, rows, N, ignore);
    assertClose('dlogits', await download(DX, rows * N), dref, { atol: 1e-6, rtol: 1e-4 });
  } finally {
    release(X, T, L, LS, Gb, DX);
  }
}

describe('fused row kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  const prop = (run: (s: Shape) => Promise<void>, numRuns = 12) => () =>
    fc.assert(fc.asyncProperty(shapeArb, run), { numRuns });

  it('softmax fwd/bwd', prop((s) => softmaxCase(s, false)));
  it('logSoftmax fwd/bwd', prop((s) => softmaxCase(s, true)));
  it('rmsNorm fwd/bwd (dx, dw)', prop(rmsCase));
  it('klDivLogits fwd/bwd (dp, dq, both)', prop((s) => klCase(s, (['p', 'q', 'both'] as const)[s.seed % 3]!)));
  it('crossEntropyLogits fwd/bwd with ignore index', prop(ceCase));
  it('64-wide workgroups (the GPU configuration) on this device', async () => {
    for (const s of [{ rows: 3, N: 1000, g: 64, seed: 21 }, { rows: 70, N: 13, g: 0, seed: 22 }, { rows: 5, N: 4096, g: 32, seed: 23 }]) {
      const wide = (sh: Shape): RowPlan => planRows(sh.rows, sh.N, { wg: 64, ...(sh.g ? { g: sh.g } : {}) });
      planOverride = wide;
      try {
        await softmaxCase(s, false);
        await rmsCase(s);
        await klCase(s, 'both');
        await ceCase(s);
      } finally {
        planOverride = null;
      }
    }
  });
  it('long rows: vocab 32003 (scalar), 32000 (vec4), few rows', async () => {
    await softmaxCase({ rows: 3, N: 32003, g: 0, seed: 3 }, false);
    await klCase({ rows: 2, N: 32000, g: 0, seed: 5 }, 'both');
    await ceCase({ rows: 3, N: 32000, g: 0, seed: 9 });
    await rmsCase({ rows: 130, N: 4096, g: 0, seed: 11 });
  });
});
