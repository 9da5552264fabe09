/**
 * kernels/fused-steering.wgsl (forward, dvectors, dcoeffs), kernels/fused-rotary.wgsl (forward,
 * backward) and kernels/fused-adamw.wgsl against float64 CPU references, at the GPUBuffer level.
 *
 * Inputs are random in ±[0.5, 1.5) (never zero); steering masks mix 0/1; output buffers are
 * poisoned with NaN. Tolerances (|gpu − ref| ≤ atol + rtol·|ref|):
 *   steering out 1e-5 + 1e-5; dvectors, dcoeffs (sums over B·T) 1e-5·max|ref| + 1e-4
 *   rotary fwd/bwd 1e-6 + 1e-5;   AdamW param/m/v 1e-6 + 1e-5
 * Shapes: B, T, D, K including 1, primes, D not a multiple of 4 (scalar path), shared [K,D] and
 * per-sequence [B,K,D] vectors; rotary with [T,D] and [B,1,T,D] tables (broadcast strides).
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { steeringBackward, steeringBackwardReference, steeringForward, steeringReference, type SteeringShape, rotaryBackward, rotaryForward, rotaryReference, type RotaryShape, adamwReference, adamwUpdate } from '@kts/webgpu/kernels';
import { assertClose, download, maxAbs, release, Rng, upload } from './fused-helpers.ts';

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

describe('fused steering / rotary / AdamW kernels vs float64 CPU references', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  it('addSteering fwd/bwd: fixed shapes', async () => {
    await steeringCase({ B: 1, T: 1, D: 1, K: 1, perSequence: false }, 1);
    await steeringCase({ B: 2, T: 70, D: 64, K: 3, perSequence: false }, 2);
    await steeringCase({ B: 3, T: 33, D: 13, K: 2, perSequence: true }, 3);
    await steeringCase({ B: 2, T: 5, D: 4096, K: 1, perSequence: true }, 4);
  });

  it('addSteering property: random B, T, D, K, shared or per-sequence vectors', async () => {
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
  });

  it('rotaryEmbedding fwd/bwd with [T,D] and [B,1,T,D] tables', async () => {
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
  });

  it('AdamW update: several steps, vec4 and scalar lengths', async () => {
    for (const n of [1, 7, 64, 1001, 4096]) {
      const rng = new Rng(n);
      let p = rng.array(n), m: ArrayLike<number> = new Float32Array(n), v: ArrayLike<number> = new Float32Array(n);
      const P = upload(p), M = upload(new Float32Array(n)), V = upload(new Float32Array(n));
      try {
        for (let step = 1; step <= 3; step++) {
          const g = rng.array(n);
          const G = upload(g);
          const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step };
          adamwUpdate(P, G, M, V, n, hp);
          const r = adamwReference(p, g, m, v, hp);
          const [gp, gm, gv] = [await download(P, n), await download(M, n), await download(V, n)];
          assertClose('param', gp, r.param, { atol: 1e-6, rtol: 1e-5 });
          assertClose('m', gm, r.m, { atol: 1e-6, rtol: 1e-5 });
          assertClose('v', gv, r.v, { atol: 1e-6, rtol: 1e-5 });
          p = gp; m = gm; v = gv; // continue from the GPU state (f32)
          release(G);
        }
      } finally {
        release(P, M, V);
      }
    }
  });
});
